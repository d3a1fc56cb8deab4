import numpy as np
import pytest

from bench.metrics import (
    METRICS,
    first_relevant_ranks,
    gold_ranks,
    mrr,
    per_query,
    recall_at_k,
    summarise,
)

# 4 queries x 5 whitelist replies, with ties.
SCORES = np.array(
    [
        [0.9, 0.5, 0.5, 0.1, 0.3],
        [0.5, 0.5, 0.5, 0.5, 0.5],
        [1.0, 0.0, 0.0, 0.0, 0.0],
        [0.4, 0.4, 0.1, 0.2, 0.9],
    ]
)
GOLD = np.array([1, 3, 0, 0])
# Intent of each whitelist reply: replies 0 and 4 share intent 0, replies 1 and 2 share intent 1.
INTENT = np.array([0, 1, 1, 2, 0])
RELEVANT = INTENT[None, :] == INTENT[GOLD][:, None]

# Gold ranks, 1 + #(greater) + #(tied others):
#   q0: s_g=0.5; greater {0.9} -> 1; tied {idx2} -> 1            => 3
#   q1: s_g=0.5; greater none; tied {0,1,2,4} -> 4                 => 5
#   q2: s_g=1.0; nothing greater or tied                           => 1
#   q3: s_g=0.4; greater {0.9} -> 1; tied {idx1} -> 1              => 3
EXPECTED_RANKS = [3, 5, 1, 3]
# Intent ranks, 1 + #(irrelevant j: s_j >= best relevant score):
#   q0: relevant {1,2}, r*=0.5; irrelevant >= 0.5: {idx0 (0.9)}    => 2
#   q1: relevant {3},   r*=0.5; irrelevant >= 0.5: {0,1,2,4}       => 5
#   q2: relevant {0,4}, r*=1.0; none                               => 1
#   q3: relevant {0,4}, r*=0.9; none                               => 1
EXPECTED_INTENT_RANKS = [2, 5, 1, 1]


def test_gold_ranks_pessimistic_ties() -> None:
    assert gold_ranks(SCORES, GOLD).tolist() == EXPECTED_RANKS


def test_first_relevant_ranks() -> None:
    assert RELEVANT.tolist()[0] == [False, True, True, False, False]
    assert first_relevant_ranks(SCORES, RELEVANT).tolist() == EXPECTED_INTENT_RANKS


def test_first_relevant_with_only_gold_relevant_equals_gold_rank() -> None:
    only_gold = np.zeros_like(SCORES, dtype=bool)
    only_gold[np.arange(4), GOLD] = True
    assert first_relevant_ranks(SCORES, only_gold).tolist() == EXPECTED_RANKS


def test_first_relevant_requires_a_relevant_item() -> None:
    relevant = RELEVANT.copy()
    relevant[2] = False
    with pytest.raises(ValueError):
        first_relevant_ranks(SCORES, relevant)


def test_bad_gold_rejected() -> None:
    with pytest.raises(ValueError):
        gold_ranks(SCORES, np.array([0, 1, 2, 5]))


def test_metrics_by_hand() -> None:
    ranks = np.array(EXPECTED_RANKS)
    intent = np.array(EXPECTED_INTENT_RANKS)
    # MRR = (1/3 + 1/5 + 1/1 + 1/3) / 4 = (20 + 12 + 60 + 20) / 60 / 4 = 112/240 = 0.4666...
    assert mrr(ranks) == pytest.approx(0.46666666666666667)
    # R@1: ranks <= 1 -> {q2} = 1/4; R@3: {q0, q2, q3} = 3/4; R@5: all = 4/4
    assert recall_at_k(ranks, 1) == 0.25
    assert recall_at_k(ranks, 3) == 0.75
    assert recall_at_k(ranks, 5) == 1.0
    summary = summarise(ranks, intent)
    assert tuple(summary) == METRICS
    assert summary == pytest.approx(
        {
            "mrr": 0.46666666666666667,
            "recall_at_1": 0.25,
            "recall_at_3": 0.75,
            "recall_at_5": 1.0,
            # intent ranks [2, 5, 1, 1]: <=1 -> {q2, q3} = 2/4; <=3 -> {q0, q2, q3} = 3/4
            "intent_recall_at_1": 0.5,
            "intent_recall_at_3": 0.75,
        }
    )


def test_per_query_values_and_means() -> None:
    ranks = np.array(EXPECTED_RANKS)
    intent = np.array(EXPECTED_INTENT_RANKS)
    pq = per_query(ranks, intent)
    assert tuple(pq) == METRICS
    assert pq["mrr"] == pytest.approx([1 / 3, 0.2, 1.0, 1 / 3])
    assert pq["recall_at_1"].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert pq["recall_at_3"].tolist() == [1.0, 0.0, 1.0, 1.0]
    assert pq["recall_at_5"].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert pq["intent_recall_at_1"].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert pq["intent_recall_at_3"].tolist() == [1.0, 0.0, 1.0, 1.0]
    summary = summarise(ranks, intent)
    for name in METRICS:
        assert pq[name].dtype == np.float64
        assert pq[name].mean() == pytest.approx(summary[name])


def test_bad_ranks_rejected() -> None:
    with pytest.raises(ValueError):
        mrr(np.array([], dtype=int))
    with pytest.raises(ValueError):
        recall_at_k(np.array([0, 1]), 1)
    with pytest.raises(ValueError):
        summarise(np.array([1, 2]), np.array([0]))


def test_exact_and_intent_metrics_have_their_own_queries() -> None:
    """The intent metrics count every pair whose intent is on the whitelist, the exact ones only pairs whose
    reply is: two lengths, each metric over its own."""
    values = per_query(np.array([1, 4]), np.array([1, 2, 5, 3]))
    assert values["mrr"].tolist() == [1.0, 0.25] and values["recall_at_3"].tolist() == [1.0, 0.0]
    assert values["intent_recall_at_3"].tolist() == [1.0, 1.0, 0.0, 1.0]
    assert summarise(np.array([1, 4]), np.array([1, 2, 5, 3]))["intent_recall_at_1"] == 0.25


def test_an_intent_rank_is_never_worse_than_the_exact_rank_on_a_large_set() -> None:
    # Its speed (under 1 s) is a benchmark: benchmarks/test_microbench.py::test_ranking_metrics_on_a_large_test_set.
    rng = np.random.default_rng(0)
    q, w = 20_000, 300
    scores = rng.standard_normal((q, w)).astype(np.float32)
    gold = rng.integers(0, w, size=q)
    intents = rng.integers(0, 40, size=w)
    relevant = intents[None, :] == intents[gold][:, None]
    ranks = gold_ranks(scores, gold)
    intent_ranks = first_relevant_ranks(scores, relevant)
    assert (intent_ranks <= ranks).all() and (intent_ranks < ranks).any()
    assert summarise(ranks, intent_ranks)["mrr"] == pytest.approx(float(np.mean(1.0 / ranks)))


def test_a_metrics_direction_turns_differences_so_positive_means_better():
    from bench.metrics import DECLARED, Metric

    lower = Metric("mean_rank", "rank", lambda ranks, _: ranks.astype(float), higher_is_better=False)
    assert lower.gain(-2.0) == 2.0 and lower.gain_bounds(-3.0, 1.0) == (-1.0, 3.0)
    assert all(m.higher_is_better for m in DECLARED)
    assert DECLARED[0].gain(-0.25) == -0.25 and DECLARED[0].gain_bounds(-0.5, 0.1) == (-0.5, 0.1)
