"""Layer freezing with the frozen prefix computed once per distinct text: replies repeat across pairs, so a cache
keyed by token ids pays even within one epoch. Loss and gradients equal `layer-freeze` at the same count."""

from dataclasses import dataclass
from typing import ClassVar

from bench.model.encoder import BiEncoder
from bench.registry import StepContext, Strategy, register


@register("cached-prefix")
@dataclass(frozen=True)
class CachedPrefix(Strategy):
    """Freeze the embeddings and bottom `count` layers; run them once per distinct text, cached by token ids.

    The cache fills inside the timed steps."""

    count: int = 3
    claims: ClassVar[str | None] = "prefix cache"

    def __post_init__(self) -> None:
        if self.count < 0:
            raise ValueError(f"count must be >= 0, got {self.count}")

    def prepare(self, model: BiEncoder) -> None:
        model.freeze_prefix(max(self.count, model.frozen_prefix), embeddings=True)

    def begin(self, ctx: StepContext) -> None:
        ctx.model.cache_prefix(self.count)  # declared work: the cache fills inside the timed steps

    def end(self, ctx: StepContext) -> None:
        if ctx.ledger is not None:
            ctx.ledger.note(**ctx.model.prefix_cache_stats())
        ctx.model.cache_prefix(None)
