"""Stochastic depth: skip whole layers at random in each training step (LayerDrop, Fan et al. 2019), with a
constant rate or on the Progressive Layer Dropping schedule (PLD, Zhang & He 2020). Every layer runs at
evaluation."""

import math
from dataclasses import dataclass
from typing import Literal

import torch

from bench.registry import StepContext, Strategy, register


@register("stochastic-depth")
@dataclass(frozen=True)
class StochasticDepth(Strategy):
    """Skip each layer with probability `p` per step (LayerDrop), or on PLD's schedule (`schedule = pld`).

    A generator seeded by the run's seed makes the choices; both towers skip the same layers."""

    p: float = 0.1
    """constant: every layer's skip probability; pld: the top layer's skip probability once theta(t) has settled
    (theta_bar = 1 - p)."""
    schedule: Literal["constant", "pld"] = "constant"
    gamma: float = 10.0
    """pld: how fast theta(t) falls from 1 to theta_bar, per unit of training fraction."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.p < 1.0:
            raise ValueError(f"p must lie in [0, 1), got {self.p}")
        if not self.gamma > 0:
            raise ValueError(f"gamma must be > 0, got {self.gamma}")

    def keep_probabilities(self, layers: int, fraction: float) -> list[float]:
        """Each layer's chance to run (bottom first) at `fraction` of training."""
        if self.schedule == "constant":
            return [1.0 - self.p] * layers
        theta_bar = 1.0 - self.p
        theta = (1.0 - theta_bar) * math.exp(-self.gamma * fraction) + theta_bar
        return [1.0 - (i + 1) / layers * (1.0 - theta) for i in range(layers)]

    def begin(self, ctx: StepContext) -> None:
        ctx.memory_of(self)["generator"] = torch.Generator().manual_seed(ctx.seed)

    def before_step(self, ctx: StepContext) -> None:
        keep = torch.tensor(self.keep_probabilities(ctx.model.num_layers, ctx.fraction))
        draws = torch.rand(len(keep), generator=ctx.memory_of(self)["generator"])
        skipped = set(torch.nonzero(draws >= keep).flatten().tolist())
        trainable = ctx.model.trainable_layers()
        if ctx.model.embeddings_frozen and trainable and set(trainable) <= skipped:
            skipped.discard(max(trainable))  # a step that trains nothing has no backward to run
        ctx.skip(sorted(skipped))
