"""Tables and charts built from leaderboard rows: pure functions, so they are testable without Streamlit."""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import pandas as pd

from bench.analysis.rows import Interval, Row, bounds
from bench.metrics import label
from bench.results import columns as result_columns

VERDICT_COLOURS = {"baseline": "#9e9e9e", "non-inferior": "#2e7d32", "inconclusive": "#f9a825",
                   "inferior": "#c62828"}
VERDICT_BACKGROUNDS = {"baseline": "#eeeeee", "non-inferior": "#c8e6c9", "inconclusive": "#fff3c4",
                       "inferior": "#ffcdd2"}


def ci_text(interval: Interval | None, digits: int = 3, percent: bool = False) -> str:
    """An interval as text ('' where there is none), signed so that a CI across zero reads as such."""
    if interval is None or interval.lo is None:
        return ""
    if percent:
        return f"[{interval.lo * 100:+.1f}%, {interval.hi * 100:+.1f}%]"
    return f"[{interval.lo:+.{digits}f}, {interval.hi:+.{digits}f}]"


def params_text(params: dict | None) -> str:
    return json.dumps(params or {}, sort_keys=True)


def delta_column(metric: str) -> str:
    return f"{label(metric)} Δ"


# The leaderboard's columns in order, around the metric columns; a catalogue column with a dashboard heading
# (bench.results.columns) that these do not name comes last.
_LEAD = ("strategy", "verdict", "seeds", "robust time reduction", "robust time reduction CI", "time reduction",
         "time reduction CI", "train s", "device-hours", "energy J", "energy source", "energy reduction",
         "energy reduction CI", "energy to target J")
_TAIL = ("to target", "reached target", "speedup", "ideal speedup", "trainable params", "layers", "params")
_COLUMNS = tuple(column for column in result_columns.ON_ROW if column.dashboard)


def leaderboard_frame(rows: list[Row]) -> pd.DataFrame:
    """One row per strategy with numeric columns (so sorting is numeric) and CIs as text beside them; the robust
    time reduction leads (empty where a run has no step times), the wall-clock one stays beside it."""
    records = []
    for row in rows:
        record: dict[str, Any] = {column.dashboard: getattr(row, column.name) for column in _COLUMNS}
        record.update({
            "strategy": row.strategy, "verdict": row.verdict, "seeds": row.runs,
            "robust time reduction": row.robust_time_reduction,
            "robust time reduction CI": ci_text(row.robust_time_reduction_ci, percent=True),
            "time reduction": row.time_reduction,
            "time reduction CI": ci_text(row.time_reduction_ci, percent=True),
            "energy source": row.energy_source or "not measured", "energy reduction": row.energy_reduction,
            "energy reduction CI": ci_text(row.energy_reduction_ci, percent=True),
            "energy to target J": row.energy_to_target_joules,
            "to target": row.time_to_target_seconds, "reached target": row.target_reached,
            "speedup": row.measured_speedup, "ideal speedup": row.ideal_speedup, "params": params_text(row.params),
        })
        metrics = {f"{label(row.headline_metric)} (headline)": row.headline.mean}
        for metric, result in row.metrics.items():
            metrics[delta_column(metric)] = result.delta
            metrics[f"{delta_column(metric)} CI"] = ci_text(result.delta_ci)
        records.append(result_columns.arrange({**record, **metrics}, (*_LEAD, *metrics, *_TAIL)))
    return pd.DataFrame.from_records(records)


