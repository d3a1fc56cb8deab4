"""The study's ablations as tables: each strategy's relevance cost and time saving against training-set size (does
a trick's cost shrink as the data grows?) and its verdict per pre-trained model, side by side."""

from __future__ import annotations

from collections import defaultdict

from bench.analysis.leaderboard import Leaderboard
from bench.analysis.rows import Row
from bench.render import training_less
from bench.render.grid import markdown_table, text_table

_CELL = ("suite", "task", "model", "train_fraction", "device", "devices")  # a leaderboard cell, as a row names it


def _delta(row: Row) -> str:
    result = row.headline
    if result.delta is None:
        return "-"
    interval = "" if result.delta_ci is None else f" [{result.delta_ci.lo:+.3f}, {result.delta_ci.hi:+.3f}]"
    return f"{result.delta:+.3f}{interval}"


def _reduction(row: Row) -> str:
    value, interval, _ = row.headline_time_reduction
    if value is None:
        return "-"
    return f"{value:.1%}" + ("" if interval is None else f" [{interval.lo:.1%}, {interval.hi:.1%}]")


def _cell(row: Row) -> str:
    against_less = "" if row.equal_time_verdict is None else f"; vs training less {training_less.cell(row)}"
    return f"{_delta(row)} {row.verdict}; {_reduction(row)} faster{against_less}"


def _axis_tables(board: Leaderboard, axis: str, label, fmt: str) -> list[str]:
    """One table per group of cells that differ only in `axis`: strategies down, the axis's values across."""
    groups: dict[tuple, list[Row]] = defaultdict(list)
    for row in board.rows:
        groups[tuple(getattr(row, name) for name in _CELL if name != axis)].append(row)
    table = markdown_table if fmt == "markdown" else text_table
    out = []
    for key, rows in groups.items():
        values = sorted({getattr(r, axis) for r in rows})
        if len(values) < 2:
            continue
        by = {(r.strategy, getattr(r, axis)): r for r in rows}
        sample = {getattr(r, axis): r for r in rows}
        strategies = list(dict.fromkeys(r.strategy for r in rows if r.verdict != "baseline"))
        headers = ["strategy", *(label(sample[v]) for v in values)]
        body = [[s, *(_cell(by[(s, v)]) if (s, v) in by else "-" for v in values)] for s in strategies]
        less = "; vs training less: delta against the equal-time control [95% CI] and verdict" \
            if any(r.equal_time_verdict is not None for r in rows) else ""
        out += [f"{' | '.join(map(str, key[:2]))}: headline {rows[0].headline_metric} delta [95% CI] and verdict; "
                f"time reduction [95% CI]{less}", table(headers, body), ""]
    return out


def data_size(board: Leaderboard, fmt: str = "table") -> str:
    """Per strategy, the headline delta, verdict and time reduction at each training-set size."""
    return "\n".join(_axis_tables(board, "train_fraction", lambda r: f"{r.train_pairs:,} pairs" if r.train_pairs
                                  else f"data {r.train_fraction:g}", fmt)).rstrip()


def by_model(board: Leaderboard, fmt: str = "table") -> str:
    """Per strategy, the same at each pre-trained model, side by side."""
    return "\n".join(_axis_tables(board, "model", lambda r: r.model, fmt)).rstrip()
