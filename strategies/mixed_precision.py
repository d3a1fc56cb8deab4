"""bf16 autocast as a strategy, so it is measured against the fp32 baseline under the same settings hash."""

import dataclasses
from dataclasses import dataclass
from typing import Literal

from bench.config import TrainConfig
from bench.registry import Strategy, register


@register("mixed-precision")
@dataclass(frozen=True)
class MixedPrecision(Strategy):
    """Train under bf16 autocast (weights and optimizer stay fp32); compose it with any other strategy."""

    dtype: Literal["bf16"] = "bf16"

    def configure(self, cfg: TrainConfig) -> TrainConfig:
        return dataclasses.replace(cfg, precision=self.dtype)
