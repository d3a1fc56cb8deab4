"""Every strategy as a `transformers.TrainerCallback`, for `transformers.Trainer` and sentence-transformers'
`SentenceTransformerTrainer` alike: `Trainer(..., callbacks=[StrategyCallback("progressive-freeze:count=4")])`.

The callback drives the strategy through the same lifecycle as bench's own loop, on the trainer's model and
optimizer: `prepare` when the trainer is built (before it builds its optimizer, so dropped layers are never in
it), `begin` at the start of training, `before_step` / `after_backward` / `after_step` around each optimizer step
(`after_backward` in the trainer's `on_pre_optimizer_step`, gradients present), `end` after the last. So
`progressive-freeze` freezes at the same steps as in bench, and the parameters it freezes leave the optimizer with
their state, as `StepContext.freeze_prefix` does there; a layer skipped for a step runs again at the next."""

from __future__ import annotations

from transformers import TrainerCallback

from bench.config import StrategySpec
from bench.errors import BenchError
from bench.integrations.functional import build, check_usable, parts, prepare
from bench.integrations.target import ModelTarget, applied, find_encoders
from bench.registry import StepContext, Strategy


def changes_the_model(strategy: Strategy) -> bool:
    """Whether `prepare` does anything (drops, freezes, adds adapters): then it must run before the optimizer is
    built."""
    return any(type(part).prepare is not Strategy.prepare for part in parts(strategy))


class StrategyCallback(TrainerCallback):
    """A bench strategy (a `bench run --strategy` spec) acting in a Hugging Face or sentence-transformers trainer.

    Pass it when the trainer is built (`callbacks=[...]`): a strategy that changes the model (layer-drop, lora)
    must act before the trainer builds its optimizer. If `bench.apply(model, spec)` already changed the model, the
    callback sees it and does not change it twice."""

    def __init__(self, spec: str | StrategySpec):
        self.spec, self.strategy = build(spec)
        check_usable(self.strategy, self.spec.label)
        self.target: ModelTarget | None = None
        self.context: StepContext | None = None

    def _still_to_apply(self, encoders) -> bool:
        """Whether the strategy changes the model and `bench.apply` has not already done it."""
        return changes_the_model(self.strategy) and not all(self.spec.label in applied(e).specs for e in encoders)

    def _prepare(self, model) -> None:
        encoders = find_encoders(model)
        self.target = ModelTarget(encoders)
        if self._still_to_apply(encoders):
            prepare(encoders, self.spec, self.strategy)

    def on_init_end(self, args, state, control, model=None, optimizer=None, **kwargs):
        if model is None:
            return
        if optimizer is not None and self._still_to_apply(find_encoders(model)):
            raise BenchError(f"{self.spec.label} changes the model, but the trainer was given an optimizer built "
                             f"before it: call bench.apply(model, {self.spec.label!r}) before building the optimizer")
        self._prepare(model)

    def on_train_begin(self, args, state, control, model=None, optimizer=None, **kwargs):
        if self.target is None:  # added after the trainer was built: its optimizer already holds every parameter
            encoders = find_encoders(model)
            if self._still_to_apply(encoders):
                raise BenchError(f"{self.spec.label} changes the model before training, but the trainer was built "
                                 "without it: pass StrategyCallback in Trainer(callbacks=[...]), or call "
                                 f"bench.apply(model, {self.spec.label!r}) before building the trainer")
            self.target = ModelTarget(encoders)
        self.context = StepContext(0, max(1, state.max_steps), self.target, optimizer, args.seed)
        self.strategy.begin(self.context)

    def on_step_begin(self, args, state, control, **kwargs):
        self.context.step = state.global_step
        self.strategy.before_step(self.context)

    def on_pre_optimizer_step(self, args, state, control, **kwargs):
        self.strategy.after_backward(self.context)

    def on_step_end(self, args, state, control, **kwargs):
        self.strategy.after_step(self.context)
        if self.target.skipped_layers:  # a step's skips end with it, as in bench's loop (StepContext.at)
            self.target.skip_layers(())

    def on_train_end(self, args, state, control, **kwargs):
        self.strategy.end(self.context)
