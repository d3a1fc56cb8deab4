"""Shared fixtures: tiny random BERT models built in code, and small task folders."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import BertConfig, BertModel

from bench.registry import load_plugins
from bench.tasks.batching import Encoded
from bench.tasks.toy import write_task  # noqa: F401 - the tests' toy task folders

ROOT = Path(__file__).resolve().parent.parent
SGD_DIR = ROOT.parent / "shared" / "data" / "sgd"

load_plugins()


def tiny_bert(layers: int = 4, hidden: int = 32, seed: int = 0) -> BertModel:
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=200, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=2,
                        intermediate_size=2 * hidden, max_position_embeddings=64)
    return BertModel(config, add_pooling_layer=False)


def encoded_pairs(n: int = 16, seed: int = 3) -> tuple[Encoded, Encoded]:
    """Pre-tokenised random messages (up to 8 tokens) and replies (up to 6), ragged so padding occurs."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 200, (n, 8), generator=generator)
    lengths = torch.randint(3, 9, (n,), generator=generator)
    return Encoded(ids, lengths), Encoded(torch.randint(5, 200, (n, 6), generator=generator),
                                          torch.randint(2, 7, (n,), generator=generator))


@pytest.fixture
def tiny_encoder() -> BertModel:
    return tiny_bert()


@pytest.fixture
def task_dir(tmp_path: Path) -> Path:
    return write_task(tmp_path / "task")


@pytest.fixture
def inputs() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 200, (4, 10), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    mask[3, 3:] = 0
    return ids, mask
