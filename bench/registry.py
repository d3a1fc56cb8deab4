"""One typed registry for strategies: a decorator, duplicate names rejected, did-you-mean on lookup."""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, get_type_hints

import torch

from bench.errors import BenchError
from bench.model.encoder import BiEncoder
from bench.validate import coerce, did_you_mean

if TYPE_CHECKING:
    from bench.config import TrainConfig
    from bench.model.ledger import WorkLedger


@dataclass
class StepContext:
    """What a lifecycle hook sees: the step (0-based) of `total_steps`, the model, the optimizer, the run's seed,
    the work ledger, and `memory`, a dict kept for the whole run (strategies are frozen and shared by runs, so
    their per-run state lives here: `ctx.memory_of(self)`)."""

    step: int
    total_steps: int
    model: BiEncoder
    optimizer: torch.optim.Optimizer
    seed: int = 0
    ledger: WorkLedger | None = None
    memory: dict = field(default_factory=dict)

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
            if self.model.message_tower.skipped:
                self.model.skip_layers(())

    def skip(self, layers) -> None:
        """Skip these layers (kept-layer indices) in this step's forward only (`at` ends it); every layer runs at
        evaluation."""
        self.model.skip_layers(set(self.model.message_tower.skipped) | set(layers))

    def freeze_prefix(self, count: int) -> None:
        """Freeze the embeddings and the bottom `count` layers from now on (never fewer than already frozen): they
        go to eval mode, run under no_grad, and leave the optimizer with their state and gradients."""
        count = max(count, self.model.message_tower.frozen_prefix)
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
        for layer in self.model.message_tower.layers:
            grads = [p.grad for p in layer.parameters() if p.grad is not None]
            norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))) if grads else None)
        return norms


class Strategy:
    """A training-time reduction strategy: a frozen dataclass of parameters that changes the model before
    fine-tuning (`prepare`) and may act during it through the lifecycle hooks the training loop calls, in order:
    `configure` (the run's own settings), `begin`, then per step
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


COMPOSE = "+"
"""Joins strategies: `layer-drop:count=2+mixed-precision`; a composed spec's name is its parts' labels joined."""


S = TypeVar("S", bound=Strategy)


@dataclass(frozen=True)
class Entry(Generic[S]):
    name: str
    cls: type[S]
    description: str

    def parameters(self) -> dict[str, Any]:
        return {f.name: f.default for f in dataclasses.fields(self.cls)}


class Registry:
    """Name -> strategy class. Built-in strategies register exactly like a user's would."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, description: str | None = None):
        def decorate(cls: type[S]) -> type[S]:
            if name in self._entries:
                raise ValueError(f"strategy {name!r} is already registered by {self._entries[name].cls!r}")
            if COMPOSE in name or ":" in name or "(" in name:
                raise ValueError(f"strategy name {name!r} may not hold '+', ':' or '(': they separate specs")
            if not (isinstance(cls, type) and issubclass(cls, Strategy) and dataclasses.is_dataclass(cls)):
                raise TypeError(f"strategy {name!r} must be a dataclass subclassing bench.registry.Strategy")
            text = description or (cls.__doc__ or "").strip().splitlines()[0]
            self._entries[name] = Entry(name, cls, text)
            return cls

        return decorate

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[n] for n in self.names()]

    def get(self, name: str) -> Entry:
        if name not in self._entries:
            hint = did_you_mean(name, list(self._entries), cutoff=0.5)
            raise BenchError(f"unknown strategy {name!r}{hint}; `python -m bench list` shows the strategies")
        return self._entries[name]

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


PLUGIN_GROUP = "bench.strategies"
"""Entry-point group of packages that register strategies; the built-in `strategies` package is one of them."""


def load_plugins(modules: tuple[str, ...] = ()) -> Registry:
    """Import every package registered under the `bench.strategies` entry-point group (the built-ins
    included), then the user modules named in bench.toml `plugins`."""
    for entry_point in metadata.entry_points(group=PLUGIN_GROUP):
        entry_point.load()
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise BenchError(f"cannot import strategy plugin {module!r}: {exc}; fix `plugins` in bench.toml") from None
    return REGISTRY
