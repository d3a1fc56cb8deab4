"""What the dashboard reads, all through bench's store and leaderboard (no SQL here), free of Streamlit.

Kept apart from the app so that tests and the 10,000-run benchmark exercise the very functions the
dashboard caches, and so that every number shown comes from `bench.analysis.leaderboard.build`.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd

from bench.analysis import leaderboard, progress
from bench.analysis.leaderboard import CELL, FINGERPRINT
from bench.config import StatsConfig
from bench.results import columns as result_columns
from bench.results.models import Run
from bench.results.store import Store

# The sidebar's filters are the leaderboard's cell (CELL, in the order they narrow it down). A run's record
# shows its fingerprint, and the hash of its whole configuration beside it.
HASHES = (*(column for column, _ in FINGERPRINT), "config_hash")
NO_RESULTS = "No completed runs yet. Run a suite first: `python -m bench run` (then reload this page)."
NO_DATABASE = ("Results are written by `python -m bench run`; start the dashboard with the same database "
               "(`python -m bench dashboard --db URL`) and reload this page.")


def open_store(url: str) -> Store:
    """Read-only, so the dashboard can never change results (SQLite is opened with mode=ro)."""
    return Store(url, read_only=True)


def run_index(store: Store) -> pd.DataFrame:
    """One small row per completed run: enough to offer filter choices and to find a cell's runs."""
    columns = ["id", "started_at", "strategy", "label", "seed", "params", "train_seconds", *CELL]
    index = pd.DataFrame(store.run_columns(columns, status="completed"), columns=columns)
    index["has_params"] = index.pop("params").map(bool).astype(bool)
    index["trained"] = index.pop("train_seconds").fillna(0).astype(float) > 0
    return index


def narrow(index: pd.DataFrame, selection: dict[str, Any], upto: str | None = None) -> pd.DataFrame:
    """The runs matching the selection's filters that come before `upto` in CELL (all of them if None)."""
    mask = pd.Series(True, index=index.index)
    for column in CELL:
        if column == upto:
            break
        if column in selection:
            mask &= index[column] == selection[column]
    return index[mask]


def options(index: pd.DataFrame, selection: dict[str, Any], column: str) -> list:
    """Values of `column` that still have runs under the filters chosen before it."""
    return sorted(narrow(index, selection, column)[column].unique().tolist(), key=str)


def default_selection(index: pd.DataFrame) -> dict[str, Any]:
    """The cell of the newest completed run: what the user most likely just ran."""
    if index.empty:
        return {}
    newest = index.sort_values(["started_at", "id"]).iloc[-1]
    return {column: _plain(newest[column]) for column in CELL}


def baseline_options(index: pd.DataFrame, selection: dict[str, Any]) -> list[str]:
    """Strategies that can serve as the reference: run without parameters, and trained (time reductions
    are relative to the reference's training time, so an untrained one like zero-shot cannot be it)."""
    cell = narrow(index, selection)
    return sorted(cell.loc[~cell["has_params"] & cell["trained"], "strategy"].unique().tolist())


def load_board(store: Store, stats: StatsConfig, baseline: str, selection: dict[str, Any]) -> leaderboard.Leaderboard:
    """The leaderboard exactly as `python -m bench report` computes it, for the selected cell."""
    return leaderboard.build(store, stats, baseline, **selection)


def size_board(store: Store, stats: StatsConfig, baseline: str, selection: dict[str, Any]) -> leaderboard.Leaderboard:
    """The selection at every training-set size it was run at (each size against its own baseline), or an empty
    board when it has one size only."""
    others = {key: value for key, value in selection.items() if key != "train_fraction"}
    board = leaderboard.build(store, stats, baseline, **others)
    return board if len({row.train_fraction for row in board.rows}) > 1 else leaderboard.Leaderboard()


def compared_runs(index: pd.DataFrame, board: leaderboard.Leaderboard, selection: dict[str, Any]) -> pd.DataFrame:
    """The runs behind each leaderboard row: newest per (strategy, seed), excluded runs left out."""
    excluded = {e.run_id for e in board.excluded}
    cell = narrow(index, selection)
    cell = cell[~cell["id"].isin(excluded)].sort_values(["started_at", "id"], kind="stable")
    latest = cell.drop_duplicates(["label", "seed"], keep="last")
    seeds = {row.strategy: set(row.seeds) for row in board.rows}
    keep = [seed in seeds.get(label, ()) for label, seed in zip(latest["label"], latest["seed"], strict=True)]
    return latest[keep]


def strategy_curves(store: Store, board: leaderboard.Leaderboard, index: pd.DataFrame,
                    selection: dict[str, Any]) -> pd.DataFrame:
    """Dev headline over training seconds, one line per (strategy, seed), from the recorded curves."""
    runs = compared_runs(index, board, selection)
    curves = store.curves(runs["id"].tolist())
    rows = [(label, seed, run_id, p.step, p.seconds, p.headline)
            for run_id, label, seed in zip(runs["id"], runs["label"], runs["seed"], strict=True)
            for p in curves.get(run_id, [])]
    return pd.DataFrame(rows, columns=["strategy", "seed", "run_id", "step", "seconds", "headline"])


