"""Render a leaderboard as a terminal table, markdown, CSV or JSON (the last two from `Row.to_json`, the
export's format)."""

from __future__ import annotations

import csv
import io
import json
import math

from bench.analysis.leaderboard import Leaderboard
from bench.analysis.rows import Interval, Row
from bench.metrics import METRICS, label
from bench.render import ablations, training_less
from bench.render.grid import markdown_table, text_table
from bench.results import columns as result_columns

FORMATS = ("table", "markdown", "csv", "json")


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value * 100:+.1f}%" if signed else f"{value * 100:.1f}%"


def _ci(interval: Interval | None, signed: bool = False) -> str:
    if interval is None or interval.lo is None:
        return ""
    return f" [{_pct(interval.lo, signed)}, {_pct(interval.hi, signed)}]"


def _num(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


# The table's columns in order; a catalogue column with a table heading that this does not name comes last.
_LAYOUT = ("strategy", "seeds", "train s", "time red.", "wall red.", "device-h", "energy", "energy red.",
           *(label(metric) for metric in METRICS), "verdict", training_less.COLUMN, "to target", "speedup/ideal",
           "trainable", "layers")
_TABLE_COLUMNS = tuple(column for column in result_columns.ON_ROW if column.table)


def display_rows(board: Leaderboard) -> list[dict[str, str]]:
    """Human-readable cells, one dict per strategy row: the catalogue's columns as it formats them (energy with
    its source), then the comparison's own cells."""
    out = []
    controls = training_less.shown(board)
    for row in board.rows:
        reduction, interval, robust = row.headline_time_reduction
        cells = {column.table: column.show(getattr(row, column.name)) for column in _TABLE_COLUMNS}
        cells.update({"strategy": row.strategy, "seeds": str(row.runs),
                      "time red.": _pct(reduction) + _ci(interval) + ("" if robust or reduction is None else " (wall)"),
                      "wall red.": _pct(row.time_reduction), "energy": joules(row.energy_joules, row.energy_source),
                      "energy red.": _pct(row.energy_reduction) + _ci(row.energy_reduction_ci)})
        for metric, result in row.metrics.items():
            cells[label(metric)] = _num(result.mean)
            if row.verdict != "baseline":
                cells[label(metric)] += f" ({'+' if result.delta >= 0 else ''}{result.delta:.3f})"
        cells["verdict"] = row.verdict + _limit(row)
        if controls:
            cells[training_less.COLUMN] = training_less.cell(row)
        cells["to target"] = _time_target(row)
        cells["speedup/ideal"] = (f"{row.measured_speedup:.2f}/{row.ideal_speedup:.2f}"
                                  if row.measured_speedup and row.ideal_speedup else "-")
        out.append(result_columns.arrange(cells, _LAYOUT))
    return out


def joules(value: float | None, source: str | None) -> str:
    """Energy with its source: `138 J ctr` (a hardware counter), `1.2 kJ est` (the CPU-time estimate)."""
    if value is None:
        return "not measured"
    tag = {"counter": "ctr", "estimated": "est"}.get(source or "", source or "?")
    return f"{value:.0f} J {tag}" if value < 1000 else f"{value / 1000:.1f} kJ {tag}"


def energy_lines(board: Leaderboard) -> list[str]:
    """How the energy column was measured: said once per source the report holds."""
    sources = {row.energy_source for row in board.rows}
    lines = []
    if "counter" in sources:
        lines.append("energy ctr: a hardware counter (NVML on a GPU, RAPL on a CPU) read at the start and end of the "
                     "training region, dev evaluations left out.")
    if "estimated" in sources:
        lines.append("energy est: ESTIMATED, not measured: no energy counter was readable, so CPU time x watts per "
                     "core (bench.toml [energy]); never compared with a counter's figure.")
    return lines


def _limit(row: Row) -> str:
    """What keeps an open verdict open: the test set (more seeds cannot help) or the seeds (about how many)."""
    if row.limit == "query":
        return " (query-limited)"
    if row.limit == "seed":
        return f" (seeds: ~{row.seeds_needed})" if row.seeds_needed else " (seed-limited)"
    return ""


def _time_target(row: Row) -> str:
    if row.time_to_target_seconds is None:
        return f"never ({row.target_reached})" if row.target_reached != "no curve" else "-"
    return f"{row.time_to_target_seconds:.1f}s"


def _groups(board: Leaderboard) -> list[tuple[str, list[int]]]:
    groups: dict[str, list[int]] = {}
    for index, row in enumerate(board.rows):
        devices = f" x{row.devices} ranks" if row.devices and row.devices > 1 else ""
        title = (f"suite {row.suite} | task {row.task} | model {row.model} | data {_data(row)} | "
                 f"{row.device}{devices} | headline {row.headline_metric} | {_test_pairs(row)}")
        groups.setdefault(title, []).append(index)
    return list(groups.items())


def _data(row: Row) -> str:
    return f"{row.train_fraction:g}" + (f" ({row.train_pairs:,} pairs)" if row.train_pairs else "")


def _test_pairs(row: Row) -> str:
    """Both test sets: the intent metrics count every pair whose intent is on the whitelist, the exact-match
    metrics only those whose reply is (runs stored before the two were told apart have one count)."""
    left_out = f"{row.test_left_out:,} left out" if row.test_left_out is not None else "left out unknown"
    if row.intent_pairs is None or row.exact_pairs is None or row.intent_pairs == row.exact_pairs:
        return f"test pairs {row.test_pairs} ({left_out})"
    return f"test pairs: intent {row.intent_pairs:,}, exact {row.exact_pairs:,} ({left_out})"


def regime_line(rows: list[Row]) -> str:
    """Which regime the comparison ran in: a trick's relevance cost depends on how much it trains (the study's
    claim is about large-data fine-tuning), so the report says it next to every table."""
    steps = max((row.steps or 0) for row in rows)
    pairs = next((row.train_pairs for row in rows if row.train_pairs), None)
    if not steps or not pairs:
        return ""
    return (f"regime: {pairs:,} training pairs, {steps:,} steps a run; verdicts hold for this much training "
            "(a data-size ablation, `train_sizes` in a suite, shows how they move with more)")


def _excluded(board: Leaderboard) -> list[str]:
    return ([f"excluded run {e.run_id[:8]} ({e.strategy}, seed {e.seed}): {e.reason}" for e in board.excluded]
            + unfinished_lines(board))


def unfinished_lines(board: Leaderboard) -> list[str]:
    """Runs that are not results, one line each: a reader sees what is still running, abandoned or failed."""
    return [f"{u.state} run {u.run_id[:8]} ({u.strategy}, seed {u.seed}, {u.where}), not a result"
            + (f": {u.error.splitlines()[0]}" if u.error else "") for u in board.unfinished]


def _export(rows: list[dict], fmt: str) -> str:
    """JSON or CSV of export rows; in CSV a list or dict cell is written as JSON."""
    if fmt == "json":
        return json.dumps(rows, indent=2, default=str)
    buffer = io.StringIO()
    if rows:
        flat = [{k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in row.items()} for row in rows]
        writer = csv.DictWriter(buffer, fieldnames=list(flat[0]))
        writer.writeheader()
        writer.writerows(flat)
    return buffer.getvalue()


def scaling_lines(board: Leaderboard) -> list[str]:
    """Speedup over one rank and scaling efficiency, per strategy and rank count."""
    return [f"scaling: {s.strategy} on {s.devices} ranks: {s.seconds:.1f} s vs {s.one_device_seconds:.1f} s on 1 "
            f"({s.seeds} seeds), speedup {s.speedup:.2f}x, efficiency {s.efficiency:.0%}" for s in board.scaling]


def _peak_lines(board: Leaderboard) -> list[str]:
    """The baseline's achieved FLOP/s against this machine's measured matmul peak: the loop's physical limit."""
    return [f"{row.strategy} ({row.suite}, {row.device_name}): {row.achieved_flops / 1e9:.1f} GFLOP/s of training "
            f"work, {row.peak_share:.0%} of this machine's measured dense-matmul peak ({row.peak_flops / 1e9:.1f} "
            "GFLOP/s)" for row in board.rows if row.verdict == "baseline" and row.peak_share is not None]


def render(board: Leaderboard, fmt: str) -> str:
    if fmt in ("json", "csv"):
        return _export([row.to_json() for row in board.rows], fmt)
    if not board.rows:
        return "\n".join(["no completed runs to compare; run `python -m bench run` first", *_excluded(board)])
    cells = display_rows(board)
    table = markdown_table if fmt == "markdown" else text_table
    parts = []
    for title, indexes in _groups(board):
        parts.append(f"### {title}" if fmt == "markdown" else title)
        parts.append(table(list(cells[0]), [list(cells[i].values()) for i in indexes]))
        regime = regime_line([board.rows[i] for i in indexes])
        parts += [regime, ""] if regime else [""]
    notes = ["Metric cells: mean over seeds (difference vs baseline). Intervals are 95% CIs; "
             "verdict = non-inferiority of the headline metric at the configured margin.",
             "time red.: training time saved vs the baseline from paired per-step times, bursts of background "
             "load trimmed; (wall) where a run has no step times. wall red.: 1 - t/t_base, mean over seeds.",
             "An open verdict says what would settle it: (seeds: ~N) about N seeds in all; (query-limited) the test "
             "set's own noise reaches the margin, so more test pairs or a wider margin, not more seeds.",
             "speedup/ideal: measured speedup (baseline seconds / seconds, mean over seeds) / ideal speedup, the "
             "work each step did priced at this machine's measured step prices (the FLOP model's where a run has "
             "none: `flop_ideal_speedup` in the JSON)."]
    for title, ablation in (("By training-set size", ablations.data_size(board, fmt)),
                            ("By pre-trained model", ablations.by_model(board, fmt))):
        if ablation:
            parts += [f"### {title}" if fmt == "markdown" else f"{title}:", ablation, ""]
    if training_less.shown(board):
        notes.append(f"{training_less.COLUMN}: the headline difference from the strategy's equal-time control (the "
                     "baseline cut to the same training time, same seeds): better than training less (interval above "
                     "0), no better (within the margin), worse (below 0), else undecided.")
    notes += training_less.time_lines(board) + energy_lines(board) + _peak_lines(board) + scaling_lines(board)
    parts += training_less.recommendation_lines(board) + [""]
    return "\n".join(parts + notes + _excluded(board))
