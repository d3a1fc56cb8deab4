"""The CI regression gate: `python -m bench check` compares a suite's latest runs with limits from bench.toml.

Limits come from `[check]` (global) and `[suites.NAME.check]`; each table may override them per strategy in
`strategies."<label or name>"`. Precedence, most specific last: global, global per strategy, suite, suite per
strategy. A limit left unset is a check that is off.

Checks, per leaderboard row (the newest completed run of each seed, paired with the baseline's):

* `min_time_reduction`: the leaderboard's time reduction vs the baseline (mean of the per-seed reductions,
  a point estimate) must be >= the limit. Wall-clock noise is real, so set it with margin.
* `max_relevance_loss`: loss = baseline - strategy on the headline metric. One seed: the point estimate must
  be <= the limit (a one-seed interval would ignore seed noise). Several seeds: the non-inferiority verdict,
  with this limit as the margin (not [stats].margin), must be `non-inferior`, i.e. the upper confidence bound
  of the loss must be < the limit; `inferior` and `inconclusive` both fail, because a gate should pass only
  what the data shows to be within the limit.
* with `--against FILE` (rows from `python -m bench export --format json`), matched by strategy label,
  task, model, data fraction and device: `max_slowdown` (1 - samples_per_second / reference's, a fraction)
  and `max_metric_drop` (reference - current, absolute, for every relevance metric).

The baseline is the reference of the first two checks, so only `--against` checks apply to it. A strategy
that does not train (zero-shot) gets no time check (it saves 100% by definition) and no relevance-loss check
unless a per-strategy entry sets `max_relevance_loss` for it explicitly: it is the relevance floor, a
reference point rather than a reduction. A configured strategy with no comparable result fails.

Exit codes: 0 all passed, 1 a check failed, 2 usage or config error (BenchError, e.g. a bad limit, an
unreadable --against file, a database file that does not exist), 3 nothing to check (the database holds no
completed runs of the suite that pair with a baseline run).
"""

from __future__ import annotations

import argparse
import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from bench.analysis import leaderboard
from bench.analysis.metrics import METRICS
from bench.config import CheckConfig, CheckThresholds, Config, SuiteConfig
from bench.errors import BenchError
from bench.results.store import Store

PASSED, FAILED, NOTHING = 0, 1, 3
MATCH_KEYS = ("strategy", "task", "model", "train_fraction", "device")


@dataclass
class Check:
    """One comparison: what was observed, what is allowed, and whether it passed."""

    strategy: str
    check: str
    observed: float | None
    allowed: float
    comparison: str
    passed: bool
    shown_observed: str
    shown_allowed: str
    metric: str = ""
    detail: str = ""
    task: str = ""
    model: str = ""


def _explicit(config: CheckConfig | None, label: str, name: str) -> CheckThresholds:
    """Only the per-strategy entry of one table (unset fields stay None)."""
    if config is None:
        return CheckThresholds()
    by_key = dict(config.strategies)
    return by_key.get(label) or by_key.get(name) or CheckThresholds()


def thresholds_for(config: Config, suite: SuiteConfig, label: str, name: str) -> tuple[CheckThresholds, set[str]]:
    """Merged limits for one strategy, and which of them a per-strategy entry set explicitly."""
    layers = [config.check.defaults, _explicit(config.check, label, name),
              suite.check.defaults if suite.check else CheckThresholds(), _explicit(suite.check, label, name)]
    merged: dict[str, float | None] = {f.name: None for f in fields(CheckThresholds)}
    explicit: set[str] = set()
    for index, layer in enumerate(layers):
        for key, value in asdict(layer).items():
            if value is not None:
                merged[key] = value
                if index in (1, 3):
                    explicit.add(key)
    return CheckThresholds(**merged), explicit


def _validate(config: Config, suite: SuiteConfig, labels: set[str]) -> None:
    """Limits in range, and per-strategy keys that name a strategy (a typo would silently check nothing)."""
    known = set(labels)
    for each in config.suites:
        known |= {s.label for s in each.strategies} | {s.name for s in each.strategies}
    tables = [("check", config.check, known)]
    if suite.check:
        tables.append((f"suites.{suite.name}.check", suite.check,
                       labels | {s.label for s in suite.strategies} | {s.name for s in suite.strategies}))
    for where, table, names in tables:
        entries = [(where, table.defaults)] + [(f'{where}.strategies."{k}"', v) for k, v in table.strategies]
        for key, _ in table.strategies:
            if key not in names:
                raise BenchError(f'{where}.strategies."{key}" names no strategy of this suite or database; '
                                 f"use a label or name from `python -m bench list`")
        for place, limits in entries:
            _check_range(place, limits)


