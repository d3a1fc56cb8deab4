"""Built-in strategies; each module registers its family through `bench.registry.register`."""

from strategies import (
    auto_freeze,
    baseline,
    cached_prefix,
    drop_freeze,
    equal_time,
    layer_drop,
    layer_freeze,
    lora,
    mixed_precision,
    progressive_freeze,
    stochastic_depth,
)

__all__ = ["auto_freeze", "baseline", "cached_prefix", "drop_freeze", "equal_time", "layer_drop", "layer_freeze",
           "lora", "mixed_precision", "progressive_freeze", "stochastic_depth"]
