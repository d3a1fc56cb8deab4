"""Layer Freezing (arXiv 2111.13999): freeze the embeddings and the bottom layers."""

from dataclasses import dataclass

from bench.model.encoder import BiEncoder
from bench.registry import Strategy, register
from strategies.layer_drop import depth_count


@register("layer-freeze")
@dataclass(frozen=True)
class LayerFreeze(Strategy):
    """Freeze the embeddings and the bottom `count` layers (or `fraction` of the depth); no backward work runs below
    them."""

    count: int = 3
    fraction: float | None = None
    """When set, replaces `count`: this share of the model's layers."""

    def __post_init__(self) -> None:
        depth_count(1, 0, self.fraction)

    def prepare(self, model: BiEncoder) -> None:
        model.freeze_prefix(depth_count(model.num_layers, self.count, self.fraction), embeddings=True)
