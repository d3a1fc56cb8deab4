"""bench dashboard: every strategy against the baseline at a glance.

Start it with `python -m bench dashboard [--db URL]` (or `streamlit run dashboard/app.py -- --db URL`;
the URL may also come from the BENCH_DB environment variable, the stats settings from bench.toml or
BENCH_CONFIG). Results are read only through bench's store and leaderboard, with the database opened
read-only, and cached per database URL and modification token so a finished run shows up on reload.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from bench.config import StatsConfig, load_config
from bench.errors import BenchError
from bench.metrics import label as metric_label
from bench.render import progress as progress_text
from bench.render import tables as report
from bench.results.store import Store
from dashboard import data, frontier, views  # the installed package (`pip install -e .`), not this file's folder

LABELS = {"suite": "Suite", "task": "Task", "model": "Model", "train_fraction": "Training-data fraction",
          "device_type": "Device", "device_count": "Devices (ranks)"}


def settings() -> tuple[str, StatsConfig, timedelta]:
    """The database URL, stats settings and abandoned-run limit: --db/--config after `--`, else
    BENCH_DB/BENCH_CONFIG, else bench.toml."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--db")
    parser.add_argument("--config")
    args, _ = parser.parse_known_args(sys.argv[1:])
    config = load_config(args.config or os.environ.get("BENCH_CONFIG") or None)
    return (args.db or os.environ.get("BENCH_DB") or config.db, config.stats,
            timedelta(seconds=config.workers.stale_after_seconds))


def stats_key(stats: StatsConfig) -> tuple:
    return tuple(sorted(dataclasses.asdict(stats).items()))


# Cached reads: keyed on the URL and the store's modification token, so any change to the database
# (a run finishing, failing or starting) invalidates them; the Store itself is passed unhashed.
@st.cache_data(show_spinner=False, max_entries=16)
def cached_index(_store: Store, url: str, token: str):
    return data.run_index(_store)


@st.cache_data(show_spinner="Computing the leaderboard...", max_entries=64)
def cached_board(_store: Store, url: str, token: str, stats: tuple, baseline: str, selection: tuple):
    return data.load_board(_store, StatsConfig(**dict(stats)), baseline, dict(selection))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_curves(_store: Store, url: str, token: str, stats: tuple, baseline: str, selection: tuple):
    board = cached_board(_store, url, token, stats, baseline, selection)
    return data.strategy_curves(_store, board, cached_index(_store, url, token), dict(selection))


@st.cache_data(show_spinner=False, max_entries=64)
def cached_charts(_store: Store, url: str, token: str, stats: tuple, baseline: str,
                  selection: tuple) -> tuple[dict, dict | None]:
    """Vega-Lite specs of the Altair charts: building and validating them costs more than their data, so a
    rerun (any widget change) reuses them."""
    board = cached_board(_store, url, token, stats, baseline, selection)
    config = StatsConfig(**dict(stats))
    pareto = views.pareto_chart(views.pareto_frame(board.rows), config.margin).to_dict()
    curves = cached_curves(_store, url, token, stats, baseline, selection)
    if curves.empty:
        return pareto, None
    first = board.rows[0]
    target = views.curve_target(curves, first.strategy, config.target_fraction)
    return pareto, views.curve_chart(curves, target, metric_label(first.headline_metric)).to_dict()


@st.cache_data(show_spinner=False, max_entries=64)
def cached_cell_runs(_store: Store, url: str, token: str, selection: tuple):
    return data.cell_runs(_store, dict(selection))


def choose(index, default: dict[str, Any]) -> dict[str, Any]:
    """Sidebar filters, each narrowed by the ones above it; remembers the user's last choice."""
    chosen = st.session_state.setdefault("chosen", {})
    selection: dict[str, Any] = {}
    for column in data.CELL:
        values = data.options(index, selection, column)
        preferred = chosen.get(column, default.get(column))
        position = values.index(preferred) if preferred in values else 0
        fmt = (lambda v: f"{v:g}") if column == "train_fraction" else str
        selection[column] = st.sidebar.selectbox(LABELS[column], values, index=position, format_func=fmt)
        chosen[column] = selection[column]
    return selection


def show_unfinished(store: Store, stale_after: timedelta) -> None:
    st.header("Runs in progress or failed")
    frame = data.unfinished_runs(store, stale_after)  # not cached: a run is abandoned as time passes
    if frame.empty:
        st.caption("None: every run in the database has completed.")
        return
    st.caption("Not part of the leaderboard. An abandoned run (its process died or stopped sending heartbeats) is "
               "run again by the next `bench run`; a failed run keeps its error.")
    st.dataframe(frame, hide_index=True)