def _check_range(where: str, limits: CheckThresholds) -> None:
    rules = {"min_time_reduction": (lambda v: v < 1, "below 1 (a fraction of the baseline's time)"),
             "max_relevance_loss": (lambda v: 0 <= v <= 1, "between 0 and 1 (absolute metric units)"),
             "max_slowdown": (lambda v: 0 <= v < 1, "between 0 and 1 (a fraction of the reference throughput)"),
             "max_metric_drop": (lambda v: 0 <= v <= 1, "between 0 and 1 (absolute metric units)")}
    for key, (ok, text) in rules.items():
        value = getattr(limits, key)
        if value is not None and not (math.isfinite(value) and ok(value)):
            raise BenchError(f"{where}.{key} = {value} must be {text}; fix it in bench.toml")


def load_reference(path: str) -> list[dict]:
    """Rows of an earlier `bench export --format json`; anything else is a one-line error."""
    file = Path(path)
    if not file.is_file():
        raise BenchError(f"--against file {path} not found; write one with "
                         "`python -m bench export --format json --out FILE`")
    try:
        rows = json.loads(file.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BenchError(f"--against file {path} is not JSON ({exc}); expected the output of "
                         "`python -m bench export --format json`") from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and isinstance(r.get("strategy"), str)
                                             for r in rows):
        raise BenchError(f"--against file {path} must be a JSON list of leaderboard rows with a 'strategy' "
                         "key each, as written by `python -m bench export --format json`")
    return rows


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b)
    return a == b


def match_reference(row: dict, reference: list[dict], suite: str, path: str) -> dict | None:
    """The reference row for `row`: same strategy label, and same task/model/fraction/device when recorded."""
    found = [r for r in reference if all(key not in r or _same(r[key], row[key]) for key in MATCH_KEYS)]
    if len(found) > 1:
        found = [r for r in found if r.get("suite") == suite] or found
    if len(found) > 1:
        raise BenchError(f"--against file {path} has {len(found)} rows for {row['strategy']!r} on "
                         f"{row['task']}/{row['model']}; export one suite per file (`--suite NAME`)")
    return found[0] if found else None


def _number(row: dict, key: str, path: str) -> float | None:
    if key not in row:
        raise BenchError(f"--against file {path}: the row for {row['strategy']!r} has no {key!r}; "
                         "export it again with `python -m bench export --format json`")
    value = row[key]
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BenchError(f"--against file {path}: {key!r} of {row['strategy']!r} must be a number, got {value!r}")
    return None if math.isnan(value) else float(value)


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _vs_baseline(row: dict, limits: CheckThresholds, explicit: set[str], confidence: float,
                 notes: list[str]) -> list[Check]:
    label = row["strategy"]
    if not row.get("samples_per_second"):  # zero-shot: no training steps were run
        if limits.max_relevance_loss is not None and "max_relevance_loss" in explicit:
            return [_relevance_loss(row, limits.max_relevance_loss, confidence)]
        if limits.min_time_reduction is not None or limits.max_relevance_loss is not None:
            notes.append(f"{label}: does not train, so no time check, and no relevance-loss check unless its "
                         "own strategies entry sets max_relevance_loss (it is a reference point, like the baseline)")
        return []
    out: list[Check] = []
    if limits.min_time_reduction is not None and row.get("time_reduction") is None:
        notes.append(f"{label}: no time reduction (the baseline did not train), so no time check")
    elif limits.min_time_reduction is not None:
        observed = row["time_reduction"]
        ci = row.get("time_reduction_ci")
        detail = f"{_pct(ci[0])} to {_pct(ci[1])} ({confidence:.0%} CI)" if ci else ""
        out.append(Check(label, "time reduction vs baseline", observed, limits.min_time_reduction, ">=",
                         observed >= limits.min_time_reduction, _pct(observed),
                         f">= {_pct(limits.min_time_reduction)}", detail=detail))
    if limits.max_relevance_loss is not None:
        out.append(_relevance_loss(row, limits.max_relevance_loss, confidence))
    return out


