"""The model: the bi-encoder, its unpadded layers and the FLOP cost model."""
