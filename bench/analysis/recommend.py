"""The recommendation: what to use in a cell, from its leaderboard rows alone (a pure function).

The fastest strategy that is both non-inferior to the full baseline and better than training less (its equal-time
control) is the answer. Where none is, a faster strategy is no better than what the user could have had by
training the baseline for less, so the plain alternative is named instead: the cheapest equal-time run (a
control or a ladder rung) that is non-inferior to the full baseline, with its share of the baseline's steps taken
from the measured time (share = 1 - its time reduction), not from the fraction it was asked for.
"""

from __future__ import annotations

from bench.analysis.equal_time import BETTER, is_equal_time
from bench.analysis.rows import Recommendation, Row

NON_INFERIOR = "non-inferior"


def _reduction(row: Row) -> float | None:
    return row.headline_time_reduction[0]


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def recommend(rows: list[Row], margin: float) -> Recommendation:
    """The recommendation for one cell's rows (the baseline's included, for its training time)."""
    baseline = next((row for row in rows if row.verdict == "baseline"), None)
    base = f"; the full baseline {_seconds(baseline.train_seconds)}" if baseline else ""
    winners = [row for row in rows if not is_equal_time(row) and row.verdict == NON_INFERIOR
               and row.equal_time_verdict == BETTER and _reduction(row) is not None]
    if winners:
        best = max(winners, key=_reduction)
        return Recommendation("strategy", best.strategy, _reduction(best), (
            f"use {best.strategy}: non-inferior to the full baseline (margin {margin:g}) and better than training "
            f"the baseline for the same time (+{best.equal_time_delta:.4f} {best.headline_metric}), "
            f"{_reduction(best):.0%} less time ({_seconds(best.train_seconds)}; its equal-time control "
            f"{_seconds(best.equal_time_seconds)}{base})"))
    controls = any(row.equal_time_verdict is not None for row in rows) or any(is_equal_time(row) for row in rows)
    why = ("no strategy is both non-inferior to the full baseline and better than training less" if controls else
           "no equal-time control ran, so no strategy is shown better than training less "
           "(add equal-time controls to the suite)")
    cut = [row for row in rows if is_equal_time(row) and row.verdict == NON_INFERIOR
           and (_reduction(row) or 0) > 0]
    if cut:
        cheapest = max(cut, key=_reduction)
        saved = _reduction(cheapest)
        return Recommendation("equal-time", cheapest.strategy, saved, (
            f"{why}; instead train the baseline for {1 - saved:.0%} of its steps ({cheapest.strategy}): same "
            f"relevance within the margin ({margin:g}), {saved:.0%} less time ({_seconds(cheapest.train_seconds)}"
            f"{base})"))
    alternative = ("; no equal-time run is non-inferior either: train the baseline in full" if controls else "")
    return Recommendation("none", None, None, why + alternative)


def cells(rows: list[Row]) -> dict[tuple, list[Row]]:
    """Rows by cell (suite, task, model, data fraction, device, devices), in order: one recommendation each."""
    grouped: dict[tuple, list[Row]] = {}
    for row in rows:
        grouped.setdefault((row.suite, row.task, row.model, row.train_fraction, row.device, row.devices),
                           []).append(row)
    return grouped


def attach(rows: list[Row], margin: float) -> None:
    """Set each cell's recommendation on every row of the cell (rows come grouped by cell)."""
    for group in cells(rows).values():
        answer = recommend(group, margin)
        for row in group:
            row.recommendation = answer
