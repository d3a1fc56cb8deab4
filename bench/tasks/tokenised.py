"""A task's texts tokenised once per model and data fraction, then shared by every seed and strategy.

Tokenising is the task's business (which pairs train, which texts are ranked, how long each may be);
the runner only asks for the result, so every run of a cell sees exactly the same token ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.config import TrainConfig
from bench.tasks.batching import Encoded, encode_texts
from bench.tasks.task import Task


@dataclass(frozen=True)
class TokenisedTask:
    """Token ids of the training subset, the test and dev messages and the whitelist, with graded relevance."""

    fraction: float
    train_messages: Encoded
    train_replies: Encoded
    test_messages: Encoded
    dev_messages: Encoded
    whitelist: Encoded
    test_relevant: np.ndarray
    dev_relevant: np.ndarray
    mean_tokens: float
    """Mean tokens per training text (messages and replies weighted alike): the cost model's sequence length."""


def tokenise(task: Task, tokenizer, cfg: TrainConfig, fraction: float) -> TokenisedTask:
    """Tokenise `task` for one model; `fraction` (and `cfg.max_train_pairs`) pick the fixed training subset."""
    pairs = task.train_subset(fraction, cfg.max_train_pairs)
    messages = encode_texts(tokenizer, [p.message for p in pairs], cfg.max_message_length)
    replies = encode_texts(tokenizer, [p.reply for p in pairs], cfg.max_reply_length)
    return TokenisedTask(
        fraction, messages, replies,
        encode_texts(tokenizer, [p.message for p in task.test], cfg.max_message_length),
        encode_texts(tokenizer, [p.message for p in task.dev], cfg.max_message_length),
        encode_texts(tokenizer, list(task.whitelist), cfg.max_reply_length),
        task.intent_relevance(task.test_gold), task.intent_relevance(task.dev_gold),
        float(messages.lengths.float().mean() + replies.lengths.float().mean()) / 2,
    )