def _relevance_loss(row: dict, limit: float, confidence: float) -> Check:
    """Point estimate for one seed; the non-inferiority verdict (margin = limit) for several."""
    from bench.analysis.stats import verdict

    metric = row["headline_metric"]
    loss = -row[f"{metric}_delta"]
    lo, hi = row.get(f"{metric}_delta_ci") or (None, None)
    if row["runs"] < 2 or lo is None:
        return Check(row["strategy"], f"relevance loss ({metric})", loss, limit, "<=", loss <= limit,
                     f"{loss:+.4f}", f"<= {limit:.4f}", metric=metric, detail="one seed: point estimate")
    call = verdict(lo, hi, limit)
    upper = -lo
    return Check(row["strategy"], f"relevance loss ({metric})", upper, limit, "<", call == "non-inferior",
                 f"{upper:+.4f} ({confidence:.0%} upper bound; mean {loss:+.4f}; {call})", f"< {limit:.4f}",
                 metric=metric, detail=f"{row['runs']} seeds: non-inferiority at margin {limit}: {call}")


def _vs_reference(row: dict, ref: dict, limits: CheckThresholds, path: str, notes: list[str]) -> list[Check]:
    out: list[Check] = []
    label = row["strategy"]
    if ref.get("device_name") and row.get("device_name") and ref["device_name"] != row["device_name"]:
        notes.append(f"{label}: reference measured on {ref['device_name']}, this run on {row['device_name']}")
    if limits.max_slowdown is not None:
        current, before = row.get("samples_per_second"), _number(ref, "samples_per_second", path)
        if current and before:
            slowdown = 1 - current / before
            out.append(Check(label, "slowdown vs reference", slowdown, limits.max_slowdown, "<=",
                             slowdown <= limits.max_slowdown,
                             f"{_pct(slowdown)} ({current:.1f} vs {before:.1f} pairs/s)",
                             f"<= {_pct(limits.max_slowdown)}"))
        elif current or before:
            notes.append(f"{label}: no throughput on one side (reference {before}, now {current}); "
                         "slowdown not checked")
    if limits.max_metric_drop is not None:
        for metric in METRICS:
            current, before = row.get(metric), _number(ref, metric, path)
            if current is None or before is None:
                continue
            drop = before - current
            out.append(Check(label, f"{metric} drop vs reference", drop, limits.max_metric_drop, "<=",
                             drop <= limits.max_metric_drop + 1e-12,
                             f"{drop:+.4f} ({before:.4f} -> {current:.4f})", f"<= {limits.max_metric_drop:.4f}",
                             metric=metric))
    return out


def _excluded_notes(board: leaderboard.Leaderboard) -> list[str]:
    counts = Counter((e["strategy"], e["reason"]) for e in board.excluded)
    return [f"{label}: {count} run(s) not compared: {reason}" for (label, reason), count in sorted(counts.items())]


def evaluate(config: Config, suite: SuiteConfig, board: leaderboard.Leaderboard, reference: list[dict] | None,
             against: str = "") -> tuple[list[Check], list[str]]:
    """Every check for every row of the leaderboard, plus notes on what was not checked and why."""
    checks: list[Check] = []
    notes: list[str] = []
    cells = sorted({(row["task"], row["model"], row["train_fraction"], row["device"]) for row in board.rows},
                   key=str)
    active = ["min_time_reduction", "max_relevance_loss"]
    active += ["max_slowdown", "max_metric_drop"] if reference is not None else []
    configured = compared = False
    for row in board.rows:
        limits, explicit = thresholds_for(config, suite, row["strategy"], row["name"])
        configured |= any(getattr(limits, key) is not None for key in active)
        compared |= limits.max_slowdown is not None or limits.max_metric_drop is not None
        found: list[Check] = []
        if row["verdict"] != "baseline":
            found += _vs_baseline(row, limits, explicit, config.stats.confidence, notes)
        if reference is not None:
            ref = match_reference(row, reference, suite.name, against)
            if ref is None:
                notes.append(f"{row['strategy']}: no row in {against} to compare with")
            else:
                found += _vs_reference(row, ref, limits, against, notes)
        for check in found:
            check.task, check.model = row["task"], row["model"]
            if len(cells) > 1:
                check.strategy += f" [{row['model']}, data {row['train_fraction']:g}, {row['device']}]"
        checks += found
    if not configured:
        hint = " (max_slowdown and max_metric_drop need --against FILE)" if reference is None else ""
        raise BenchError(f"no check is configured for suite {suite.name!r}{hint}; set limits in [check] or "
                         f"[suites.{suite.name}.check] of {config.source}")
    if reference is not None and not compared:
        raise BenchError(f"--against {against} was given but neither max_slowdown nor max_metric_drop is set for "
                         f"suite {suite.name!r}; set them in [check] or [suites.{suite.name}.check]")
    for task, model, fraction, device in cells:
        present = {row["strategy"] for row in board.rows if (row["task"], row["model"], row["train_fraction"],
                                                                row["device"]) == (task, model, fraction, device)}
        for spec in suite.strategies:
            if spec.label not in present:
                name = spec.label + (f" [{model}, data {fraction:g}, {device}]" if len(cells) > 1 else "")
                checks.append(Check(name, "has a result", None, 1, "==", False, "no comparable completed run",
                                    "a completed run", task=task, model=model))
    if reference is not None and not any(match_reference(row, reference, suite.name, against)
                                         for row in board.rows):
        raise BenchError(f"--against file {against} has no row for any strategy of suite {suite.name!r} "
                         "(matched on strategy, task, model, data fraction and device)")
    return checks, notes + _excluded_notes(board)


