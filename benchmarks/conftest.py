"""Fixtures for the micro-benchmarks: real email pairs, bench's tokenizer, encoders built in code.

Kept out of the test run (pyproject's testpaths = ["tests"]); run them with

    python -m pytest benchmarks/ --benchmark-only [--benchmark-autosave] [--benchmark-compare]
        [--benchmark-compare-fail=mean:10%] [--micro-model minilm|tiny]

The training-step encoder is `minilm` by default: random weights in all-MiniLM-L6-v2's exact shape (6 layers,
hidden 384, 12 heads, 30522-token vocabulary), so a step costs what a real step costs without loading weights;
`tiny` (bench's `tiny-bert`, hidden 64) is for a quick look. Compare saved runs only on the same machine,
thread count and --micro-model; on a shared machine the means wander by 10-30%, and the store write (which
waits on SQLite's fsync) most, so `--benchmark-compare-fail=min:10%` is the steadier gate there.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bench.config import TrainConfig, load_config
from bench.registry import load_plugins

ROOT = Path(__file__).resolve().parent.parent

load_plugins()

CONFIG = TrainConfig(batch_size=32, max_message_length=64, max_reply_length=32)  # bench.toml's [train]


def pytest_addoption(parser):
    parser.addoption("--micro-model", choices=["minilm", "tiny"], default="minilm",
                     help="encoder shape for the training-step benchmarks (default: minilm)")


def build_encoder(kind: str):
    """A BERT built in code (seeded), in MiniLM-L6's shape or bench's tiny-bert shape."""
    from transformers import BertConfig, BertModel

    from bench.model.pretrained import tiny_config

    if kind == "minilm":
        config = BertConfig(vocab_size=30522, hidden_size=384, num_hidden_layers=6, num_attention_heads=12,
                            intermediate_size=1536, max_position_embeddings=512)
    else:
        config = tiny_config("tiny-bert")
    torch.manual_seed(0)
    return BertModel(config, add_pooling_layer=False)


@pytest.fixture(scope="session")
def make_encoder():
    return build_encoder


@pytest.fixture(scope="session")
def micro_model(request) -> str:
    return request.config.getoption("--micro-model")


@pytest.fixture(scope="session")
def task():
    from bench.tasks.task import load_task

    return load_task(load_config(ROOT / "bench.toml").task("email"), 200)


@pytest.fixture(scope="session")
def tokenizer():
    from transformers import AutoTokenizer

    from bench.model.pretrained import builtin_model_path

    return AutoTokenizer.from_pretrained(builtin_model_path())


@pytest.fixture(scope="session")
def train_batches(task, tokenizer):
    """The first 8 batches of email training pairs, tokenised once as bench does."""
    from bench.tasks.batching import encode_texts

    pairs = task.train[: 8 * CONFIG.batch_size]
    return (encode_texts(tokenizer, [p.message for p in pairs], CONFIG.max_message_length),
            encode_texts(tokenizer, [p.reply for p in pairs], CONFIG.max_reply_length))
