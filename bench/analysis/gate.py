"""The CI regression gate's rules: a suite's leaderboard rows against limits from bench.toml, as numbers.

The rules return `Check` records (observed and allowed values, passed or not) and notes; `bench.render.checks`
turns them into text, markdown or JSON, and `python -m bench check` (bench.cli.cmd_check) loads the inputs,
prints the result and exits with its code.

Limits come from `[check]` (global) and `[suites.NAME.check]`; each table may override them per strategy in
`strategies."<label or name>"`. Precedence, most specific last: global, global per strategy, suite, suite per
strategy. A limit left unset is a check that is off.

Checks, per leaderboard row (the newest completed run of each seed, paired with the baseline's):

* `min_time_reduction`: the leaderboard's time reduction vs the baseline (a point estimate) must be >= the
  limit: the robust one from paired per-step times, bursts of background load trimmed, where both sides have
  step times, else the wall-clock one (mean of the per-seed reductions); the check's detail says which. Noise
  is real, so set it with margin.
* `min_energy_reduction`: the paired energy reduction vs the baseline (1 - joules / baseline joules, mean over
  seeds) must be >= the limit; only where both sides measured energy from the same source (a counter, or the
  estimate on both sides), else no check and a note.
* `max_relevance_loss`: loss = baseline - strategy on the headline metric. One seed: the point estimate must
  be <= the limit (a one-seed interval would ignore seed noise). Several seeds: the non-inferiority verdict,
  with this limit as the margin (not [stats].margin), must be `non-inferior`, i.e. the upper confidence bound
  of the loss must be < the limit; `inferior` and `inconclusive` both fail, because a gate should pass only
  what the data shows to be within the limit.
* `require_better_than_training_less`: the strategy's second verdict, vs its equal-time control (the baseline cut
  to the same training time; bench.analysis.equal_time), must be `better than training less`; a row with no
  control fails, saying which control to add. Controls and ladder rungs themselves are not checked.
* with `--against FILE` (rows from `python -m bench export --format json`), matched by strategy label,
  task, model, data fraction and device: `max_slowdown` (1 - samples_per_second / reference's, a fraction)
  and `max_metric_drop` (reference - current, absolute, for every relevance metric).

The baseline is the reference of the first two checks, so only `--against` checks apply to it. A strategy
that does not train (zero-shot) gets no time check (it saves 100% by definition) and no relevance-loss check
unless a per-strategy entry sets `max_relevance_loss` for it explicitly: it is the relevance floor, a
reference point rather than a reduction. A configured strategy with no comparable result fails.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from bench.analysis import equal_time, stats
from bench.analysis.leaderboard import Leaderboard
from bench.analysis.rows import Row, bounds
from bench.config import CheckConfig, CheckThresholds, Config, SuiteConfig
from bench.errors import BenchError
from bench.metrics import BY_NAME, METRICS

PASSED, FAILED, NOTHING = 0, 1, 3  # the gate's outcomes; `python -m bench check` exits with them
MATCH_KEYS = ("strategy", "task", "model", "train_fraction", "device")  # Row fields a reference row must share
# Which rule made a check (`Check.rule`): the renderer words and formats each kind its own way.
TIME_REDUCTION, RELEVANCE_LOSS, SLOWDOWN, METRIC_DROP, HAS_RESULT, ENERGY_REDUCTION, TRAINING_LESS = (
    "time_reduction", "relevance_loss", "slowdown", "metric_drop", "has_result", "energy_reduction", "training_less")


@dataclass
class Check:
    """One comparison in numbers: what was observed, what is allowed, and whether it passed.

    `observed` and `allowed` are fractions for time reduction and slowdown, absolute metric units otherwise;
    the fields after `rule` are the values behind `observed`, kept so that a report can show them."""

    strategy: str
    check: str
    observed: float | None
    allowed: float
    comparison: str
    passed: bool
    metric: str = ""
    detail: str = ""
    task: str = ""
    model: str = ""
    rule: str = ""
    current: float | None = None  # slowdown and metric drop: this run's throughput or metric ...
    reference: float | None = None  # ... and the --against file's
    estimate: float | None = None  # relevance loss over seeds: the mean loss (observed is its upper bound)
    confidence: float | None = None
    verdict: str = ""


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


def validate(config: Config, suite: SuiteConfig, labels: set[str]) -> None:
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
             "min_energy_reduction": (lambda v: v < 1, "below 1 (a fraction of the baseline's energy)"),
             "max_relevance_loss": (lambda v: 0 <= v <= 1, "between 0 and 1 (absolute metric units)"),
             "max_slowdown": (lambda v: 0 <= v < 1, "between 0 and 1 (a fraction of the reference throughput)"),
             "max_metric_drop": (lambda v: 0 <= v <= 1, "between 0 and 1 (absolute metric units)")}
    for key, (ok, text) in rules.items():
        value = getattr(limits, key)
        if value is not None and not (math.isfinite(value) and ok(value)):
            raise BenchError(f"{where}.{key} = {value} must be {text}; fix it in bench.toml")


def load_reference(path: str) -> list[Row]:
    """Rows of an earlier `bench export --format json`, typed; anything else is a one-line error.

    A key a row lacks is not an error here: a check that needs it names it (`_number`)."""
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
    return [Row.from_json(row) for row in rows]


def _same(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b)
    return a == b


def match_reference(row: Row, reference: list[Row], suite: str, path: str) -> Row | None:
    """The reference row for `row`: same strategy label, and same task/model/fraction/device when recorded."""
    found = [ref for ref in reference
             if all(key in ref.missing or _same(getattr(ref, key), getattr(row, key)) for key in MATCH_KEYS)]
    if len(found) > 1:
        found = [ref for ref in found if ref.suite == suite] or found
    if len(found) > 1:
        raise BenchError(f"--against file {path} has {len(found)} rows for {row.strategy!r} on "
                         f"{row.task}/{row.model}; export one suite per file (`--suite NAME`)")
    return found[0] if found else None


def _number(ref: Row, key: str, value: object, path: str) -> float | None:
    """`value` (the reference's `key`) as a float, None where it is null; a missing key or a non-number is an
    error that says which row and key."""
    if key in ref.missing:
        raise BenchError(f"--against file {path}: the row for {ref.strategy!r} has no {key!r}; "
                         "export it again with `python -m bench export --format json`")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BenchError(f"--against file {path}: {key!r} of {ref.strategy!r} must be a number, got {value!r}")
    return None if math.isnan(value) else float(value)


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _vs_baseline(row: Row, limits: CheckThresholds, explicit: set[str], confidence: float,
                 notes: list[str]) -> list[Check]:
    label = row.strategy
    if not row.samples_per_second:  # zero-shot: no training steps were run
        if limits.max_relevance_loss is not None and "max_relevance_loss" in explicit:
            return [_relevance_loss(row, limits.max_relevance_loss, confidence)]
        if any(v is not None for v in (limits.min_time_reduction, limits.min_energy_reduction,
                                        limits.max_relevance_loss, limits.require_better_than_training_less)):
            notes.append(f"{label}: does not train, so no time check, and no relevance-loss check unless its "
                         "own strategies entry sets max_relevance_loss (it is a reference point, like the baseline)")
        return []
    out: list[Check] = []
    observed, ci, robust = row.headline_time_reduction
    if limits.min_time_reduction is not None and observed is None:
        notes.append(f"{label}: no time reduction (the baseline did not train), so no time check")
    elif limits.min_time_reduction is not None:
        detail = ("robust, from paired step times" if robust else "wall-clock (no step times)") + (
            f": {_pct(ci.lo)} to {_pct(ci.hi)} ({confidence:.0%} CI)" if ci else "")
        out.append(Check(label, "time reduction vs baseline", observed, limits.min_time_reduction, ">=",
                         observed >= limits.min_time_reduction, detail=detail, rule=TIME_REDUCTION))
    if limits.min_energy_reduction is not None:
        out += _energy_reduction(row, limits.min_energy_reduction, confidence, notes)
    if limits.max_relevance_loss is not None:
        out.append(_relevance_loss(row, limits.max_relevance_loss, confidence))
    if limits.require_better_than_training_less and not equal_time.is_equal_time(row):
        out.append(_training_less(row, confidence))
    return out


def _training_less(row: Row, confidence: float) -> Check:
    """The second verdict must be `better than training less`: the interval vs the equal-time control above 0."""
    name = f"better than training less ({row.headline_metric})"
    if row.equal_time_verdict is None:
        return Check(row.strategy, name, None, 0.0, ">", False, metric=row.headline_metric, rule=TRAINING_LESS,
                     detail=f"no equal-time control ran: add equal-time(matches={row.strategy}) to the suite")
    return Check(row.strategy, name, row.equal_time_low, 0.0, ">", row.equal_time_verdict == equal_time.BETTER,
                 metric=row.headline_metric, rule=TRAINING_LESS, estimate=row.equal_time_delta,
                 confidence=confidence, verdict=row.equal_time_verdict,
                 detail=f"vs its equal-time control ({confidence:.0%} lower bound): {row.equal_time_verdict}")


def _energy_reduction(row: Row, limit: float, confidence: float, notes: list[str]) -> list[Check]:
    """The paired energy reduction (a point estimate) against the limit; none, with a note, where the strategy or
    its baseline has no energy or the two come from different sources (a counter and an estimate)."""
    if row.energy_reduction is None:
        notes.append(f"{row.strategy}: no energy reduction (energy not measured, or measured differently from the "
                     "baseline's), so no energy check")
        return []
    ci = row.energy_reduction_ci
    detail = f"{row.energy_source}" + (f": {_pct(ci.lo)} to {_pct(ci.hi)} ({confidence:.0%} CI)" if ci else "")
    return [Check(row.strategy, "energy reduction vs baseline", row.energy_reduction, limit, ">=",
                  row.energy_reduction >= limit, detail=detail, rule=ENERGY_REDUCTION)]


def _relevance_loss(row: Row, limit: float, confidence: float) -> Check:
    """Point estimate for one seed; the non-inferiority verdict (margin = limit) for several."""
    metric = row.headline_metric
    direction = BY_NAME[metric]
    loss = -direction.gain(row.headline.delta)
    lo, hi = bounds(row.headline.delta_ci)
    name = f"relevance loss ({metric})"
    if lo is not None:
        lo, hi = direction.gain_bounds(lo, hi)
    if row.runs < 2 or lo is None:
        return Check(row.strategy, name, loss, limit, "<=", loss <= limit, metric=metric,
                     detail="one seed: point estimate", rule=RELEVANCE_LOSS)
    call = stats.verdict(lo, hi, limit)
    return Check(row.strategy, name, -lo, limit, "<", call == "non-inferior", metric=metric,
                 detail=f"{row.runs} seeds: non-inferiority at margin {limit}: {call}", rule=RELEVANCE_LOSS,
                 estimate=loss, confidence=confidence, verdict=call)


def _vs_reference(row: Row, ref: Row, limits: CheckThresholds, path: str, notes: list[str]) -> list[Check]:
    out: list[Check] = []
    label = row.strategy
    if ref.device_name and row.device_name and ref.device_name != row.device_name:
        notes.append(f"{label}: reference measured on {ref.device_name}, this run on {row.device_name}")
    if limits.max_slowdown is not None:
        current, before = row.samples_per_second, _number(ref, "samples_per_second", ref.samples_per_second, path)
        if current and before:
            slowdown = 1 - current / before
            out.append(Check(label, "slowdown vs reference", slowdown, limits.max_slowdown, "<=",
                             slowdown <= limits.max_slowdown, rule=SLOWDOWN, current=current, reference=before))
        elif current or before:
            notes.append(f"{label}: no throughput on one side (reference {before}, now {current}); "
                         "slowdown not checked")
    if limits.max_metric_drop is not None:
        for metric in METRICS:
            current, before = row.metric(metric).mean, _number(ref, metric, ref.metric(metric).mean, path)
            if current is None or before is None:
                continue
            drop = BY_NAME[metric].gain(before - current)  # a loss in the metric's better direction
            out.append(Check(label, f"{metric} drop vs reference", drop, limits.max_metric_drop, "<=",
                             drop <= limits.max_metric_drop + 1e-12, metric=metric, rule=METRIC_DROP,
                             current=current, reference=before))
    return out


def excluded_notes(board: Leaderboard) -> list[str]:
    states = Counter(u.state for u in board.unfinished)
    unfinished = [f"{count} {state} run(s) not counted" for state, count in sorted(states.items())]
    counts = Counter((e.strategy, e.reason) for e in board.excluded)
    return unfinished + [f"{label}: {count} run(s) not compared: {reason}"
                         for (label, reason), count in sorted(counts.items())]


def _cell(row: Row) -> tuple:
    return row.task, row.model, row.train_fraction, row.device


def evaluate(config: Config, suite: SuiteConfig, board: Leaderboard, reference: list[Row] | None,
             against: str = "") -> tuple[list[Check], list[str]]:
    """Every check for every row of the leaderboard, plus notes on what was not checked and why."""
    checks: list[Check] = []
    notes: list[str] = []
    cells = sorted({_cell(row) for row in board.rows}, key=str)
    active = ["min_time_reduction", "min_energy_reduction", "max_relevance_loss", "require_better_than_training_less"]
    active += ["max_slowdown", "max_metric_drop"] if reference is not None else []
    configured = compared = False
    for row in board.rows:
        limits, explicit = thresholds_for(config, suite, row.strategy, row.name)
        configured |= any(getattr(limits, key) is not None and getattr(limits, key) is not False for key in active)
        compared |= limits.max_slowdown is not None or limits.max_metric_drop is not None
        found: list[Check] = []
        if row.verdict != "baseline":
            found += _vs_baseline(row, limits, explicit, config.stats.confidence, notes)
        if reference is not None:
            ref = match_reference(row, reference, suite.name, against)
            if ref is None:
                notes.append(f"{row.strategy}: no row in {against} to compare with")
            else:
                found += _vs_reference(row, ref, limits, against, notes)
        for check in found:
            check.task, check.model = row.task, row.model
            if len(cells) > 1:
                check.strategy += f" [{row.model}, data {row.train_fraction:g}, {row.device}]"
        checks += found
    if not configured:
        hint = " (max_slowdown and max_metric_drop need --against FILE)" if reference is None else ""
        raise BenchError(f"no check is configured for suite {suite.name!r}{hint}; set limits in [check] or "
                         f"[suites.{suite.name}.check] of {config.source}")
    if reference is not None and not compared:
        raise BenchError(f"--against {against} was given but neither max_slowdown nor max_metric_drop is set for "
                         f"suite {suite.name!r}; set them in [check] or [suites.{suite.name}.check]")
    for task, model, fraction, device in cells:
        present = {row.strategy for row in board.rows if _cell(row) == (task, model, fraction, device)}
        for spec in suite.strategies:
            if spec.label not in present:
                name = spec.label + (f" [{model}, data {fraction:g}, {device}]" if len(cells) > 1 else "")
                checks.append(Check(name, "has a result", None, 1, "==", False, task=task, model=model,
                                    rule=HAS_RESULT))
    if reference is not None and not any(match_reference(row, reference, suite.name, against)
                                         for row in board.rows):
        raise BenchError(f"--against file {against} has no row for any strategy of suite {suite.name!r} "
                         "(matched on strategy, task, model, data fraction and device)")
    return checks, notes + excluded_notes(board)
