"""The leaderboard: one row per strategy, compared with the baseline run under the same fingerprint.

Runs are grouped into cells (suite, task, model, data fraction, device). Within a cell only runs whose
task, model, settings and hardware fingerprints match the baseline's are compared, paired by seed;
the others are listed as excluded, with the reason. Rows and exclusions are typed (`bench.analysis.rows`).
Time reductions come two ways: from run totals (wall-clock), and from paired per-step seconds with bursts of
background load trimmed (`bench.analysis.timing.robust_reduction`) where both sides stored step times.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import numpy as np

from bench.analysis import equal_time, recommend, sequential, stats, timing
from bench.analysis.rows import Excluded, Interval, MetricResult, Row, Scaling, Unfinished
from bench.config import StatsConfig
from bench.metrics import BY_NAME, METRICS, per_query
from bench.model import costmodel
from bench.results import columns as result_columns
from bench.results.models import Run
from bench.results.store import Store

# A cell: the runs compared together (the dashboard's filters, in the order they narrow it down).
CELL = ("suite", "task", "model", "train_fraction", "device_type", "device_count")
# Within a cell, only runs that match the baseline's fingerprint on every column are compared: (column, what).
FINGERPRINT = (("task_hash", "task data"), ("model_hash", "model weights"), ("settings_hash", "settings"),
               ("hardware_hash", "hardware"))
_PASS_ELEMENTS = 1 << 23  # per-query values bootstrapped together in one pass (64 MiB of float64)


@dataclass
class Leaderboard:
    rows: list[Row] = field(default_factory=list)
    excluded: list[Excluded] = field(default_factory=list)
    unfinished: list[Unfinished] = field(default_factory=list)
    scaling: list[Scaling] = field(default_factory=list)


def cell_key(run: Run) -> tuple:
    return tuple(getattr(run, column) for column in CELL)


def latest_per_seed(runs: list[Run]) -> dict[int, Run]:
    """The newest completed run of each seed (a rerun supersedes an older one)."""
    by_seed: dict[int, Run] = {}
    for run in sorted(runs, key=lambda r: r.started_at):
        by_seed[run.seed] = run
    return by_seed


def build(store: Store, stats_config: StatsConfig, baseline: str = "baseline", stale_after: timedelta | None = None,
          limit_confidence: float | None = None, **filters) -> Leaderboard:
    """Leaderboard rows for every cell matching `filters` (suite, task, model, device_type, ...); with
    `stale_after`, also the runs matching them that are not results (running, abandoned, failed).
    `limit_confidence`: the level at which an open verdict is called seed- or query-limited (default: the
    intervals' own; adding seeds sequentially, the last look's)."""
    runs = store.runs(status="completed", **filters)
    cells: dict[tuple, list[Run]] = defaultdict(list)
    for run in runs:
        cells[cell_key(run)].append(run)
    board = Leaderboard()
    if stale_after is not None:
        wanted = {key: value for key, value in filters.items() if value is not None}
        board.unfinished = [
            Unfinished(run.id, run.label, run.seed, run.suite, state, f"{run.host}:{run.pid}", run.error or "")
            for run, state in store.unfinished(stale_after)
            if all(getattr(run, key) in (value if isinstance(value, (list, tuple, set)) else (value,))
                   for key, value in wanted.items())]
    for key in sorted(cells, key=lambda k: tuple(str(x) for x in k)):
        _build_cell(store, stats_config, baseline, cells[key], board, limit_confidence or stats_config.confidence)
    board.scaling = scaling(runs, board)
    return board


def scaling(runs: list[Run], board: Leaderboard) -> list[Scaling]:
    """Each strategy on N > 1 ranks against itself on 1 rank, in the same suite, task, model, fraction and device
    type, over the seeds both have (only runs the leaderboard compared)."""
    compared = {(row.suite, row.task, row.model, row.train_fraction, row.device, row.devices, row.strategy)
                for row in board.rows}
    seconds: dict[tuple, dict[int, dict[int, float]]] = defaultdict(lambda: defaultdict(dict))
    for run in runs:
        key = (run.suite, run.task, run.model, run.train_fraction, run.device_type, run.label)
        if (*key[:5], run.device_count, run.label) in compared and run.train_seconds:
            seconds[key][run.device_count][run.seed] = run.train_seconds  # runs come oldest first: newest wins
    out = []
    for key, by_count in sorted(seconds.items(), key=lambda item: tuple(str(x) for x in item[0])):
        for count in sorted(c for c in by_count if c > 1 and 1 in by_count):
            shared = sorted(by_count[count].keys() & by_count[1].keys())
            if shared:
                out.append(Scaling(key[-1], count, len(shared), float(np.mean([by_count[count][s] for s in shared])),
                                   float(np.mean([by_count[1][s] for s in shared]))))
    return out


def _exclude(board: Leaderboard, run: Run, reason: str) -> None:
    board.excluded.append(Excluded(run.id, run.label, run.seed, run.suite, run.task, run.model, reason))


def _build_cell(store: Store, cfg: StatsConfig, baseline: str, runs: list[Run], board: Leaderboard,
                limit_confidence: float) -> None:
    base_runs = latest_per_seed([r for r in runs if r.strategy == baseline and not r.params])
    if not base_runs:
        for run in runs:
            _exclude(board, run, f"no completed {baseline!r} run in this suite/task/model/fraction/device")
        return
    reference = base_runs[max(base_runs)]
    by_label: dict[str, list[Run]] = defaultdict(list)
    for run in runs:
        mismatch = [name for column, name in FINGERPRINT if getattr(run, column) != getattr(reference, column)]
        if mismatch:
            _exclude(board, run, f"{' and '.join(mismatch)} differ from the baseline's")
        elif run.seed not in base_runs:
            _exclude(board, run, f"no baseline run for seed {run.seed}")
        else:
            by_label[run.label].append(run)
    base_runs = latest_per_seed(by_label.get(reference.label, []))
    compared = [r.id for group in by_label.values() for r in latest_per_seed(group).values()]
    ranks, curves, steps = store.ranks(compared), store.curves(compared), store.step_times(compared)
    targets = {seed: cfg.target_fraction * curves[run.id][-1].headline
               for seed, run in base_runs.items() if curves.get(run.id)}
    base_matrix = _per_query_matrix(base_runs, ranks)
    pending: list[tuple[Row, dict[str, np.ndarray], dict[str, np.ndarray]]] = []
    peak = store.peak_flops(reference.hardware_hash, reference.settings["train"].get("precision", "fp32"))
    seconds: dict[str, dict[int, float]] = {}
    for label, group in sorted(by_label.items(), key=lambda item: (item[0] != reference.label, item[0])):
        latest = latest_per_seed(group)
        seconds[label] = {seed: run.train_seconds for seed, run in latest.items()}
        row = _row(cfg, latest, base_runs, ranks, curves, targets, base_matrix, pending)
        row.robust_time_reduction, row.robust_time_reduction_ci = _robust_time_reduction(cfg, latest, base_runs, steps)
        row.achieved_flops = _mean([run.work["real_flops"] / run.train_seconds for run in latest.values()
                                    if run.work and run.work.get("real_flops") and run.train_seconds])
        row.peak_flops = peak
        row.flop_ideal_speedup = _mean([run.work.get("ideal_speedup") if run.work else None
                                        for run in latest.values()])
        board.rows.append(row)
    _add_intervals(cfg, pending, limit_confidence)
    equal_time.compare(cfg, pending, seconds)  # the second verdict: better than training less?
    recommend.attach([row for row, _, _ in pending], cfg.margin)


def _per_query_matrix(runs: dict[int, Run], ranks: dict) -> dict[str, np.ndarray]:
    """metric -> [seeds, queries] of per-query values, seeds in sorted order."""
    per_seed = [per_query(*ranks[runs[seed].id]) for seed in sorted(runs)]
    return {metric: np.stack([values[metric] for values in per_seed]) for metric in METRICS}


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(np.mean(present)) if present else None


def _row(cfg: StatsConfig, runs: dict[int, Run], base_runs: dict[int, Run], ranks: dict, curves: dict,
         targets: dict[int, float], base_matrix: dict[str, np.ndarray], pending: list) -> Row:
    """A strategy's row; its metric intervals and verdict are filled in by `_add_intervals`."""
    seeds = sorted(runs)
    first = runs[seeds[0]]
    seconds = {seed: runs[seed].train_seconds for seed in seeds}
    base_seconds = {seed: base_runs[seed].train_seconds for seed in seeds}
    if all(base_seconds.values()):
        time_reduction, red_lo, red_hi = stats.mean_ci(stats.time_reductions(seconds, base_seconds), cfg.confidence)
    else:  # a reference that did not train (zero-shot) has no time to reduce
        time_reduction = red_lo = red_hi = None
    speedups = [base_seconds[s] / seconds[s] for s in seeds if seconds[s]]
    measured = _mean(speedups)
    quantities = _quantities([runs[s] for s in seeds])
    reached, to_target, to_target_reduction = _time_to_target(runs, base_runs, curves, targets)
    row = Row(
        strategy=first.label, name=first.strategy, params=first.params, suite=first.suite, task=first.task,
        model=first.model, train_fraction=first.train_fraction, device=first.device_type, devices=first.device_count,
        device_name=first.device_name, runs=len(seeds), seeds=seeds, **quantities,
        time_reduction=time_reduction, time_reduction_ci=None if red_lo is None else Interval(red_lo, red_hi),
        headline_metric=first.headline_metric, measured_speedup=measured,
        efficiency=costmodel.efficiency(measured, quantities["ideal_speedup"]),
        metrics={metric: MetricResult() for metric in METRICS}, verdict="baseline" if runs == base_runs else None,
        target_reached=reached, time_to_target_seconds=to_target, time_to_target_reduction=to_target_reduction)
    matrix = _per_query_matrix(runs, ranks)
    row.exact_pairs, row.intent_pairs = (len(values) for values in ranks[first.id])
    _add_energy(cfg, row, runs, base_runs, curves, targets)
    base = {metric: values[[sorted(base_runs).index(s) for s in seeds]] for metric, values in base_matrix.items()}
    pending.append((row, matrix, base))
    return row


