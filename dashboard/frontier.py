"""The frontier of training less: relevance against training time, the baseline at several budgets as a line.

A strategy's verdict compares it with the baseline on the full schedule, but a user could simply train the
baseline for fewer steps. The `equal-time` control runs (the baseline cut to a strategy's time, or to a fraction
of its steps) trace that cheaper option; a trick is worth using exactly where it sits above their line. Pure
functions of leaderboard rows, free of Streamlit, so they are testable on literal rows.
"""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from bench.analysis.rows import Row, bounds
from bench.metrics import label

CONTROL = "equal-time"  # the registered strategy: the baseline with its schedule cut to fewer steps
UNTRAINED = "zero-shot"  # the baseline's budget of nothing: 0 s
SIDES = {"above the line": "#2e7d32", "below the line": "#c62828", "beyond the line": "#757575"}
AXES = {"share": "share of the full baseline's training time", "seconds": "training seconds"}
COLUMNS = ("cell", "strategy", "tag", "name", "role", "on_line", "params", "matches", "share", "share_lo", "share_hi",
           "seconds", "seconds_lo", "seconds_hi", "measured_seconds", "relevance", "relevance_lo", "relevance_hi",
           "headline", "verdict", "seeds", "line_at", "above", "side", "equal_time_delta", "equal_time_low",
           "equal_time_high", "equal_time_verdict")
_DERIVED = ("seconds", "seconds_lo", "seconds_hi", "line_at", "above", "side")  # filled in by frontier_frame


def role(row: Row, full: str = "baseline") -> str:
    """Where a row goes: on the line (the baseline at some budget) or off it (a strategy to judge)."""
    if row.name == CONTROL:
        return "equal-time control"
    if not row.params and row.name == full:
        return "full baseline"
    if not row.params and row.name == UNTRAINED:
        return "zero-shot"
    return "strategy"


def tag(row: Row, kind: str) -> str:
    """A short label on the chart: the line's points say which budget they are, a strategy its own label."""
    params = row.params or {}
    if kind == "equal-time control" and "fraction" in params:
        return f"baseline × {params['fraction']:g}"
    if kind == "equal-time control" and "matches" in params:
        return f"baseline at {params['matches']}'s time"
    return {"full baseline": f"{row.strategy} (full)"}.get(kind, row.strategy)


def cell_name(row: Row) -> str:
    return f"{row.suite} · {row.model} · data {row.train_fraction:g}"


def _point(row: Row, full: str) -> dict[str, Any]:
    """One row's position: share of the reference's time (1 − the headline time reduction, robust where both
    sides stored step times) and the headline metric's mean, each with its interval where there is one."""
    reduction, interval, _ = row.headline_time_reduction
    lo, hi = bounds(interval)
    relevance_lo, relevance_hi = bounds(row.headline.ci)
    kind = role(row, full)
    params = row.params or {}
    return {"cell": cell_name(row), "strategy": row.strategy, "tag": tag(row, kind), "name": row.name, "role": kind,
            "on_line": kind != "strategy", "params": json.dumps(params, sort_keys=True),
            "matches": params.get("matches") if kind == "equal-time control" else None,
            "share": None if reduction is None else 1.0 - reduction,
            "share_lo": None if hi is None else 1.0 - hi, "share_hi": None if lo is None else 1.0 - lo,
            "measured_seconds": row.train_seconds, "relevance": row.headline.mean, "relevance_lo": relevance_lo,
            "relevance_hi": relevance_hi, "headline": label(row.headline_metric), "verdict": row.verdict,
            "seeds": row.runs, **{key: getattr(row, key, None) for key in COLUMNS if key.startswith("equal_time")}}


def frontier_frame(rows: list[Row], full: str = "baseline") -> pd.DataFrame:
    """One record per row that has a time: the line's points (the `full` strategy unchanged, its `equal-time`
    controls and ladder rungs, zero-shot at 0 s) and every other strategy, with how far it sits above the line
    at its own time (linear between the line's points, as drawn; None beyond the line's range). Seconds are the
    share times the reference's mean training seconds, so both time axes show the same paired estimate."""
    records = [_point(row, full) for row in rows]
    reference = {cell_name(row): row.train_seconds for row in rows if row.verdict == "baseline"}
    frame = pd.DataFrame.from_records(records, columns=[c for c in COLUMNS if c not in _DERIVED])
    frame = frame[frame["share"].notna()].reset_index(drop=True)
    scale = frame["cell"].map(reference).astype(float)
    for suffix in ("", "_lo", "_hi"):
        frame[f"seconds{suffix}"] = frame[f"share{suffix}"].astype(float) * scale
    frame["line_at"] = [_line_at(frame[(frame["cell"] == cell) & frame["on_line"]], share) if not on_line else None
                        for cell, share, on_line in zip(frame["cell"], frame["share"], frame["on_line"], strict=True)]
    frame["line_at"] = frame["line_at"].astype(float)
    frame["above"] = frame["relevance"].astype(float) - frame["line_at"]
    frame["side"] = [None if on_line else "beyond the line" if pd.isna(above)
                     else "above the line" if above > 0 else "below the line"
                     for on_line, above in zip(frame["on_line"], frame["above"], strict=True)]
    return frame.sort_values(["cell", "share"], kind="stable").reset_index(drop=True)[list(COLUMNS)]


