"""The equal-time control: the baseline trained for less time, so a strategy is judged against simply training
less (docs/methodology.md, "The equal-time control")."""

import dataclasses
import math
from dataclasses import dataclass

from bench.config import TrainConfig
from bench.errors import BenchError
from bench.registry import StepContext, Strategy, register
from bench.training.budget import TimeBudget, rate_multiplier, warmup_steps


@register("equal-time")
@dataclass(frozen=True)
class EqualTime(Strategy):
    """Full fine-tuning (no model change) on the baseline's batches, cut short: to the time `matches` took (a
    suite strategy's label), planned on the clock before each step with the warm-up and decay fitted to the steps
    planned (bench/training/budget.py), or to a `fraction` of the baseline's steps. The suite resolves `budget`
    or `steps` just before the run; neither is a parameter of the stored run."""

    matches: str = ""
    """The label of the strategy whose measured training time this run matches, e.g. `layer-drop(count=3)`."""
    fraction: float = 0.0
    """A rung of the ladder: this share of the baseline's steps, in (0, 1]."""
    steps: int = 0
    """A rung's step count, or a matching control's count planned before its run; 0 until the suite resolves it."""
    budget: TimeBudget | None = None
    """A matching control's time budget; None until the suite resolves it."""

    def __post_init__(self) -> None:
        if bool(self.matches.strip()) == bool(self.fraction):
            raise ValueError("give exactly one of matches (a strategy's label) or fraction (a share of the "
                             "baseline's steps)")
        if self.fraction and not (math.isfinite(self.fraction) and 0 < self.fraction <= 1):
            raise ValueError(f"fraction must be in (0, 1], got {self.fraction}")
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")

    def configure(self, cfg: TrainConfig) -> TrainConfig:
        if self.budget is not None:  # the whole schedule at most: the budget ends it
            return cfg
        if self.steps < 1:  # an unresolved control would silently train the full schedule
            raise BenchError("equal-time runs only once the suite has resolved its step count")
        return dataclasses.replace(cfg, max_steps=self.steps)

    def pairs(self, ctx: StepContext, batch_size: int) -> int:
        """Plan the rest on the clock: this step's pairs (0 once the time is spent or the planned last step ran),
        the planned total into `ctx.total_steps`, this step's rate into the run's memory."""
        if self.budget is None:
            return batch_size
        memory = ctx.memory_of(self)
        if memory.get("last"):
            return 0
        plan = self.budget.plan(ctx.clock.step_seconds() if ctx.step else [], batch_size)
        warmup = memory.setdefault("warmup", warmup_steps(self.budget.warmup_ratio, plan.total))
        ctx.total_steps = max(plan.total, ctx.step)
        memory.setdefault("plans", []).append([plan.total, plan.pairs])
        memory["last"] = plan.total == ctx.step + 1
        memory["rate"] = rate_multiplier(ctx.step, plan.total, warmup)
        return plan.pairs

    def before_step(self, ctx: StepContext) -> None:
        if self.budget is not None:
            self._set_rate(ctx, ctx.memory_of(self)["rate"])

    def after_step(self, ctx: StepContext) -> None:
        if self.budget is not None and ctx.memory_of(self)["last"]:
            self._set_rate(ctx, 0.0)  # the schedule's end value, after its last step

    def end(self, ctx: StepContext) -> None:
        """Store the budget and every plan made beside the run's work counts (`work["time_budget"]`), so that
        `TimeBudget.replay` on the run's stored step times can check them."""
        if self.budget is not None and ctx.ledger is not None:
            ctx.ledger.note(time_budget={**dataclasses.asdict(self.budget), "plans": ctx.memory_of(self)["plans"]})

    @staticmethod
    def _set_rate(ctx: StepContext, multiplier: float) -> None:
        for group in ctx.optimizer.param_groups:
            group["lr"] = group["initial_lr"] * multiplier
