"""FreezeOut (Brock et al. 2017): freeze layers bottom-up on a schedule, so the later steps skip their backward."""

from dataclasses import dataclass

from bench.errors import BenchError
from bench.registry import StepContext, Strategy, register


@register("progressive-freeze")
@dataclass(frozen=True)
class ProgressiveFreeze(Strategy):
    """Freeze the bottom `count` layers one by one from fraction `t0` of training on (FreezeOut).

    Frozen layers leave the optimizer, go to eval mode and run under no_grad."""

    count: int = 4
    t0: float = 0.5

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"count must be >= 1, got {self.count}")
        if not 0.0 <= self.t0 < 1.0:
            raise ValueError(f"t0 must lie in [0, 1), got {self.t0}")

    def freeze_fraction(self, layer: int) -> float:
        """Fraction of training at which bottom layer `layer` (0-based) freezes: linear from t0, FreezeOut's
        linear schedule; the embeddings freeze with layer 0."""
        return self.t0 + (1.0 - self.t0) * layer / self.count

    def frozen_at(self, step: int, total_steps: int) -> int:
        """How many bottom layers are frozen at the start of `step`."""
        return sum(step >= round(self.freeze_fraction(i) * total_steps) for i in range(self.count))

    def begin(self, ctx: StepContext) -> None:
        if self.count >= ctx.model.num_layers:
            raise BenchError(f"progressive-freeze: count {self.count} would freeze every layer of a "
                             f"{ctx.model.num_layers}-layer model; use count <= {ctx.model.num_layers - 1}")

    def before_step(self, ctx: StepContext) -> None:
        target = self.frozen_at(ctx.step, ctx.total_steps)
        if target > ctx.model.frozen_prefix:
            ctx.freeze_prefix(target)
