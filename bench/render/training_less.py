"""The report's answer to "better than training less?": the column, both training times, the recommendation."""

from __future__ import annotations

from bench.analysis.leaderboard import Leaderboard
from bench.analysis.rows import Row

COLUMN = "vs training less"


def shown(board: Leaderboard) -> bool:
    """The column appears once some row has an equal-time control (a report without any keeps its old shape)."""
    return any(row.equal_time_verdict is not None for row in board.rows)


def cell(row: Row) -> str:
    """delta [low, high] verdict, higher is better; '-' where no control ran."""
    if row.equal_time_verdict is None:
        return "-"
    interval = "" if row.equal_time_low is None else f" [{row.equal_time_low:+.3f}, {row.equal_time_high:+.3f}]"
    delta = "" if row.equal_time_delta is None else f"{row.equal_time_delta:+.3f}{interval} "
    return delta + row.equal_time_verdict


def time_lines(board: Leaderboard) -> list[str]:
    """Both training times, the strategy's and its equal-time control's, and how closely they match (the control's
    over the strategy's, median over seeds; the methodology asks for 0.95-1.05)."""
    return [f"{COLUMN}: {row.strategy} trained {row.train_seconds:.1f} s, its equal-time control "
            f"{row.equal_time_seconds:.1f} s{_match(row.equal_time_ratio)}; the difference is {row.headline_metric} "
            "(strategy - control)"
            for row in board.rows if row.equal_time_verdict is not None and row.train_seconds is not None
            and row.equal_time_seconds is not None]


def _match(ratio: float | None) -> str:
    if ratio is None:
        return ""
    within = "within 5%" if abs(ratio - 1) <= 0.05 else "NOT within 5%: the budgets differ"
    return f" (control/strategy {ratio:.2f}, median over seeds: {within})"


def recommendation_lines(board: Leaderboard) -> list[str]:
    """One recommendation per cell (each row of a cell carries the same one)."""
    out: list[str] = []
    seen: set[tuple] = set()
    cells = {(row.suite, row.task, row.model, row.train_fraction, row.device, row.devices) for row in board.rows}
    for row in board.rows:
        key = (row.suite, row.task, row.model, row.train_fraction, row.device, row.devices)
        if row.recommendation is None or key in seen:
            continue
        seen.add(key)
        where = f" ({row.suite}, {row.model}, data {row.train_fraction:g}, {row.device})" if len(cells) > 1 else ""
        out.append(f"recommendation{where}: {row.recommendation.text}")
    return out