def leaderboard_column_config(frame: pd.DataFrame) -> dict:
    """Number formats for the leaderboard table (values stay numeric for sorting): a catalogue float's from its
    declared format, the comparison's own here."""
    import streamlit as st

    config: dict[str, Any] = {column.dashboard: st.column_config.NumberColumn(format=column.printf)
                              for column in _COLUMNS if column.kind is float}
    config.update({
        "robust time reduction": st.column_config.NumberColumn(
            format="percent", help="training time saved vs the baseline from paired per-step times, bursts of "
            "background load trimmed; empty where a run has no step times (see the wall-clock one)"),
        "time reduction": st.column_config.NumberColumn(format="percent", help="wall-clock: 1 - strategy/baseline "
                                                        "train time, mean over paired seeds"),
        "energy J": st.column_config.NumberColumn(format=result_columns.BY_NAME["energy_joules"].printf,
                                                  help="training energy, mean over seeds: a counter (NVML, RAPL) or "
                                                  "the CPU-time estimate, as `energy source` says"),
        "energy to target J": st.column_config.NumberColumn(
            format="%.0f", help="training energy until the dev headline reached the target (every seed reached it)"),
        "energy reduction": st.column_config.NumberColumn(
            format="percent", help="1 - strategy/baseline joules, paired over seeds; only where both sides have "
            "the same source (an estimate is never compared with a counter)"),
        "to target": st.column_config.NumberColumn(format="%.1f s", help="training seconds until the dev headline "
                                                   "reached the target (mean over seeds that all reached it)"),
        "speedup": st.column_config.NumberColumn(format="%.2f×"),
        "ideal speedup": st.column_config.NumberColumn(
            format="%.2f×", help="the work done, priced at this machine's measured step prices"),
        "verdict": st.column_config.TextColumn(help="non-inferiority of the headline metric at the margin"),
    })
    for column in frame.columns:
        if column.endswith(" Δ") or column.endswith("(headline)"):
            config[column] = st.column_config.NumberColumn(format="%+.3f" if column.endswith(" Δ") else "%.3f")
    return config


def style_verdicts(frame: pd.DataFrame):
    """Colour the verdict cells so a reader sees at a glance which strategies hold up."""
    def colour(value: object) -> str:
        background = VERDICT_BACKGROUNDS.get(str(value))
        return f"background-color: {background}; color: #111111" if background else ""

    return frame.style.map(colour, subset=["verdict"])


def pareto_front(x: list[float], y: list[float]) -> list[bool]:
    """Which points no other point beats on both axes (both maximised)."""
    out = []
    for i, (xi, yi) in enumerate(zip(x, y, strict=True)):
        dominated = any(xj >= xi and yj >= yi and (xj > xi or yj > yi)
                        for j, (xj, yj) in enumerate(zip(x, y, strict=True)) if j != i)
        out.append(not dominated)
    return out


def pareto_frame(rows: list[Row]) -> pd.DataFrame:
    """Time reduction against headline difference per strategy, with intervals and frontier membership."""
    records = []
    for row in rows:
        time_lo, time_hi = bounds(row.time_reduction_ci)
        delta_lo, delta_hi = bounds(row.headline.delta_ci)
        records.append({"strategy": row.strategy, "params": params_text(row.params), "verdict": row.verdict,
                        "time_reduction": row.time_reduction, "time_lo": time_lo, "time_hi": time_hi,
                        "delta": row.headline.delta, "delta_lo": delta_lo, "delta_hi": delta_hi, "seeds": row.runs,
                        "headline": label(row.headline_metric)})
    frame = pd.DataFrame.from_records(records, columns=["strategy", "params", "verdict", "time_reduction",
                                                        "time_lo", "time_hi", "delta", "delta_lo", "delta_hi",
                                                        "seeds", "headline"])
    frame["frontier"] = pareto_front(frame["time_reduction"].tolist(), frame["delta"].tolist()) if len(frame) else []
    return frame


