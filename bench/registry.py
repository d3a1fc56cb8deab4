"""The strategies' typed registry (a `bench.kinds.Kind`): a decorator, duplicate names rejected, did-you-mean on
lookup, plugins from entry points; and what a strategy is: its lifecycle hooks and their context."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, get_type_hints

import torch

from bench import kinds
from bench.errors import BenchError
from bench.model.encoder import BiEncoder
from bench.validate import coerce

if TYPE_CHECKING:
    from bench.config import TrainConfig
    from bench.model.ledger import WorkLedger


class StepClock(Protocol):
    """The training region's clock as a hook sees it (bench.measure.clock.Stopwatch)."""

    def step_seconds(self) -> list[float]: ...


@dataclass
class StepContext:
    """What a lifecycle hook sees: the step (0-based) of `total_steps` (planned: a time budget plans it again
    before each step), the model, the optimizer, the run's seed, the work ledger, `memory`, a dict kept for the
    whole run (strategies are frozen and shared by runs, so their per-run state lives here: `ctx.memory_of(self)`),
    and the training region's `clock` (its `step_seconds()` so far; on CUDA reading it waits for the GPU)."""

    step: int
    total_steps: int
    model: BiEncoder
    optimizer: torch.optim.Optimizer
    seed: int = 0
    ledger: WorkLedger | None = None
    memory: dict = field(default_factory=dict)
    clock: StepClock | None = None

    @property
    def fraction(self) -> float:
        """Share of training done before this step: 0 at the first step."""
        return self.step / self.total_steps

    def memory_of(self, owner: object) -> dict:
        return self.memory.setdefault(id(owner), {})

    @contextmanager
    def at(self, step: int) -> Iterator[StepContext]:
        """Step `step`'s scope: layers skipped during it (`skip`) run again once it ends."""
        self.step = step
        try:
            yield self
        finally:
            if self.model.skipped_layers:
                self.model.skip_layers(())

    def skip(self, layers) -> None:
        """Skip these layers (kept-layer indices) in this step's forward only (`at` ends it); every layer runs at
        evaluation."""
        self.model.skip_layers(set(self.model.skipped_layers) | set(layers))

    def freeze_prefix(self, count: int) -> None:
        """Freeze the embeddings and the bottom `count` layers from now on (never fewer than already frozen): they
        go to eval mode, run under no_grad, and leave the optimizer with their state and gradients."""
        count = max(count, self.model.frozen_prefix)
        self.model.freeze_prefix(count, embeddings=True)
        for group in self.optimizer.param_groups:
            kept = [p for p in group["params"] if p.requires_grad]
            for param in group["params"]:
                if not param.requires_grad:
                    self.optimizer.state.pop(param, None)
                    param.grad = None
            group["params"] = kept

    def layer_grad_norms(self) -> list[float | None]:
        """Each layer's gradient L2 norm after backward (None for a layer with no gradient this step)."""
        norms: list[float | None] = []
        for layer in self.model.layers:
            grads = [p.grad for p in layer.parameters() if p.grad is not None]
            norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))) if grads else None)
        return norms


class Strategy:
    """A training-time reduction strategy: a frozen dataclass of parameters that changes the model before
    fine-tuning (`prepare`) and may act during it through the lifecycle hooks the training loop calls, in order:
    `configure` (the run's own settings), `begin`, then per step `pairs` (how much of the batch trains),
    `before_step`, `after_backward` (gradients present, optimizer not yet stepped) and `after_step`, and `end`.
    Every hook does nothing by default. Subclasses set `trains = False` to evaluate without training."""

    trains: ClassVar[bool] = True
    claims: ClassVar[str | None] = None
    """A part of the model this strategy takes for itself (e.g. "prefix cache"): a composition holds one claim each."""

    def prepare(self, model: BiEncoder) -> None:
        """Change the model in place before fine-tuning (drop layers, freeze modules, ...)."""

    def configure(self, cfg: TrainConfig) -> TrainConfig:
        """This run's training settings (e.g. bf16); the suite's settings, and so their hash, stay as they are."""
        return cfg

    def begin(self, ctx: StepContext) -> None:
        """Before the first step (outside the timed region)."""

    def pairs(self, ctx: StepContext, batch_size: int) -> int:
        """How many of step `ctx.step`'s pairs train, the batch's first (inside the timed region): all of them,
        fewer to cut a time budget's last step, 0 to end training before this step."""
        return batch_size

    def before_step(self, ctx: StepContext) -> None:
        """Before step `ctx.step`'s forward: freeze, or skip layers for this step."""

    def after_backward(self, ctx: StepContext) -> None:
        """After backward, before the optimizer step: read gradients (`ctx.layer_grad_norms()`)."""

    def after_step(self, ctx: StepContext) -> None:
        """After the optimizer step."""

    def end(self, ctx: StepContext) -> None:
        """After the last step (outside the timed region): note totals in `ctx.ledger`."""