def run_record(run: Run) -> dict[str, Any]:
    """Everything stored about a run that a reader needs to trust or reproduce it (its result columns: those the
    catalogue, bench.results.columns, marks `record`)."""
    return {"run_id": run.id, "strategy": run.label, "name": run.strategy, "params": run.params, "seed": run.seed,
            "status": run.status, "started_at": run.started_at, "ended_at": run.ended_at,
            **{c: getattr(run, c) for c in CELL}, "device_name": run.device_name,
            **{c: getattr(run, c) for c in result_columns.RECORDED}, **run.metrics(),
            **{c: getattr(run, c) for c in HASHES}, "git_commit": run.git_commit, "git_dirty": run.git_dirty,
            "settings": run.settings, "environment": run.environment, "error": run.error, "work": run.work}


def step_traces(store: Store, record: dict[str, Any], records: list[dict[str, Any]],
                baseline: str) -> pd.DataFrame:
    """The run's per-step seconds beside its baseline's of the same seed (a burst of background load shows as a
    spike on one trace only); empty when neither stored step times."""
    partner = next((r for r in records if r["name"] == baseline and not r["params"] and r["seed"] == record["seed"]
                    and r["run_id"] != record["run_id"]), None)
    runs = [record] + ([partner] if partner else [])
    times = store.step_times([r["run_id"] for r in runs])
    frames = [pd.DataFrame({"step": range(1, len(times[r["run_id"]]) + 1), "seconds": times[r["run_id"]],
                            "run": f"{r['strategy']} · seed {r['seed']}"}) for r in runs if r["run_id"] in times]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["step", "seconds", "run"])


def ledger_frame(record: dict[str, Any]) -> pd.DataFrame:
    """The run's work ledger (what its steps really computed), one row per quantity."""
    return pd.DataFrame([{"quantity": key, "value": _show(value)} for key, value in flatten(record["work"]).items()],
                        columns=["quantity", "value"])


def cell_runs(store: Store, selection: dict[str, Any]) -> list[dict[str, Any]]:
    """Every completed run of the selected cell, newest first."""
    return [run_record(r) for r in reversed(store.runs(status="completed", **selection))]


def unfinished_runs(store: Store, stale_after: timedelta) -> pd.DataFrame:
    """Runs still in progress, abandoned (their process died or went silent) or failed: shown on their own, never
    on the leaderboard."""
    records = [{**run_record(run), "status": state, "where": f"{run.host}:{run.pid}"}
               for run, state in store.unfinished(stale_after)]
    columns = ["status", "strategy", "seed", *CELL, "started_at", "ended_at", "where", "error", "run_id"]
    return pd.DataFrame([{c: rec[c] for c in columns} for rec in records], columns=columns)


def suite_progress(store: Store, stale_after: timedelta) -> list[tuple[str, progress.Progress]]:
    """Each suite with a stored plan and where it stands now (as `bench status` shows it)."""
    found = [(suite, progress.of_suite(store, suite, stale_after)) for suite in store.planned_suites()]
    return [(suite, state) for suite, state in found if state is not None]


def open_cells_frame(state: progress.Progress) -> pd.DataFrame:
    """The cells not done yet, running first: where each runs and how fresh its heartbeat is, or its error."""
    order = {"running": 0, "failed": 1, "abandoned": 2, "pending": 3}
    rows = [{"state": cell.state, "strategy": cell.key.label, "seed": cell.key.seed, "model": cell.key.model,
             "train_fraction": cell.key.fraction,
             "where": f"{cell.run.host}:{cell.run.pid}" if cell.state == "running" else "",
             "heartbeat_s": state.heartbeat_age(cell) if cell.state == "running" else None,
             "error": (cell.run.error or "") if cell.state in ("failed", "abandoned") else ""}
            for cell in state.cells if cell.state != "done"]
    columns = ["state", "strategy", "seed", "model", "train_fraction", "where", "heartbeat_s", "error"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("state", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested settings as dotted keys, so two runs' configurations can be compared line by line."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key in sorted(value):
            out.update(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def config_diff(strategy_run: dict[str, Any], baseline_run: dict[str, Any]) -> pd.DataFrame:
    """Settings and parameters that differ between a strategy's run and the baseline's run."""
    def config(run: dict[str, Any]) -> dict[str, Any]:
        return {"strategy": run["name"], **flatten(run["params"], "params"), **flatten(run["settings"], "settings")}

    ours, theirs = config(strategy_run), config(baseline_run)
    keys = sorted(set(ours) | set(theirs))
    rows = [(k, _show(theirs.get(k)), _show(ours.get(k))) for k in keys if ours.get(k) != theirs.get(k)]
    return pd.DataFrame(rows, columns=["setting", "baseline", "strategy"])


def _show(value: Any) -> str:
    return "(not set)" if value is None else str(value)


def _plain(value: Any) -> Any:
    """numpy scalars as Python values, so selections compare equal to store values and pickle small."""
    return value.item() if hasattr(value, "item") else value
