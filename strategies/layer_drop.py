"""Layer Dropping (Sajjad et al.; arXiv 2111.13999): remove encoder layers before fine-tuning."""

from dataclasses import dataclass
from typing import Literal

from bench.model.encoder import BiEncoder
from bench.registry import Strategy, register

Which = Literal["top", "bottom", "alternate", "symmetric"]


def layers_to_drop(num_layers: int, count: int, which: Which) -> list[int]:
    """Indices (0 = bottom) of the layers to remove."""
    if not 0 <= count < num_layers:
        raise ValueError(f"count must be between 0 and {num_layers - 1} for a {num_layers}-layer model")
    if which == "top":
        return list(range(num_layers - count, num_layers))
    if which == "bottom":
        return list(range(count))
    if which == "alternate":  # every other layer, from the top down
        picked = list(range(num_layers - 1, -1, -2))[:count]
        if len(picked) < count:
            raise ValueError(f"alternate dropping removes at most {len(picked)} of {num_layers} layers")
        return sorted(picked)
    start = (num_layers - count) // 2  # symmetric: the middle
    return list(range(start, start + count))


def depth_count(num_layers: int, count: int, fraction: float | None) -> int:
    """The layers a strategy acts on: `count`, or with `fraction` that share of the model's depth, rounded half
    up (a third of 6 layers is 2, of 12 is 4), so one suite asks the same of models of different depths."""
    if fraction is None:
        return count
    if not 0.0 <= fraction < 1.0:
        raise ValueError(f"fraction must be in [0, 1), got {fraction}")
    return int(fraction * num_layers + 0.5)


@register("layer-drop")
@dataclass(frozen=True)
class LayerDrop(Strategy):
    """Remove `count` encoder layers (or `fraction` of the depth; top, bottom, alternate or symmetric) before
    fine-tuning."""

    count: int = 2
    which: Which = "top"
    fraction: float | None = None
    """When set, replaces `count`: this share of the model's layers."""

    def __post_init__(self) -> None:
        depth_count(1, 0, self.fraction)  # a bad fraction fails when the suite is read, not in its first run

    def prepare(self, model: BiEncoder) -> None:
        count = depth_count(model.num_layers, self.count, self.fraction)
        model.drop_layers(layers_to_drop(model.num_layers, count, self.which))
