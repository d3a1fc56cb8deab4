"""The functional form of a strategy: `bench.apply(model, "layer-drop:count=3")` changes a team's own model in
place, with the same spec syntax as `bench run --strategy`, before its trainer is built.

Everything is checked first (the spec, the model's architecture, whether the strategy can act outside bench's
loop, and the change itself, made once on a copy of the encoders), so a bad spec or model ends in one `BenchError`
and leaves the model untouched."""

from __future__ import annotations

import copy
from collections.abc import Iterator

from torch import nn

from bench.config import StrategySpec, parse_strategy
from bench.errors import BenchError
from bench.integrations.target import ModelTarget, applied, find_encoders
from bench.registry import Composed, Strategy, load_plugins

HOOKS = ("begin", "before_step", "after_backward", "after_step", "end")
"""The lifecycle hooks that act during training: a strategy overriding one needs `StrategyCallback`."""

REFUSED = {
    "zero-shot": "zero-shot does not train: evaluate your model as it is loaded",
    "equal-time": "equal-time is bench's control (the baseline on a shorter schedule): set max_steps in your "
                  "trainer's arguments, and its scheduler fits warm-up and decay to it",
    "mixed-precision": "mixed-precision is a training setting, not a model change: pass bf16=True to your "
                       "TrainingArguments",
    "cached-prefix": "cached-prefix serves the frozen prefix from bench's own data path (a per-text cache), which a "
                     "trainer does not have; the closest that works: layer-freeze:count=N (the same frozen prefix)",
}


def build(spec: str | StrategySpec) -> tuple[StrategySpec, Strategy]:
    """The spec parsed and its strategy built, as `bench run --strategy` would (one-line errors)."""
    parsed = spec if isinstance(spec, StrategySpec) else parse_strategy(spec, "bench.apply")
    return parsed, load_plugins().build(parsed.name, parsed.params)


def parts(strategy: Strategy) -> Iterator[Strategy]:
    yield from (strategy.parts if isinstance(strategy, Composed) else (strategy,))


def name_of(strategy: Strategy) -> str:
    return next((entry.name for entry in load_plugins().entries() if entry.cls is type(strategy)),
                type(strategy).__name__)


def acts_during_training(strategy: Strategy) -> bool:
    """Whether a hook other than `prepare` does something: then only a trainer callback can drive it."""
    return any(getattr(type(part), hook) is not getattr(Strategy, hook) for part in parts(strategy) for hook in HOOKS)


def check_usable(strategy: Strategy, label: str) -> None:
    """A strategy that needs bench's own loop, data path or settings is refused, naming what to do instead."""
    for part in parts(strategy):
        reason = REFUSED.get(name_of(part))
        if reason:
            raise BenchError(f"{label}: {reason}")
        if type(part).pairs is not Strategy.pairs:
            raise BenchError(f"{label}: {name_of(part)} sizes each step's batch (the `pairs` hook), which a "
                             "trainer's data loader does not let a callback do; run it with `bench run`")


def apply(model: nn.Module, spec: str | StrategySpec) -> nn.Module:
    """Change `model` (a Hugging Face PreTrainedModel or a SentenceTransformer) in place as the strategy's
    `prepare` changes bench's model, and return it. A strategy that acts during training (progressive or
    automatic freezing, stochastic depth) is refused: pass `bench.integrations.StrategyCallback(spec)` to the
    trainer instead. Build the trainer after this call: dropping layers changes the parameters its optimizer
    gets."""
    parsed, strategy = build(spec)
    check_usable(strategy, parsed.label)
    if acts_during_training(strategy):
        raise BenchError(f"{parsed.label} acts during training, step by step: pass "
                         f"bench.integrations.StrategyCallback({parsed.label!r}) to your trainer instead")
    encoders = find_encoders(model)
    prepare(encoders, parsed, strategy)
    return model


def prepare(encoders: list[nn.Module], spec: StrategySpec, strategy: Strategy) -> None:
    """Run the strategy's `prepare` on a copy of the encoders first (its errors leave the model untouched), then on
    the encoders themselves; note the label on each."""
    if any(spec.label in applied(encoder).specs for encoder in encoders):
        raise BenchError(f"{spec.label} is already applied to this model; apply it once")
    try:
        strategy.prepare(ModelTarget([copy.deepcopy(encoder) for encoder in encoders]))
    except ValueError as exc:  # a strategy's own check of the model (e.g. more layers than it has)
        raise BenchError(f"{spec.label}: {exc}") from None
    strategy.prepare(ModelTarget(encoders))
    for encoder in encoders:
        applied(encoder).specs.append(spec.label)
