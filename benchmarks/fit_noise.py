"""Sizes of the seed and query noise in stored runs: the generative model behind tests/test_sequential_procedure.py.

For each strategy compared with the baseline, the two-way ANOVA (`bench.analysis.stats.components`) of its paired
per-query headline differences over the shared seeds: the seed SD (sigma_u), the per-query variance V = query +
residual, and the share rho = query / V that persists across seeds (the fixed test set's part).

    python benchmarks/fit_noise.py --db sqlite:///results.db --suite sgd
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from bench.analysis import leaderboard, stats
from bench.config import load_config
from bench.metrics import per_query
from bench.results.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--suite", default="sgd")
    args = parser.parse_args()
    config = load_config("bench.toml")
    store = Store(args.db, read_only=True)
    board = leaderboard.build(store, config.stats, suite=args.suite)
    runs = {(run.label, run.seed): run for run in store.runs(suite=args.suite)}
    ranks = store.ranks([run.id for run in runs.values()])
    print(f"{'strategy':<32} {'seeds':>5} {'delta':>8} {'seed SD':>8} {'V':>7} {'rho':>5} {'query half':>10}")
    for row in board.rows:
        if row.verdict == "baseline":
            continue
        metric = row.headline_metric
        delta = np.stack([per_query(*ranks[runs[(row.strategy, s)].id])[metric]
                          - per_query(*ranks[runs[("baseline", s)].id])[metric] for s in row.seeds])
        parts = stats.components(delta)
        total = parts.query + parts.residual
        print(f"{row.strategy:<32} {len(row.seeds):>5} {parts.mean:>+8.4f} {math.sqrt(parts.seed):>8.4f} "
              f"{total:>7.4f} {parts.query / total if total else 0:>5.2f} {parts.limit_half_width(0.95):>10.4f}")


if __name__ == "__main__":
    main()
