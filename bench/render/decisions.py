"""The until-decided table: which strategies settled after how many seeds, and why the others stayed open."""

from __future__ import annotations

from bench.analysis.sequential import Decision
from bench.render.grid import text_table

HEADERS = ["strategy", "verdict", "seeds", "interval level", "delta [interval]", "why open"]
SECOND = "vs training less"


def why_open(decision: Decision, max_seeds: int) -> str:
    if decision.decided:
        return ""
    if decision.headline_decided:
        return f"better than training less still undecided (max_seeds {max_seeds})"
    if decision.limit == "query":
        return "query-limited: the test set's noise alone reaches the margin (more test pairs or a wider margin)"
    if decision.limit == "seed":
        needed = f"~{decision.seeds_needed} seeds" if decision.seeds_needed else "more seeds"
        return f"seed-limited: {needed} would settle it (max_seeds {max_seeds})"
    return "no interval"


def _second(d: Decision) -> str:
    """The equal-time verdict with its difference (higher is better) and interval; '-' with no control."""
    if d.equal_time_verdict is None:
        return "-"
    if d.equal_time_delta is None:
        return d.equal_time_verdict
    interval = "" if d.equal_time_interval is None else \
        f" [{d.equal_time_interval.lo:+.4f}, {d.equal_time_interval.hi:+.4f}]"
    return f"{d.equal_time_delta:+.4f}{interval} {d.equal_time_verdict}"


def render(decisions: list[Decision], margin: float, max_seeds: int) -> str:
    controls = any(d.equal_time_verdict is not None for d in decisions)
    rows = []
    for d in decisions:
        interval = "" if d.interval is None else f" [{d.interval.lo:+.4f}, {d.interval.hi:+.4f}]"
        delta = "-" if d.delta is None else f"{d.delta:+.4f}{interval}"
        rows.append([d.strategy, d.verdict, str(d.seeds), f"{d.confidence:.3%}", delta,
                     *([_second(d)] if controls else []), why_open(d, max_seeds)])
    headers = [*HEADERS[:-1], SECOND, HEADERS[-1]] if controls else HEADERS
    notes = [f"Sequential verdicts on the headline metric at margin {margin}: each look's interval is wider than "
             "95% (O'Brien-Fleming-type alpha spending), so stopping when decided does not inflate false wins as "
             "repeated 95% looks would.",
             "The leaderboard's verdict column above is the fixed-sample 95% verdict over every stored seed (what "
             "`bench report` shows); where the two differ, this table's is the one the stopping rule controls."]
    if controls:
        notes.append(f"{SECOND}: the headline difference from the strategy's equal-time control (the baseline cut to "
                     "the same training time) at the same look's level; a strategy stays open until both are decided.")
    return "\n".join([text_table(headers, rows), *notes])
