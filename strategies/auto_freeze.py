"""AutoFreeze (Liu et al. 2021): freeze the bottom layers whose gradients have stopped changing."""

from dataclasses import dataclass

from bench.errors import BenchError
from bench.registry import StepContext, Strategy, register


@register("auto-freeze")
@dataclass(frozen=True)
class AutoFreeze(Strategy):
    """Every `interval` steps, freeze the bottom layers whose gradient norm changed by under `threshold`.

    The norm is each layer's mean over the interval, compared with the previous interval's (AutoFreeze)."""

    interval: int = 10
    threshold: float = 0.1
    max_frozen: int = 0
    """The most layers frozen; 0: every layer but the top one."""

    def __post_init__(self) -> None:
        if self.interval < 1:
            raise ValueError(f"interval must be >= 1, got {self.interval}")
        if not self.threshold > 0:
            raise ValueError(f"threshold must be > 0, got {self.threshold}")
        if self.max_frozen < 0:
            raise ValueError(f"max_frozen must be >= 0, got {self.max_frozen}")

    def begin(self, ctx: StepContext) -> None:
        if self.max_frozen >= ctx.model.num_layers:
            raise BenchError(f"auto-freeze: max_frozen {self.max_frozen} would freeze every layer of a "
                             f"{ctx.model.num_layers}-layer model; use max_frozen <= {ctx.model.num_layers - 1}")

    def after_backward(self, ctx: StepContext) -> None:
        """Add this step's per-layer gradient norms; at the end of an interval decide how many layers freeze."""
        memory = ctx.memory_of(self)
        norms = ctx.layer_grad_norms()
        sums = memory.setdefault("sums", [0.0] * len(norms))
        for i, norm in enumerate(norms):
            sums[i] = None if norm is None or sums[i] is None else sums[i] + norm
        if (ctx.step + 1) % self.interval:
            return
        means = [None if s is None else s / self.interval for s in sums]
        previous, memory["previous"] = memory.get("previous"), means
        del memory["sums"]
        if previous is None:
            return
        limit = self.max_frozen or ctx.model.num_layers - 1
        count = ctx.model.frozen_prefix
        while count < limit and self.converged(previous[count], means[count]):
            count += 1
        memory["freeze"] = count

    @staticmethod
    def change(before: float | None, now: float | None) -> float | None:
        if before is None or now is None or before == 0:
            return None
        return abs(now - before) / before

    def converged(self, before: float | None, now: float | None) -> bool:
        change = self.change(before, now)
        return change is not None and change < self.threshold

    def after_step(self, ctx: StepContext) -> None:
        """Freeze after the optimizer step, so the deciding step still updates every layer."""
        count = ctx.memory_of(self).pop("freeze", 0)
        if count > ctx.model.frozen_prefix:
            ctx.freeze_prefix(count)
