"""`bench plan`'s table: per strategy, what the planned seeds can decide at the margin on this test set, and
what would settle the rest (more test pairs, or the margin this test set supports)."""

from __future__ import annotations

import statistics

from bench.analysis.planning import Plan, Schedule
from bench.render.grid import text_table

HEADERS = ["strategy", "pilot", "delta", "power", "seeds for 80%", "resolves (floor)", "forecast"]


def forecast(plan: Plan, schedule: Schedule) -> str:
    if plan.seeds_needed is not None:
        return f"decided by ~{plan.seeds_needed} seeds"
    below, above = plan.margins
    margins = f"a margin >= {above:.3f}" + (f" or <= {below:.3f}" if below > 0 else "")
    if plan.query_limited:
        pairs = f"~{plan.queries_needed:,} test pairs (has {plan.noise.queries:,})" if plan.queries_needed else \
            f"more test pairs and more than {schedule.seeds} seeds"
        return f"query-limited: {pairs}, or {margins}"
    return f"seed-limited: more than {schedule.seeds} seeds, or {margins} at {schedule.seeds}"


def second_decision(plan: Plan, schedule: Schedule) -> str:
    """The equal-time control's forecast: the pilot's difference, the last look's power, the seeds for 80%."""
    if plan.equal_time_power is None:
        return "no control"
    seeds = (f"decided by ~{plan.equal_time_seeds_needed} seeds" if plan.equal_time_seeds_needed
             else f"not decided by {schedule.seeds} seeds")
    return f"{plan.equal_time_delta:+.4f}, {plan.equal_time_power:.0%} at {schedule.seeds}: {seeds}"


def render(plans: list[Plan], schedule: Schedule, margin: float) -> str:
    if not plans:
        return "no strategy to plan: the pilot has no compared runs with two or more seeds"
    rows = [[p.strategy, f"{p.pilot_seeds} seeds", f"{p.delta:+.4f}", f"{p.power:.0%} at {schedule.seeds}",
             str(p.seeds_needed) if p.seeds_needed else f"> {schedule.seeds}",
             f"±{p.resolvable:.4f} (±{p.limit_resolvable:.4f})", forecast(p, schedule)] for p in plans]
    headers = HEADERS
    if any(p.equal_time_power is not None for p in plans):  # the second decision: better than training less?
        headers = [*HEADERS, "vs training less"]
        for row, p in zip(rows, plans, strict=True):
            row.append(second_decision(p, schedule))
    how = (f"looks at {schedule.first}..{schedule.seeds} seeds with the sequential correction" if schedule.first
           else f"one look at {schedule.seeds} seeds, {schedule.confidence:.0%} intervals")
    queries = statistics.median(p.noise.queries for p in plans)
    reach = statistics.median(p.resolvable for p in plans)
    floor = statistics.median(p.limit_resolvable for p in plans)
    return "\n".join([
        f"Plan at margin {margin} ({how}); 80% power:",
        text_table(headers, rows),
        f"This test set ({queries:,.0f} headline pairs) resolves a difference about ±{reach:.4f} from the margin at "
        f"{schedule.seeds} seeds, and ±{floor:.4f} with unlimited seeds (the floor): a strategy nearer the margin than "
        "the floor needs more test pairs or another margin, not more seeds.",
        "delta and the noise parts (seed, query, seed-by-query) come from the pilot's runs and are taken as the "
        "truth: an estimate, firmer the more seeds the pilot has."])
