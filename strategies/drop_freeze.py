"""Both of the paper's techniques: drop layers, then freeze the bottom of what remains."""

from dataclasses import dataclass

from bench.model.encoder import BiEncoder
from bench.registry import Strategy, register
from strategies.layer_drop import Which, depth_count, layers_to_drop


@register("drop-freeze")
@dataclass(frozen=True)
class DropFreeze(Strategy):
    """Drop `drop` layers (`which` end), then freeze the embeddings and the bottom `freeze` layers left; or
    `drop_fraction` and `freeze_fraction` of the original depth (a third each: 2 and 2 of 6 layers, 4 and 4 of 12)."""

    drop: int = 2
    which: Which = "top"
    freeze: int = 2
    drop_fraction: float | None = None
    freeze_fraction: float | None = None

    def __post_init__(self) -> None:
        depth_count(1, 0, self.drop_fraction)
        depth_count(1, 0, self.freeze_fraction)

    def prepare(self, model: BiEncoder) -> None:
        depth = model.num_layers
        model.drop_layers(layers_to_drop(depth, depth_count(depth, self.drop, self.drop_fraction), self.which))
        model.freeze_prefix(depth_count(depth, self.freeze, self.freeze_fraction), embeddings=True)
