"""The equal-time control: the baseline trained for fewer steps, so a strategy is judged against simply training
less (docs/methodology.md, "The equal-time control")."""

import dataclasses
import math
from dataclasses import dataclass

from bench.config import TrainConfig
from bench.errors import BenchError
from bench.registry import Strategy, register


@register("equal-time")
@dataclass(frozen=True)
class EqualTime(Strategy):
    """Full fine-tuning (no model change) cut to `steps` steps, warm-up and decay fitted to them: the time
    `matches` took (a suite strategy's label) or a `fraction` of the baseline's steps. The suite resolves `steps`
    before the run; it is not a parameter of the stored run."""

    matches: str = ""
    """The label of the strategy whose measured training time this run matches, e.g. `layer-drop(count=3)`."""
    fraction: float = 0.0
    """A rung of the ladder: this share of the baseline's steps, in (0, 1]."""
    steps: int = 0
    """The step count; 0 until the suite resolves it, just before the run."""

    def __post_init__(self) -> None:
        if bool(self.matches.strip()) == bool(self.fraction):
            raise ValueError("give exactly one of matches (a strategy's label) or fraction (a share of the "
                             "baseline's steps)")
        if self.fraction and not (math.isfinite(self.fraction) and 0 < self.fraction <= 1):
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")

    def configure(self, cfg: TrainConfig) -> TrainConfig:
        if self.steps < 1:  # an unresolved control would silently train the full schedule
            raise BenchError("equal-time runs only once the suite has resolved its step count")
        return dataclasses.replace(cfg, max_steps=self.steps)