def _quantities(runs: list[Run]) -> dict[str, Any]:
    """The catalogue's row quantities over the seeds' runs (bench.results.columns), each taken its declared way;
    the `own` ones are left to the analysis (energy: `_add_energy`)."""
    out: dict[str, Any] = {}
    for column in result_columns.ON_ROW:
        values = [getattr(run, column.name) for run in runs]
        if column.row == "mean":
            out[column.name] = _mean(values)
        elif column.row == "max":
            out[column.name] = max(value or 0 for value in values)
        elif column.row == "first":
            out[column.name] = values[0]
    return out


def _energy(runs: list[Run]) -> tuple[dict[int, float], str | None]:
    """Per seed joules and their one source; ({}, None) where a run has none or the sources differ."""
    sources = {run.energy_source for run in runs}
    if len(sources) != 1 or None in sources or any(run.energy_joules is None for run in runs):
        return {}, None
    return {run.seed: run.energy_joules for run in runs}, sources.pop()


def _add_energy(cfg: StatsConfig, row: Row, runs: dict[int, Run], base_runs: dict[int, Run], curves: dict,
                targets: dict[int, float]) -> None:
    """Mean energy and its source; the paired reduction vs the baseline where both sides have one source and the
    baseline spent some; the energy until the dev target (every seed reached it, every point metered)."""
    joules, source = _energy(list(runs.values()))
    if not joules:
        return
    row.energy_joules, row.energy_source = float(np.mean(list(joules.values()))), source
    base, base_source = _energy([base_runs[seed] for seed in runs])
    if base and base_source == source and all(value > 0 for value in base.values()):
        row.energy_reduction, lo, hi = stats.mean_ci(stats.time_reductions(joules, base), cfg.confidence)
        row.energy_reduction_ci = None if lo is None else Interval(lo, hi)
    reached = [stats.time_to_target([(p.joules, p.headline) for p in curves.get(run.id, [])], targets[seed])
               if seed in targets and all(p.joules is not None for p in curves.get(run.id, [])) else None
               for seed, run in runs.items()]
    if reached and all(value is not None for value in reached):
        row.energy_to_target_joules = float(np.mean(reached))


