"""Layer Freezing (arXiv 2111.13999): freeze the embeddings and the bottom layers."""

from dataclasses import dataclass

from bench.model.encoder import BiEncoder
from bench.registry import Strategy, register


@register("layer-freeze")
@dataclass(frozen=True)
class LayerFreeze(Strategy):
    """Freeze the embeddings and the bottom `count` layers; no backward work runs below them."""

    count: int = 3

    def prepare(self, model: BiEncoder) -> None:
        model.freeze_prefix(self.count, embeddings=True)
