"""Built-in strategies; each module registers its family through `bench.registry.register`."""

from strategies import baseline, drop_freeze, layer_drop, layer_freeze

__all__ = ["baseline", "drop_freeze", "layer_drop", "layer_freeze"]