def _robust_time_reduction(cfg: StatsConfig, runs: dict[int, Run], base_runs: dict[int, Run],
                           steps: dict[str, np.ndarray]) -> tuple[float | None, Interval | None]:
    """The paired-step reduction over the row's seeds, or (None, None) when a run on either side has no step
    times (stored before bench kept them, or did not train) or the two sides' step counts differ."""
    seeds = sorted(runs)
    strategy = {seed: steps.get(runs[seed].id) for seed in seeds}
    baseline = {seed: steps.get(base_runs[seed].id) for seed in seeds}
    if any(times is None for times in (*strategy.values(), *baseline.values())):
        return None, None
    try:
        estimate, lo, hi = timing.robust_reduction(strategy, baseline, cfg.confidence, cfg.bootstrap_samples,
                                                   cfg.bootstrap_seed)
    except ValueError:  # unpaired step counts or a non-positive step time: no paired figure
        return None, None
    return estimate, Interval(lo, hi)


def _add_intervals(cfg: StatsConfig, pending: list[tuple[Row, dict[str, np.ndarray], dict[str, np.ndarray]]],
                   limit_confidence: float) -> None:
    """Every row's metric means with bootstrap CIs and paired deltas with two-way t intervals, then the verdict
    and, for an open one, what keeps it open.

    Means: the same numbers as `stats.bootstrap_mean_ci` per metric, drawn once per cell and shape. Deltas:
    `stats.paired_delta_ci`, whose seed level takes a t quantile: a percentile bootstrap over 2-5 seeds is
    too narrow to decide on (tests/test_sequential_procedure.py).
    """
    by_shape: dict[tuple, list[tuple[MetricResult, np.ndarray]]] = defaultdict(list)
    for row, matrix, base in pending:
        for metric in METRICS:
            by_shape[matrix[metric].shape].append((row.metric(metric), matrix[metric]))
            result = row.metric(metric)
            result.delta, lo, hi = stats.paired_delta_ci(matrix[metric] - base[metric], cfg.confidence)
            result.delta_ci = Interval(lo, hi)
    for shape, jobs in by_shape.items():
        per_pass = max(1, _PASS_ELEMENTS // (shape[0] * shape[1]))  # bounds the stacked copy's memory
        for begin in range(0, len(jobs), per_pass):
            part = jobs[begin : begin + per_pass]
            results = stats.bootstrap_many([values for _, values in part], cfg.bootstrap_samples,
                                           cfg.bootstrap_seed, cfg.confidence)
            for (result, _), (mean, lo, hi) in zip(part, results, strict=True):
                result.mean, result.ci = mean, Interval(lo, hi)
    for row, matrix, base in pending:
        if row.verdict is None:
            metric = BY_NAME[row.headline_metric]
            row.verdict = stats.verdict(*metric.gain_bounds(row.headline.delta_ci.lo, row.headline.delta_ci.hi),
                                        cfg.margin)
            delta = matrix[metric.name] - base[metric.name]
            parts = stats.components(delta)
            row.noise_seed, row.noise_query, row.noise_residual = parts.seed, parts.query, parts.residual
            row.noise_queries = parts.queries
            row.query_half_width = parts.limit_half_width(limit_confidence)
            if row.verdict == "inconclusive":
                limit = sequential.seed_limited_or_query_limited(
                    [metric.gain(d) for d in delta.mean(axis=1)], row.query_half_width, cfg.margin, limit_confidence)
                row.limit, row.seeds_needed = limit.kind, limit.seeds_needed


def _time_to_target(runs: dict[int, Run], base_runs: dict[int, Run], curves: dict,
                    targets: dict[int, float]) -> tuple[str, float | None, float | None]:
    """MLPerf-style: seconds of training until the dev headline first reaches the seed's target.

    Returns (how many seeds reached it, e.g. "2/2" or "no curve"; mean seconds; reduction vs the baseline)."""
    reached, base_reached = {}, {}
    for seed, run in runs.items():
        if seed in targets:
            reached[seed] = stats.time_to_target([(p.seconds, p.headline) for p in curves.get(run.id, [])],
                                                 targets[seed])
            base_reached[seed] = stats.time_to_target(
                [(p.seconds, p.headline) for p in curves.get(base_runs[seed].id, [])], targets[seed])
    hit = [s for s in reached if reached[s] is not None]
    all_hit = bool(reached) and len(hit) == len(reached)
    seconds = _mean([reached[s] for s in hit]) if all_hit else None
    base = _mean([base_reached[s] for s in hit]) if all_hit else None
    return f"{len(hit)}/{len(reached)}" if reached else "no curve", seconds, stats.reduction(seconds, base)
