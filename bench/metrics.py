"""Ranking metrics for whitelist reply suggestion, vectorised over queries.

Every query ranks the same fixed whitelist of W replies. Ties are broken pessimistically (a relevant
item tied with irrelevant items is ranked after them) so that a degenerate model that scores
everything equally gets the worst rank rather than a lucky one.
"""

from __future__ import annotations

import numpy as np

METRICS: tuple[str, ...] = (
    "mrr",
    "recall_at_1",
    "recall_at_3",
    "recall_at_5",
    "intent_recall_at_1",
    "intent_recall_at_3",
)

_RECALL_KS: tuple[int, ...] = (1, 3, 5)
_INTENT_RECALL_KS: tuple[int, ...] = (1, 3)


def _check_scores(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores)
    if scores.ndim != 2 or scores.shape[1] == 0:
        raise ValueError(f"scores must be a [Q, W] matrix with W >= 1, got shape {scores.shape}")
    if np.isnan(scores).any():
        raise ValueError("scores contain NaN; ranks would be meaningless")
    return scores


def gold_ranks(scores: np.ndarray, gold: np.ndarray) -> np.ndarray:
    """1-based rank of each query's gold reply, pessimistic on ties.

    rank = 1 + #(j: s_j > s_g) + #(j != g: s_j == s_g), which equals #(j: s_j >= s_g).
    """
    scores = _check_scores(scores)
    gold = np.asarray(gold)
    q, w = scores.shape
    if gold.shape != (q,) or not np.issubdtype(gold.dtype, np.integer):
        raise ValueError(f"gold must be an integer array of shape ({q},), got {gold.dtype} {gold.shape}")
    if q and (gold.min() < 0 or gold.max() >= w):
        raise ValueError(f"gold indices must lie in [0, {w})")
    gold_scores = scores[np.arange(q), gold]
    return np.count_nonzero(scores >= gold_scores[:, None], axis=1).astype(np.int64)


def first_relevant_ranks(scores: np.ndarray, relevant: np.ndarray) -> np.ndarray:
    """1-based position of the first relevant item per query, pessimistic on ties.

    With r* the best score among relevant items: 1 + #(irrelevant j: s_j >= r*). Used for intent-level
    recall, where any whitelist reply with the gold reply's intent counts as a hit.
    """
    scores = _check_scores(scores)
    relevant = np.asarray(relevant)
    if relevant.shape != scores.shape or relevant.dtype != np.bool_:
        raise ValueError(f"relevant must be a bool array of shape {scores.shape}")
    if not relevant.any(axis=1).all():
        raise ValueError("every query needs at least one relevant item")
    best_relevant = np.where(relevant, scores, -np.inf).max(axis=1)
    beaten_by = ~relevant & (scores >= best_relevant[:, None])
    return (1 + np.count_nonzero(beaten_by, axis=1)).astype(np.int64)


def _check_ranks(ranks: np.ndarray) -> np.ndarray:
    ranks = np.asarray(ranks)
    if ranks.ndim != 1 or ranks.size == 0:
        raise ValueError(f"ranks must be a non-empty 1-D array, got shape {ranks.shape}")
    if (ranks < 1).any():
        raise ValueError("ranks are 1-based and must be >= 1")
    return ranks


def mrr(ranks: np.ndarray) -> float:
    """Mean reciprocal rank."""
    return float(np.mean(1.0 / _check_ranks(ranks)))


def recall_at_k(ranks: np.ndarray, k: int) -> float:
    """Fraction of queries whose rank is <= k."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return float(np.mean(_check_ranks(ranks) <= k))


def per_query(ranks: np.ndarray, intent_ranks: np.ndarray) -> dict[str, np.ndarray]:
    """Per-query value of every metric in METRICS (float [Q]); their means are `summarise`.

    Kept per query so that confidence intervals can resample test queries.
    """
    ranks = _check_ranks(ranks)
    intent_ranks = _check_ranks(intent_ranks)
    if ranks.shape != intent_ranks.shape:
        raise ValueError(f"ranks {ranks.shape} and intent_ranks {intent_ranks.shape} differ in shape")
    out: dict[str, np.ndarray] = {"mrr": 1.0 / ranks}
    for k in _RECALL_KS:
        out[f"recall_at_{k}"] = (ranks <= k).astype(np.float64)
    for k in _INTENT_RECALL_KS:
        out[f"intent_recall_at_{k}"] = (intent_ranks <= k).astype(np.float64)
    return {name: out[name] for name in METRICS}


def summarise(ranks: np.ndarray, intent_ranks: np.ndarray) -> dict[str, float]:
    """All metrics in METRICS as means over queries."""
    return {name: float(values.mean()) for name, values in per_query(ranks, intent_ranks).items()}