def _line_at(line: pd.DataFrame, share: float) -> float | None:
    """The line's relevance at `share`, joined straight between its points in time order; None outside it."""
    points = line.dropna(subset=["share", "relevance"]).sort_values("share", kind="stable")
    if points.empty or not points["share"].min() <= share <= points["share"].max():
        return None
    return float(np.interp(share, points["share"].to_numpy(float), points["relevance"].to_numpy(float)))


def has_controls(frame: pd.DataFrame) -> bool:
    """Whether the line has a point between its ends: without an equal-time run it is only zero-shot to full."""
    return bool((frame["role"] == "equal-time control").any())


def frontier_chart(frame: pd.DataFrame, axis: str = "share") -> alt.FacetChart | alt.LayerChart:
    """The line of the baseline trained less (grey, its intervals faint), each strategy a point coloured by
    whether it sits above it, with its relevance interval vertical and its time interval horizontal; one panel
    per cell when the frame holds several."""
    headline = frame["headline"].iloc[0] if len(frame) else "headline"
    x = alt.X(f"{axis}:Q", title=AXES[axis], axis=alt.Axis(format="%") if axis == "share" else alt.Axis())
    y = alt.Y("relevance:Q", title=f"{headline} (test set)", scale=alt.Scale(zero=False))
    colour = alt.Color("side:N", title="against the line", scale=alt.Scale(domain=list(SIDES),
                                                                           range=list(SIDES.values())))
    tooltip = _tooltip(headline)
    line, others = alt.Chart().transform_filter("datum.on_line"), alt.Chart().transform_filter("!datum.on_line")
    layers = [
        line.transform_filter("isValid(datum.relevance_lo)").mark_rule(color="#9e9e9e", opacity=0.5).encode(
            x=x, y="relevance_lo:Q", y2="relevance_hi:Q"),
        line.mark_line(color="#616161", strokeWidth=2, point=alt.OverlayMarkDef(color="#616161", size=60)).encode(
            x=x, y=y, order=f"{axis}:Q", tooltip=tooltip),
        line.mark_text(align="left", dx=6, dy=12, fontSize=10, color="#616161").encode(x=x, y=y, text="tag:N"),
        others.transform_filter("isValid(datum.relevance_lo)").mark_rule(opacity=0.7).encode(
            x=x, y="relevance_lo:Q", y2="relevance_hi:Q", color=colour),
        others.transform_filter(f"isValid(datum.{axis}_lo)").mark_rule(opacity=0.7).encode(
            y=y, x=f"{axis}_lo:Q", x2=f"{axis}_hi:Q", color=colour),
        others.mark_point(filled=True, size=110).encode(x=x, y=y, color=colour, tooltip=tooltip),
        others.mark_text(align="left", dx=8, dy=-8, fontSize=11).encode(x=x, y=y, text="strategy:N"),
    ]
    chart = alt.layer(*layers, data=frame)
    if frame["cell"].nunique() > 1:
        return chart.properties(height=380, width=520).facet(facet=alt.Facet("cell:N", title=None), columns=2)
    return chart.properties(height=420)


def _tooltip(headline: str) -> list[alt.Tooltip]:
    return [alt.Tooltip("strategy:N"), alt.Tooltip("role:N"), alt.Tooltip("params:N"),
            alt.Tooltip("share:Q", format=".1%", title="share of the baseline's time"),
            alt.Tooltip("measured_seconds:Q", format=".1f", title="train s (measured mean)"),
            alt.Tooltip("relevance:Q", format=".4f", title=headline),
            alt.Tooltip("relevance_lo:Q", format=".4f", title="CI low"),
            alt.Tooltip("relevance_hi:Q", format=".4f", title="CI high"),
            alt.Tooltip("above:Q", format="+.4f", title="above the line by"),
            alt.Tooltip("equal_time_delta:Q", format="+.4f", title="Δ vs its equal-time control"),
            alt.Tooltip("equal_time_verdict:N", title="vs equal-time control"),
            alt.Tooltip("verdict:N", title="verdict vs full baseline"), alt.Tooltip("seeds:Q")]