def pareto_chart(frame: pd.DataFrame, margin: float) -> alt.LayerChart:
    """One point per strategy; error bars where intervals exist; the frontier joined by a line."""
    headline = frame["headline"].iloc[0] if len(frame) else "headline"
    x = alt.X("time_reduction:Q", title="training-time reduction vs baseline", axis=alt.Axis(format="%"))
    y = alt.Y("delta:Q", title=f"{headline} difference vs baseline")
    colour = alt.Color("verdict:N", scale=alt.Scale(domain=list(VERDICT_COLOURS),
                                                    range=list(VERDICT_COLOURS.values())), title="verdict")
    tooltip = [alt.Tooltip("strategy:N"), alt.Tooltip("params:N"), alt.Tooltip("verdict:N"),
               alt.Tooltip("time_reduction:Q", format=".1%", title="time reduction"),
               alt.Tooltip("delta:Q", format="+.4f", title=f"{headline} Δ"),
               alt.Tooltip("delta_lo:Q", format="+.4f", title="Δ CI low"),
               alt.Tooltip("delta_hi:Q", format="+.4f", title="Δ CI high"),
               alt.Tooltip("seeds:Q"), alt.Tooltip("frontier:N", title="on Pareto frontier")]
    base = alt.Chart(frame)
    y_bars = base.transform_filter("isValid(datum.delta_lo)").mark_rule(opacity=0.6).encode(
        x=x, y="delta_lo:Q", y2="delta_hi:Q", color=colour)
    x_bars = base.transform_filter("isValid(datum.time_lo)").mark_rule(opacity=0.6).encode(
        y=y, x="time_lo:Q", x2="time_hi:Q", color=colour)
    front = base.transform_filter("datum.frontier").mark_line(color="#1565c0", strokeDash=[6, 3]).encode(
        x=x, y=y, order="time_reduction:Q")
    points = base.mark_point(filled=True).encode(
        x=x, y=y, color=colour, tooltip=tooltip,
        shape=alt.Shape("frontier:N", title="Pareto frontier", scale=alt.Scale(domain=[True, False],
                                                                               range=["diamond", "circle"])),
        size=alt.condition("datum.frontier", alt.value(220), alt.value(90)))
    labels = base.mark_text(align="left", dx=8, dy=-8, fontSize=11).encode(x=x, y=y, text="strategy:N")
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#757575").encode(y="y:Q")
    floor = alt.Chart(pd.DataFrame({"y": [-margin], "label": [f"non-inferiority margin (−{margin:g})"]}))
    margin_rule = floor.mark_rule(color="#c62828", strokeDash=[2, 2]).encode(y="y:Q")
    margin_text = floor.mark_text(align="left", baseline="top", dy=3, color="#c62828", x=3).encode(
        y="y:Q", text="label:N")
    return alt.layer(zero, margin_rule, margin_text, y_bars, x_bars, front, points, labels).properties(height=420)


def curve_target(curves: pd.DataFrame, baseline_label: str, target_fraction: float) -> float | None:
    """Mean over seeds of the per-seed target (fraction x the baseline's final dev headline)."""
    base = curves[curves["strategy"] == baseline_label]
    if base.empty:
        return None
    finals = base.sort_values("step").groupby("seed")["headline"].last()
    return float(target_fraction * finals.mean())


def curve_chart(curves: pd.DataFrame, target: float | None, headline: str) -> alt.LayerChart:
    """Dev headline over training seconds: the mean over seeds per strategy, each seed faintly behind it."""
    mean = curves.groupby(["strategy", "step"], as_index=False)[["seconds", "headline"]].mean()
    x = alt.X("seconds:Q", title="training seconds")
    y = alt.Y("headline:Q", title=f"dev {headline}", scale=alt.Scale(zero=False))
    colour = alt.Color("strategy:N", legend=alt.Legend(labelLimit=320, symbolOpacity=1))
    seeds = alt.Chart(curves).mark_line(opacity=0.25, strokeWidth=1).encode(
        x=x, y=y, color=colour, detail="seed:N", order="step:Q")
    lines = alt.Chart(mean).mark_line(point=True, strokeWidth=2.5).encode(
        x=x, y=y, color=colour, order="step:Q",
        tooltip=["strategy:N", "step:Q", alt.Tooltip("seconds:Q", format=".1f", title="seconds (mean)"),
                 alt.Tooltip("headline:Q", format=".4f", title=f"dev {headline} (mean over seeds)")])
    layers: list = [seeds, lines]
    if target is not None:
        rule = alt.Chart(pd.DataFrame({"target": [target], "label": [f"target {target:.3f}"]}))
        layers.append(rule.mark_rule(color="#c62828", strokeDash=[6, 3]).encode(y="target:Q"))
        layers.append(rule.mark_text(align="left", dy=-6, color="#c62828", x=3).encode(y="target:Q", text="label:N"))
    return alt.layer(*layers).properties(height=380)