def show_leaderboard(board, stats: StatsConfig) -> None:
    st.header("Leaderboard")
    frame = views.leaderboard_frame(board.rows)
    st.dataframe(views.style_verdicts(frame), hide_index=True, column_config=views.leaderboard_column_config(frame))
    headline = metric_label(board.rows[0].headline_metric)
    st.caption(f"Δ = strategy − baseline on the test set (mean over paired seeds and queries), with "
               f"{stats.confidence:.0%} two-way (seeds × queries) t intervals. Verdict: non-inferiority of "
               f"{headline} at margin {stats.margin:g}. Robust time reduction: paired per-step times, bursts trimmed, "
               "two-level bootstrap; time reduction: wall clock, Student-t over seeds.")
    st.download_button("Download leaderboard (CSV)", report.render(board, "csv"), file_name="leaderboard.csv",
                       mime="text/csv", on_click="ignore")
    if board.excluded:
        with st.expander(f"{len(board.excluded)} runs excluded from the comparison"):
            st.dataframe(pd.DataFrame(board.excluded), hide_index=True)


def show_details(store: Store, records: list[dict], baseline: str) -> None:
    st.header("Run details")
    st.caption("Every completed run in this selection, newest first: parameters, metrics, fingerprint, environment.")
    st.dataframe(views.details_frame(records), hide_index=True)
    base = [r for r in records if r["name"] == baseline and not r["params"]]
    others = sorted({r["strategy"] for r in records} - {r["strategy"] for r in base})
    if base and others:
        label = st.selectbox("Configuration difference from the baseline", others)
        mine = next(r for r in records if r["strategy"] == label)
        st.dataframe(data.config_diff(mine, base[0]), hide_index=True)
        st.caption(f"Newest {label} run against the newest {baseline} run.")
    names = {f"{r['strategy']} · seed {r['seed']} · {r['run_id'][:8]}": r for r in records}
    picked = st.selectbox("Inspect one run", list(names))
    show_run(store, names[picked], records, baseline)


def show_run(store: Store, record: dict, records: list[dict], baseline: str) -> None:
    """One run drilled down: its strategy's seeds, its step-time trace beside its baseline's, its ledger and its
    fingerprints."""
    st.subheader(f"Run {record['run_id'][:8]}: {record['strategy']}, seed {record['seed']}")
    seeds = [r for r in records if r["strategy"] == record["strategy"]]
    st.dataframe(pd.DataFrame([{"seed": r["seed"], "run": r["run_id"][:8], "train s": r["train_seconds"],
                                "energy J": r["energy_joules"], "energy source": r["energy_source"] or "not measured",
                                **{metric_label(m): r[m] for m in ("mrr", "intent_recall_at_3")}} for r in seeds]),
                 hide_index=True)
    st.caption(f"Every seed of {record['strategy']} in this selection.")
    traces = data.step_traces(store, record, records, baseline)
    if traces.empty:
        st.caption("No per-step times were stored for this run (it did not train, or predates them).")
    else:
        st.vega_lite_chart(spec=views.step_trace_chart(traces).to_dict(), width="stretch")
        st.caption("Seconds per training step, this run and its baseline on the same seed: a spike on one line only "
                   "is background load, which the robust time reduction trims.")
    left, right = st.columns(2)
    with left:
        st.markdown("**Work ledger**")
        if record["work"]:
            st.dataframe(data.ledger_frame(record), hide_index=True)
        else:
            st.caption("No work ledger: the run did not train, or predates the ledger.")
    with right:
        st.markdown("**Fingerprints**")
        st.dataframe(pd.DataFrame([{"fingerprint": key, "value": record[key]} for key in data.HASHES]),
                     hide_index=True)
    with st.expander("Full record (settings and environment)"):
        st.json({k: str(v) if k in ("started_at", "ended_at") else v for k, v in record.items()})


@st.cache_data(show_spinner=False, max_entries=64)
def cached_size_chart(_store: Store, url: str, token: str, stats: tuple, baseline: str, selection: tuple):
    board = data.size_board(_store, StatsConfig(**dict(stats)), baseline, dict(selection))
    frame = views.size_frame(board.rows)
    return None if frame.empty else views.size_chart(frame, StatsConfig(**dict(stats)).margin).to_dict()


def show_sizes(store: Store, url: str, token: str, stats: StatsConfig, baseline: str, key: tuple) -> None:
    """The data-size ablation, where the selection was run at several training-set sizes."""
    chart = cached_size_chart(store, url, token, stats_key(stats), baseline, key)
    if chart is None:
        return
    st.header("Relevance cost against training-set size")
    st.vega_lite_chart(spec=chart, width="stretch")
    st.caption("Each size is compared with its own baseline, paired by seed. Above: the headline difference with "
               f"its 95% interval (dashed: the −{stats.margin:g} margin); below: the training-time reduction. Does a "
               "strategy's relevance cost shrink as the data grows?")


@st.cache_data(show_spinner=False, max_entries=64)
def cached_frontier(_store: Store, url: str, token: str, stats: tuple, baseline: str, selection: tuple, axis: str):
    frame = frontier.frontier_frame(cached_board(_store, url, token, stats, baseline, selection).rows)
    return frontier.frontier_chart(frame, axis).to_dict() if frontier.has_controls(frame) else None


