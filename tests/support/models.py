"""The tests' one tiny random BERT, built in code (nothing downloaded), and pre-tokenised ragged pairs for it."""

from __future__ import annotations

import torch
from transformers import BertConfig, BertModel

from bench.tasks.batching import Encoded

TINY = "tiny-bert:layers=2,hidden=32,heads=2"  # the same shape as a model spec in bench.toml or --model
TINY4 = "tiny-bert:layers=4,hidden=32,heads=2"


def tiny_bert_config(layers: int = 4, hidden: int = 32, **changes) -> BertConfig:
    """Two heads, a 2x feed-forward, 200 tokens and 64 positions; `changes` set any other BertConfig field."""
    return BertConfig(**{"vocab_size": 200, "hidden_size": hidden, "num_hidden_layers": layers,
                         "num_attention_heads": 2, "intermediate_size": 2 * hidden, "max_position_embeddings": 64,
                         **changes})


def tiny_bert(layers: int = 4, hidden: int = 32, seed: int = 0, **changes) -> BertModel:
    torch.manual_seed(seed)
    return BertModel(tiny_bert_config(layers, hidden, **changes), add_pooling_layer=False)


def encoded_pairs(n: int = 16, seed: int = 3) -> tuple[Encoded, Encoded]:
    """Pre-tokenised random messages (up to 8 tokens) and replies (up to 6), ragged so padding occurs."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 200, (n, 8), generator=generator)
    lengths = torch.randint(3, 9, (n,), generator=generator)
    return Encoded(ids, lengths), Encoded(torch.randint(5, 200, (n, 6), generator=generator),
                                          torch.randint(2, 7, (n,), generator=generator))
