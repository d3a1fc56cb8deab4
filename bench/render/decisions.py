"""The until-decided table: which strategies settled after how many seeds, and why the others stayed open."""

from __future__ import annotations

from bench.analysis.sequential import Decision
from bench.render.grid import text_table

HEADERS = ["strategy", "verdict", "seeds", "interval level", "delta [interval]", "why open"]


def why_open(decision: Decision, max_seeds: int) -> str:
    if decision.decided:
        return ""
    if decision.limit == "query":
        return "query-limited: the test set's noise alone reaches the margin (more test pairs or a wider margin)"
    if decision.limit == "seed":
        needed = f"~{decision.seeds_needed} seeds" if decision.seeds_needed else "more seeds"
        return f"seed-limited: {needed} would settle it (max_seeds {max_seeds})"
    return "no interval"


def render(decisions: list[Decision], margin: float, max_seeds: int) -> str:
    rows = []
    for d in decisions:
        interval = "" if d.interval is None else f" [{d.interval.lo:+.4f}, {d.interval.hi:+.4f}]"
        delta = "-" if d.delta is None else f"{d.delta:+.4f}{interval}"
        rows.append([d.strategy, d.verdict, str(d.seeds), f"{d.confidence:.3%}", delta, why_open(d, max_seeds)])
    notes = [f"Sequential verdicts on the headline metric at margin {margin}: each look's interval is wider than "
             "95% (O'Brien-Fleming-type alpha spending), so stopping when decided does not inflate false wins as "
             "repeated 95% looks would.",
             "The leaderboard's verdict column above is the fixed-sample 95% verdict over every stored seed (what "
             "`bench report` shows); where the two differ, this table's is the one the stopping rule controls."]
    return "\n".join([text_table(HEADERS, rows), *notes])