def show_frontier(store: Store, url: str, token: str, stats: StatsConfig, baseline: str, key: tuple) -> None:
    """The baseline trained less, as a line, with each strategy against it: shown where equal-time runs exist."""
    if cached_frontier(store, url, token, stats_key(stats), baseline, key, "share") is None:
        return
    st.header("Better than training less?")
    axis = st.radio("Time axis", list(frontier.AXES), format_func=frontier.AXES.get, horizontal=True,
                    key="frontier_axis")
    st.vega_lite_chart(spec=cached_frontier(store, url, token, stats_key(stats), baseline, key, axis),
                       width="stretch")
    st.caption("Grey line: the baseline at several budgets (zero-shot at 0, its `equal-time` runs cut short, the full "
               "schedule), relevance with its interval. A strategy is worth using exactly where it sits above that "
               "line: below it, training the baseline for less time does better. Bars: intervals; hover for the "
               "difference from the strategy's own equal-time control where one ran.")


def show_progress(store: Store, stale_after: timedelta) -> None:
    """Each suite's cells done, running, pending, failed and abandoned, with the ETA: `bench status`'s view."""
    suites = data.suite_progress(store, stale_after)  # not cached: heartbeats age as time passes
    if not suites:
        return
    st.header("Suite progress")
    for suite, state in suites:
        lines = progress_text.render(state, suite, store.url).splitlines()
        st.markdown(f"**{suite}**: " + lines[0].split(": ", 1)[1] + f"  \n{lines[1]}")
        if state.remaining:
            cells = f"{state.remaining} cell" + ("s" if state.remaining > 1 else "")
            with st.expander(f"{suite}: the {cells} not done"):
                st.dataframe(data.open_cells_frame(state), hide_index=True)
    st.caption("As `python -m bench status` shows it: each suite's cells as its newest worker planned them, "
               "against every run in the database. Reload the page to refresh.")


def render() -> None:
    url, stats, stale_after = settings()
    store = data.open_store(url)
    token = store.last_modified()
    st.sidebar.caption(f"Results: `{url}` (read-only)")
    st.sidebar.button("Reload results", help="Results are cached until the database changes; this reruns the page")
    index = cached_index(store, url, token)
    if index.empty:
        st.info(data.NO_RESULTS)
        show_progress(store, stale_after)
        show_unfinished(store, stale_after)
        return
    selection = choose(index, data.default_selection(index))
    candidates = data.baseline_options(index, selection) or ["baseline"]
    baseline = st.sidebar.selectbox("Baseline strategy", candidates,
                                    index=candidates.index("baseline") if "baseline" in candidates else 0)
    key = tuple(selection.items())
    try:
        board = cached_board(store, url, token, stats_key(stats), baseline, key)
    except ValueError as exc:  # e.g. a reference whose training time is zero
        st.error(f"Cannot compare against {baseline!r} here: {exc}")
        show_unfinished(store, stale_after)
        return
    if not board.rows:
        st.warning(f"No strategy can be compared here: no completed {baseline!r} run matches this selection.")
        if board.excluded:
            st.dataframe(pd.DataFrame(board.excluded), hide_index=True)
        show_unfinished(store, stale_after)
        return
    first = board.rows[0]
    st.caption(f"Suite **{first.suite}** · task **{first.task}** · model **{first.model}** · data "
               f"**{first.train_fraction:g}** · {first.device} ({first.device_name}) · headline "
               f"**{metric_label(first.headline_metric)}** · {first.test_pairs} test pairs · "
               f"baseline **{baseline}**")
    show_leaderboard(board, stats)

    pareto, curve = cached_charts(store, url, token, stats_key(stats), baseline, key)
    st.header("Time saved against relevance lost")
    st.vega_lite_chart(spec=pareto, width="stretch")
    st.caption("Up and right is better. Bars: CIs where they exist. Diamonds on the dashed blue line: the Pareto "
               "frontier (no other strategy is both faster and more relevant). Hover a point for its parameters.")

    show_frontier(store, url, token, stats, baseline, key)
    show_sizes(store, url, token, stats, baseline, key)

    st.header("Relevance over training time")
    if curve is None:
        st.caption("No training curves were recorded for these runs.")
    else:
        st.vega_lite_chart(spec=curve, width="stretch")
        st.caption(f"Dev-set {metric_label(first.headline_metric)} at each recorded point (evaluated outside "
                   "the timed region): bold, the mean over seeds; faint, each seed. Target: "
                   f"{stats.target_fraction:g} × the baseline's final dev value (mean over seeds).")

    show_details(store, cached_cell_runs(store, url, token, key), baseline)
    show_progress(store, stale_after)
    show_unfinished(store, stale_after)


def main() -> None:
    st.set_page_config(page_title="bench dashboard", layout="wide")
    st.title("bench: every strategy against the baseline")
    try:
        render()
    except BenchError as exc:  # missing or unreadable database, bad bench.toml: one line, no traceback
        st.warning(f"Cannot read results: {exc}")
        st.info(data.NO_DATABASE)


main()
