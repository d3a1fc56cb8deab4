"""A task's texts tokenised once per model and data fraction, then shared by every seed and strategy.

Tokenising is the task's business (which pairs train, which texts are ranked, how long each may be);
the runner only asks for the result, so every run of a cell sees exactly the same token ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.config import TrainConfig
from bench.tasks.batching import Encoded, encode_texts
from bench.tasks.task import Queries, Task


@dataclass(frozen=True)
class RankingInputs:
    """A query set ready to rank: each distinct message text tokenised once (a text that recurs is encoded once
    and its scores shared, which is exact: the same ids give the same embedding), and what is relevant to whom."""

    messages: Encoded
    """The distinct message texts."""
    rows: np.ndarray
    """[Q] the row of `messages` holding each query's text."""
    gold: np.ndarray
    """[Q] whitelist index of each query's real reply, -1 where it is not on the whitelist."""
    relevant: np.ndarray
    """[Q_intent, W] bool, for the queries whose intent is on the whitelist, in query order."""
    intent_counted: np.ndarray
    """[Q] bool: the queries that `relevant` has a row for."""

    def __len__(self) -> int:
        return len(self.rows)


def ranking_inputs(task: Task, queries: Queries, tokenizer, max_length: int) -> RankingInputs:
    texts = [p.message for p in queries.pairs]
    distinct = list(dict.fromkeys(texts))
    row_of = {text: i for i, text in enumerate(distinct)}
    return RankingInputs(encode_texts(tokenizer, distinct, max_length) if distinct else Encoded.empty(),
                         np.asarray([row_of[t] for t in texts], dtype=np.int64), queries.gold,
                         task.intent_relevance(queries), queries.intent >= 0)


@dataclass(frozen=True)
class TokenisedTask:
    """Token ids of the training subset, the test and dev queries and the whitelist."""

    fraction: float
    train_messages: Encoded
    train_replies: Encoded
    test: RankingInputs
    dev: RankingInputs
    whitelist: Encoded
    mean_tokens: float
    """Mean tokens per training text (messages and replies weighted alike): the cost model's sequence length."""


def tokenise(task: Task, tokenizer, cfg: TrainConfig, fraction: float,
             same_model: TokenisedTask | None = None) -> TokenisedTask:
    """Tokenise `task` for one model; `fraction` (and `cfg.max_train_pairs`) pick the fixed training subset.
    `same_model`: this model's tokenised task at another fraction, whose test, dev and whitelist inputs (the same
    for every fraction) are shared rather than encoded again, so evaluation reuse spans a data-size ablation."""
    pairs = task.train_subset(fraction, cfg.max_train_pairs)
    messages = encode_texts(tokenizer, [p.message for p in pairs], cfg.max_message_length)
    replies = encode_texts(tokenizer, [p.reply for p in pairs], cfg.max_reply_length)
    if same_model is None:
        test = ranking_inputs(task, task.test, tokenizer, cfg.max_message_length)
        dev = ranking_inputs(task, task.dev, tokenizer, cfg.max_message_length)
        whitelist = encode_texts(tokenizer, list(task.whitelist), cfg.max_reply_length)
    else:
        test, dev, whitelist = same_model.test, same_model.dev, same_model.whitelist
    return TokenisedTask(fraction, messages, replies, test, dev, whitelist,
                         float(messages.lengths.float().mean() + replies.lengths.float().mean()) / 2)