def details_frame(records: list[dict]) -> pd.DataFrame:
    """Every run as one flat row: parameters, metrics, fingerprint and environment side by side."""
    flat = []
    for record in records:
        shown = {k: v for k, v in record.items() if k not in ("settings", "environment", "params")}
        shown["params"] = params_text(record["params"])
        shown.update({f"env.{k}": str(v) for k, v in sorted((record["environment"] or {}).items())})
        flat.append(shown)
    return pd.DataFrame.from_records(flat)


def step_trace_chart(frame: pd.DataFrame) -> alt.Chart:
    """Seconds per training step, one line per run: where a burst of background load landed, and on which side."""
    return alt.Chart(frame).mark_line(strokeWidth=1).encode(
        x=alt.X("step:Q", title="training step"), y=alt.Y("seconds:Q", title="seconds"),
        color=alt.Color("run:N", legend=alt.Legend(orient="top", title=None)),
        tooltip=["run", "step", alt.Tooltip("seconds:Q", format=".4f")])


def size_frame(rows: list[Row]) -> pd.DataFrame:
    """Per strategy and training-set size: the headline difference and time reduction, with their intervals."""
    records = []
    for row in rows:
        if row.verdict == "baseline":
            continue
        delta_lo, delta_hi = bounds(row.headline.delta_ci)
        reduction, interval, _ = row.headline_time_reduction
        time_lo, time_hi = bounds(interval)
        records.append({"strategy": row.strategy, "train_pairs": row.train_pairs, "delta": row.headline.delta,
                        "delta_lo": delta_lo, "delta_hi": delta_hi, "time_reduction": reduction,
                        "time_lo": time_lo, "time_hi": time_hi, "verdict": row.verdict, "seeds": row.runs,
                        "headline": label(row.headline_metric)})
    return pd.DataFrame.from_records(records, columns=["strategy", "train_pairs", "delta", "delta_lo", "delta_hi",
                                                       "time_reduction", "time_lo", "time_hi", "verdict", "seeds",
                                                       "headline"])


def size_chart(frame: pd.DataFrame, margin: float) -> alt.VConcatChart:
    """The study's data-size question: does a strategy's relevance cost shrink as the training set grows? Above,
    the headline difference (with its interval, the margin dashed); below, the time reduction; x on a log scale."""
    headline = frame["headline"].iloc[0] if len(frame) else "headline"
    sizes = frame["train_pairs"].dropna()
    domain = [float(sizes.min()) / 1.25, float(sizes.max()) * 1.25] if len(sizes) else None
    x = alt.X("train_pairs:Q", title="training pairs", scale=alt.Scale(type="log", domain=domain, nice=False))
    colour = alt.Color("strategy:N", title="strategy", legend=alt.Legend(orient="top"))
    tooltip = [alt.Tooltip("strategy:N"), alt.Tooltip("train_pairs:Q", format=",", title="training pairs"),
               alt.Tooltip("delta:Q", format="+.4f", title=f"{headline} Δ"), alt.Tooltip("verdict:N"),
               alt.Tooltip("time_reduction:Q", format=".1%", title="time reduction"), alt.Tooltip("seeds:Q")]
    base = alt.Chart(frame)
    delta = alt.layer(
        alt.Chart(pd.DataFrame({"y": [-margin]})).mark_rule(color="#c62828", strokeDash=[2, 2]).encode(y="y:Q"),
        base.transform_filter("isValid(datum.delta_lo)").mark_rule(opacity=0.6).encode(
            x=x, y="delta_lo:Q", y2="delta_hi:Q", color=colour),
        base.mark_line(point=True).encode(x=x, y=alt.Y("delta:Q", title=f"{headline} difference vs baseline"),
                                          color=colour, tooltip=tooltip)).properties(height=260, width=520)
    time = alt.layer(
        base.transform_filter("isValid(datum.time_lo)").mark_rule(opacity=0.6).encode(
            x=x, y="time_lo:Q", y2="time_hi:Q", color=colour),
        base.mark_line(point=True).encode(x=x, y=alt.Y("time_reduction:Q", title="training-time reduction",
                                                       axis=alt.Axis(format="%")), color=colour, tooltip=tooltip),
    ).properties(height=180, width=520)
    return alt.vconcat(delta, time)
