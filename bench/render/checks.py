"""Render the gate's checks as text (logs), markdown (CI job summaries, failures first) or JSON (machines).

The rules (bench.analysis.gate) return numbers; the words and number formats a reader sees are chosen here.
"""

from __future__ import annotations

import json
from typing import Any

from bench.analysis.gate import (
    ENERGY_REDUCTION,
    HAS_RESULT,
    METRIC_DROP,
    NOTHING,
    PASSED,
    SLOWDOWN,
    TIME_REDUCTION,
    TRAINING_LESS,
    Check,
)
from bench.render.grid import markdown_table, text_table

HEADERS = ("strategy", "check", "observed", "allowed", "result")


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def shown(check: Check) -> tuple[str, str]:
    """The observed and allowed cells: fractions as percentages, metric units to four places, with the values
    the observation came from."""
    if check.rule == HAS_RESULT:
        return "no comparable completed run", "a completed run"
    if check.rule == TRAINING_LESS and check.observed is None:
        return "no equal-time control", "better than training less"
    if check.rule in (TIME_REDUCTION, SLOWDOWN, ENERGY_REDUCTION):
        observed, allowed = _pct(check.observed), _pct(check.allowed)
    else:
        observed, allowed = f"{check.observed:+.4f}", f"{check.allowed:.4f}"
    if check.rule == SLOWDOWN:
        observed += f" ({check.current:.1f} vs {check.reference:.1f} pairs/s)"
    elif check.rule == METRIC_DROP:
        observed += f" ({check.reference:.4f} -> {check.current:.4f})"
    elif check.rule == TRAINING_LESS:
        observed += f" ({check.confidence:.0%} lower bound vs its equal-time control; mean {check.estimate:+.4f}; " \
            f"{check.verdict})"
    elif check.estimate is not None:
        observed += f" ({check.confidence:.0%} upper bound; mean {check.estimate:+.4f}; {check.verdict})"
    return observed, f"{check.comparison} {allowed}"


def _record(check: Check) -> dict[str, Any]:
    """A check in the JSON report (the keys `python -m bench check --format json` has always written)."""
    observed, allowed = shown(check)
    return {"strategy": check.strategy, "check": check.check, "observed": check.observed, "allowed": check.allowed,
            "comparison": check.comparison, "passed": check.passed, "shown_observed": observed,
            "shown_allowed": allowed, "metric": check.metric, "detail": check.detail, "task": check.task,
            "model": check.model}


def _cells(check: Check, fail: str) -> list[str]:
    return [check.strategy, check.check, *shown(check), "pass" if check.passed else fail]


def _text(checks: list[Check], notes: list[str], title: str) -> str:
    lines = [title, text_table(HEADERS, [_cells(c, "FAIL") for c in checks])]
    failed = [c for c in checks if not c.passed]
    if failed:
        lines += ["", f"{len(failed)} of {len(checks)} checks FAILED:"]
        lines += ["  {}: {}: observed {}, allowed {}".format(c.strategy, c.check, *shown(c)) for c in failed]
    else:
        lines += ["", f"all {len(checks)} checks passed"]
    return "\n".join(lines + [f"note: {n}" for n in notes])


def _markdown(checks: list[Check], notes: list[str], title: str) -> str:
    failed = sum(not c.passed for c in checks)
    status = f"**FAILED**: {failed} of {len(checks)} checks" if failed else f"**passed**: all {len(checks)} checks"
    ordered = sorted(checks, key=lambda c: c.passed)  # failures first: what a reviewer needs to see
    lines = [f"### {title}", "", status, "", markdown_table(HEADERS, [_cells(c, "**FAIL**") for c in ordered])]
    if notes:
        lines += ["", *[f"- {n}" for n in notes]]
    return "\n".join(lines)


def render(fmt: str, checks: list[Check], notes: list[str], title: str, code: int, meta: dict[str, Any]) -> str:
    """The gate's report in `fmt` (text, markdown or json); `code` is the outcome (gate.PASSED, ...)."""
    if fmt == "json":
        return json.dumps({**meta, "exit_code": code, "passed": code == PASSED, "checks": [_record(c) for c in checks],
                           "notes": notes}, indent=2)
    if code == NOTHING:
        text = " ".join(notes)
        return f"### {title}\n\n{text}" if fmt == "markdown" else f"{title}\n{text}"
    return (_markdown if fmt == "markdown" else _text)(checks, notes, title)
