"""Both of the paper's techniques: drop layers, then freeze the bottom of what remains."""

from dataclasses import dataclass

from bench.model.encoder import BiEncoder
from bench.registry import Strategy, register
from strategies.layer_drop import Which, layers_to_drop


@register("drop-freeze")
@dataclass(frozen=True)
class DropFreeze(Strategy):
    """Drop `drop` layers (`which` end), then freeze the embeddings and the bottom `freeze` layers left."""

    drop: int = 2
    which: Which = "top"
    freeze: int = 2

    def prepare(self, model: BiEncoder) -> None:
        model.drop_layers(layers_to_drop(model.num_layers, self.drop, self.which))
        model.freeze_prefix(self.freeze, embeddings=True)
