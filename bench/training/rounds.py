"""Seeds until decided: run a suite in rounds of one more seed until every strategy's headline verdict settles.

Round 1 runs the suite's seeds; after each round, each open strategy's headline difference from the baseline gets
an interval at the look's confidence (`sequential.look_confidence`: O'Brien-Fleming-type alpha spending over
looks from the suite's seed count up to `max_seeds`), and a strategy whose verdict is decided stops, or whose
interval shows that no number of seeds can decide it (`futile`: query-limited). The others, and the baseline,
get the next seed. Cells already in the store are not run again (resume), so a second
`--until-decided` replays the same looks and only runs what is missing; an interrupted one carries on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from bench.analysis import leaderboard
from bench.analysis.rows import Interval, Row
from bench.analysis.sequential import decide, look_confidence
from bench.config import Config, SuiteConfig
from bench.config.schema import MAX_SEED
from bench.errors import BenchError
from bench.metrics import BY_NAME
from bench.results.store import Store
from bench.training.runner import LoadedSuite, run_suite


@dataclass(frozen=True)
class Decision:
    """Where a strategy ended: its verdict, after how many seeds, from which interval; for one still open,
    what limits it ("seed": more seeds would settle it, "query": the test set's noise alone reaches the
    margin)."""

    strategy: str
    verdict: str
    seeds: int
    confidence: float
    delta: float | None
    interval: Interval | None
    limit: str | None = None
    seeds_needed: int | None = None

    @property
    def decided(self) -> bool:
        return self.verdict != "inconclusive"


def next_seed(seeds: list[int]) -> int:
    """The smallest unused seed above the largest so far."""
    seed = max(seeds) + 1
    if seed > MAX_SEED:
        raise BenchError(f"no seed left above {max(seeds)}; list smaller seeds in the suite")
    return seed


def _decision(row: Row, margin: float, first: int, max_seeds: int, confidence: float) -> tuple[Decision, bool]:
    metric = BY_NAME[row.headline_metric]
    interval = row.headline.delta_ci
    lo, hi = (None, None) if interval is None else metric.gain_bounds(interval.lo, interval.hi)
    verdict, stop = decide(lo, hi, margin, row.runs, max_seeds) if row.runs >= first else ("inconclusive", False)
    limit, needed = (None, None) if verdict != "inconclusive" else (row.limit, row.seeds_needed)
    if not stop and row.runs >= first and futile(lo, hi, margin, row.query_half_width):
        stop, limit, needed = True, "query", None
    return Decision(row.strategy, verdict, row.runs, confidence, row.headline.delta, interval, limit, needed), stop


def futile(lo: float | None, hi: float | None, margin: float, query_half_width: float | None) -> bool:
    """No number of seeds can settle it: wherever in this look's interval the true difference lies, it is within
    the fixed test set's own half-width of -margin, so even a seed-noise-free interval would straddle -margin.
    Judged on the interval, not the point estimate, so a mean that seed noise has pulled towards the margin does
    not stop a strategy early."""
    if lo is None or hi is None or query_half_width is None:
        return False
    return -margin - query_half_width < lo and hi < -margin + query_half_width


def run_until_decided(config: Config, suite: SuiteConfig, store: Store, loaded: LoadedSuite, max_seeds: int,
                      announce: Callable[[str], None] | None = None, show_progress: bool = True) -> list[Decision]:
    """Run rounds until every strategy (but the baseline) is decided or has `max_seeds` seeds; returns each
    strategy's decision, in the suite's order."""
    seeds = list(suite.seeds)
    first = len(seeds)
    if first >= max_seeds:
        raise BenchError(f"--until-decided needs fewer starting seeds ({first}) than --max-seeds ({max_seeds}); "
                         "raise --max-seeds or list fewer seeds")
    baseline = [b for b in loaded.strategies if b.spec.name == suite.baseline and not b.spec.params]
    if not baseline:
        raise BenchError(f"suite {suite.name!r} has no {suite.baseline!r} strategy to compare with; add it")
    others = [b for b in loaded.strategies if b not in baseline]
    open_labels = [b.spec.label for b in others]
    decisions: dict[str, Decision] = {}
    task = config.task(suite.task).name
    last = look_confidence(max_seeds, max_seeds, 1 - config.stats.confidence, first)
    while True:
        running = baseline + [b for b in others if b.spec.label in open_labels]
        round_suite = dataclasses.replace(suite, seeds=tuple(seeds), strategies=tuple(b.spec for b in running),
                                          until_decided=False)  # a round is an ordinary suite run
        run_suite(config, round_suite, store, show_progress=show_progress, announce=announce,
                  loaded=dataclasses.replace(loaded, strategies=running))
        look = len(seeds)
        confidence = look_confidence(min(look, max_seeds), max_seeds, 1 - config.stats.confidence, first)
        board = leaderboard.build(store, dataclasses.replace(config.stats, confidence=confidence), suite.baseline,
                                  limit_confidence=last, suite=suite.name, task=task, model=list(suite.models),
                                  seed=list(seeds))  # this look's seeds only: a replay sees what the first run saw
        by_label = {row.strategy: row for row in board.rows}
        for label in list(open_labels):
            row = by_label.get(label)
            if row is None:  # every run of it failed: nothing to decide on
                continue
            decision, stop = _decision(row, config.stats.margin, first, max_seeds, confidence)
            decisions[label] = decision
            if stop:
                open_labels.remove(label)
        if announce:
            settled = sum(d.decided for d in decisions.values())
            announce(f"look at {look} seeds ({confidence:.2%} intervals): {settled} of {len(others)} decided; "
                     f"{len(open_labels)} open")
        if not open_labels or look >= max_seeds:
            break
        seeds.append(next_seed(seeds))
    return [decisions[b.spec.label] for b in others if b.spec.label in decisions]


def render(decisions: list[Decision], margin: float, max_seeds: int) -> str:
    """The decided table: which strategies settled after how many seeds, and why the others stayed open."""
    width = max([len("strategy"), *(len(d.strategy) for d in decisions)])
    lines = [f"{'strategy':<{width}}  {'verdict':<13} {'seeds':>5}  {'interval level':>14}  {'delta [interval]':<28} "
             "why open"]
    for d in decisions:
        interval = "" if d.interval is None else f" [{d.interval.lo:+.4f}, {d.interval.hi:+.4f}]"
        delta = "-" if d.delta is None else f"{d.delta:+.4f}{interval}"
        if d.decided:
            why = ""
        elif d.limit == "query":
            why = "query-limited: the test set's noise alone reaches the margin (more test pairs or a wider margin)"
        elif d.limit == "seed":
            needed = f"~{d.seeds_needed} seeds" if d.seeds_needed else "more seeds"
            why = f"seed-limited: {needed} would settle it (max_seeds {max_seeds})"
        else:
            why = "no interval"
        lines.append(f"{d.strategy:<{width}}  {d.verdict:<13} {d.seeds:>5}  {d.confidence:>14.3%}  {delta:<28} {why}")
    lines.append(f"Sequential verdicts on the headline metric at margin {margin}: each look's interval is wider than "
                 "95% (O'Brien-Fleming-type alpha spending), so stopping when decided does not inflate false wins as "
                 "repeated 95% looks would.")
    lines.append("The leaderboard's verdict column above is the fixed-sample 95% verdict over every stored seed (what "
                 "`bench report` shows); where the two differ, this table's is the one the stopping rule controls.")
    return "\n".join(lines)
