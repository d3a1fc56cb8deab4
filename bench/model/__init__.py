"""The model: the bi-encoder and its model API (encoder), one tower's layer loop (tower), its padded and packed
backends (padded, packed), Hugging Face architectures adapted (architecture), the prefix cache (prefix_cache),
the FLOP cost model, step prices and the work ledger."""
