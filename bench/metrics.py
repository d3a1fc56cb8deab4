"""Ranking metrics for whitelist reply suggestion, vectorised over queries.

Every query ranks the same fixed whitelist of W replies. Ties are broken pessimistically (a relevant
item tied with irrelevant items is ranked after them) so that a degenerate model that scores
everything equally gets the worst rank rather than a lucky one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Metric:
    """One relevance metric, declared once; the store's columns, the curve's columns, table labels and the
    leaderboard's cells all derive from `DECLARED`. A new metric is one line here plus its function."""

    name: str
    label: str  # short column heading in tables and charts
    per_query: Callable[[np.ndarray, np.ndarray], np.ndarray]  # (ranks, intent_ranks) -> float, one per query
    higher_is_better: bool = True
    on_curve: bool = False  # also recorded on the dev curve during training

    def gain(self, delta: float) -> float:
        """A difference (strategy - baseline) turned so that positive always means better."""
        return delta if self.higher_is_better else -delta

    def gain_bounds(self, lo: float, hi: float) -> tuple[float, float]:
        """A difference's interval turned the same way: what verdicts and loss limits read."""
        return (lo, hi) if self.higher_is_better else (-hi, -lo)


def _recall(k: int, intent: bool = False) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    def hits(ranks: np.ndarray, intent_ranks: np.ndarray) -> np.ndarray:
        return ((intent_ranks if intent else ranks) <= k).astype(np.float64)

    return hits


DECLARED: tuple[Metric, ...] = (
    Metric("mrr", "MRR", lambda ranks, _: 1.0 / ranks, on_curve=True),
    Metric("recall_at_1", "R@1", _recall(1)),
    Metric("recall_at_3", "R@3", _recall(3)),
    Metric("recall_at_5", "R@5", _recall(5)),
    Metric("intent_recall_at_1", "iR@1", _recall(1, intent=True)),
    Metric("intent_recall_at_3", "iR@3", _recall(3, intent=True), on_curve=True),
)
METRICS: tuple[str, ...] = tuple(metric.name for metric in DECLARED)
CURVE_METRICS: tuple[str, ...] = tuple(metric.name for metric in DECLARED if metric.on_curve)
BY_NAME: dict[str, Metric] = {metric.name: metric for metric in DECLARED}


def label(name: str) -> str:
    return BY_NAME[name].label


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
    """Per-query value of every declared metric; their means are `summarise`. The exact-match metrics are over the
    queries whose real reply is on the whitelist (`ranks`), the intent metrics over those whose intent is
    (`intent_ranks`, usually many more), so the two kinds have their own lengths.

    Kept per query so that confidence intervals can resample test queries.
    """
    ranks = _check_ranks(ranks)
    intent_ranks = _check_ranks(intent_ranks)
    return {metric.name: metric.per_query(ranks, intent_ranks) for metric in DECLARED}


def summarise(ranks: np.ndarray, intent_ranks: np.ndarray) -> dict[str, float]:
    """All metrics in METRICS as means over queries."""
    return {name: float(values.mean()) for name, values in per_query(ranks, intent_ranks).items()}