@dataclass(frozen=True)
class Composed(Strategy):
    """Several strategies applied in order (`a+b`): each hook runs each part's hook in turn."""

    parts: tuple[Strategy, ...]

    def __post_init__(self) -> None:
        if len(self.parts) < 2:
            raise ValueError("a composition needs at least two strategies")
        if not all(part.trains for part in self.parts):
            raise ValueError("a strategy that does not train (zero-shot) cannot be composed")
        claims = [part.claims for part in self.parts if part.claims is not None]
        for claim in sorted({c for c in claims if claims.count(c) > 1}):
            raise ValueError(f"only one composed strategy may take the {claim}")

    def prepare(self, model: BiEncoder) -> None:
        for part in self.parts:
            part.prepare(model)

    def configure(self, cfg: TrainConfig) -> TrainConfig:
        for part in self.parts:
            cfg = part.configure(cfg)
        return cfg

    def begin(self, ctx: StepContext) -> None:
        for part in self.parts:
            part.begin(ctx)

    def pairs(self, ctx: StepContext, batch_size: int) -> int:
        return min(part.pairs(ctx, batch_size) for part in self.parts)

    def before_step(self, ctx: StepContext) -> None:
        for part in self.parts:
            part.before_step(ctx)

    def after_backward(self, ctx: StepContext) -> None:
        for part in self.parts:
            part.after_backward(ctx)

    def after_step(self, ctx: StepContext) -> None:
        for part in self.parts:
            part.after_step(ctx)

    def end(self, ctx: StepContext) -> None:
        for part in self.parts:
            part.end(ctx)


PLUGIN_GROUP = "bench.strategies"
"""Entry-point group of packages that register strategies; the built-in `strategies` package is one of them."""

COMPOSE = "+"
"""Joins strategies: `layer-drop:count=2+mixed-precision`; a composed spec's name is its parts' labels joined."""


S = TypeVar("S", bound=Strategy)


@dataclass(frozen=True)
class Entry(kinds.Entry[type[S]]):
    """A registered strategy: its class and its parameters' defaults."""

    @property
    def cls(self) -> type[S]:
        return self.obj

    def parameters(self) -> dict[str, Any]:
        return {f.name: f.default for f in dataclasses.fields(self.cls)}


class Registry(kinds.Kind[type[Strategy]]):
    """Name -> strategy class: a `bench.kinds.Kind` whose entries are frozen Strategy dataclasses, built with
    type-checked parameters. Built-in strategies register exactly like a user's would."""

    def __init__(self) -> None:
        super().__init__("strategy", PLUGIN_GROUP, reserved=COMPOSE + ":(",
                         fix="`python -m bench list` shows the strategies")

    def check(self, name: str, obj: type[Strategy]) -> None:
        if not (isinstance(obj, type) and issubclass(obj, Strategy) and dataclasses.is_dataclass(obj)):
            raise TypeError(f"strategy {name!r} must be a dataclass subclassing bench.registry.Strategy")

    def entry(self, name: str, obj: type[Strategy], description: str) -> Entry:
        return Entry(name, obj, description)

    def build(self, name: str, params: dict[str, Any] | tuple = ()) -> Strategy:
        """Instantiate with type-checked parameters; unknown parameters are errors. A name joining several specs
        with `+` (as bench.config.parse_strategy writes it) builds their composition."""
        if COMPOSE in name:
            return self._compose(name, params)
        entry = self.get(name)
        hints = get_type_hints(entry.cls)
        allowed = [f.name for f in dataclasses.fields(entry.cls)]
        values = {}
        for key, value in dict(params).items():
            if key not in allowed:
                raise BenchError(f"strategy {name!r} has no parameter {key!r}; its parameters: "
                                 f"{', '.join(allowed) or 'none'}")
            values[key] = coerce(value, hints[key], f"{name}.{key}")
        try:
            return entry.cls(**values)
        except ValueError as exc:
            raise BenchError(f"strategy {name!r}: {exc}") from None

    def _compose(self, name: str, params: dict[str, Any] | tuple) -> Strategy:
        from bench.config import parse_strategy

        if dict(params):
            raise BenchError(f"composed strategy {name!r} takes no parameters of its own; give each part its "
                             "own, e.g. layer-drop:count=2+mixed-precision")
        specs = [parse_strategy(part, f"strategy {name!r}") for part in name.split(COMPOSE)]
        try:
            return Composed(tuple(self.build(spec.name, spec.params) for spec in specs))
        except ValueError as exc:
            raise BenchError(f"strategy {name!r}: {exc}") from None


REGISTRY = Registry()
register = REGISTRY.register


def load_plugins(modules: tuple[str, ...] = ()) -> Registry:
    """Import every package registered under the strategy, task and model entry-point groups (the built-in
    strategies included), then the user modules named in bench.toml `plugins`; returns the strategy registry."""
    from bench.model.pretrained import MODELS
    from bench.tasks.task import TASKS

    kinds.import_plugins((REGISTRY.group, TASKS.group, MODELS.group), modules)
    return REGISTRY