def _render_text(checks: list[Check], notes: list[str], title: str) -> str:
    headers = ("strategy", "check", "observed", "allowed", "result")
    cells = [(c.strategy, c.check, c.shown_observed, c.shown_allowed, "pass" if c.passed else "FAIL")
             for c in checks]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    lines = [title, "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    failed = [c for c in checks if not c.passed]
    if failed:
        lines += ["", f"{len(failed)} of {len(checks)} checks FAILED:"]
        lines += [f"  {c.strategy}: {c.check}: observed {c.shown_observed}, allowed {c.shown_allowed}"
                  for c in failed]
    else:
        lines += ["", f"all {len(checks)} checks passed"]
    return "\n".join(lines + [f"note: {n}" for n in notes])


def _render_markdown(checks: list[Check], notes: list[str], title: str) -> str:
    failed = sum(not c.passed for c in checks)
    status = f"**FAILED**: {failed} of {len(checks)} checks" if failed else f"**passed**: all {len(checks)} checks"
    lines = [f"### {title}", "", status, "", "| strategy | check | observed | allowed | result |",
             "|---|---|---|---|---|"]
    for c in sorted(checks, key=lambda c: c.passed):  # failures first: what a reviewer needs to see
        cells = (c.strategy, c.check, c.shown_observed, c.shown_allowed, "pass" if c.passed else "**FAIL**")
        lines.append("| " + " | ".join(v.replace("|", "\\|") for v in cells) + " |")
    if notes:
        lines += ["", *[f"- {n}" for n in notes]]
    return "\n".join(lines)


def _render(fmt: str, checks: list[Check], notes: list[str], title: str, code: int, meta: dict) -> str:
    if fmt == "json":
        return json.dumps({**meta, "exit_code": code, "passed": code == PASSED, "checks": [asdict(c) for c in checks],
                           "notes": notes}, indent=2)
    if code == NOTHING:
        text = " ".join(notes)
        return f"### {title}\n\n{text}" if fmt == "markdown" else f"{title}\n{text}"
    return (_render_markdown if fmt == "markdown" else _render_text)(checks, notes, title)


def run_check(config: Config, args: argparse.Namespace) -> int:
    """Gate the suite's latest results; prints the checks and returns 0 (pass), 1 (regression) or 3 (empty)."""
    suite = config.suite(args.suite)
    reference = load_reference(args.against) if args.against else None
    db = args.db or config.db
    store = Store(db, read_only=True)
    board = leaderboard.build(store, config.stats, suite.baseline, suite=suite.name)
    _validate(config, suite, {row["strategy"] for row in board.rows} | {row["name"] for row in board.rows})
    title = f"bench check: suite {suite.name!r}" + (f" against {args.against}" if args.against else "")
    meta = {"suite": suite.name, "db": db, "against": args.against}
    if not board.rows:
        notes = [f"nothing to check: {db} holds no completed runs of suite {suite.name!r} comparable with a "
                 f"{suite.baseline!r} run; run `python -m bench run --suite {suite.name}` first",
                 *_excluded_notes(board)]
        print(_render(args.format, [], notes, title, NOTHING, meta))
        return NOTHING
    checks, notes = evaluate(config, suite, board, reference, args.against or "")
    code = FAILED if any(not c.passed for c in checks) else PASSED
    print(_render(args.format, checks, notes, title, code, meta))
    return code
