"""Seeds until decided: run a suite in rounds of one more seed until every strategy's headline verdict settles.

Round 1 runs the suite's seeds; after each round, each open strategy's headline difference from the baseline gets
an interval at the look's confidence (`sequential.look_confidence`: O'Brien-Fleming-type alpha spending over
looks from the suite's seed count up to `max_seeds`; after the first, a plan says what the rest can decide), and
a strategy whose verdict is decided stops, or whose
interval shows that no number of seeds can decide it (`bench.analysis.sequential.futile`: query-limited). The
others, and the baseline, get the next seed. Cells already in the store are not run again (resume), so a second
`--until-decided` replays the same looks and only runs what is missing; an interrupted one carries on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from bench.analysis import leaderboard
from bench.analysis.equal_time import EQUAL_TIME
from bench.analysis.planning import Plan, Schedule, plan_board
from bench.analysis.sequential import Decision, decide_row, look_confidence, next_seed
from bench.config import Config, StrategySpec, SuiteConfig
from bench.errors import BenchError
from bench.results.store import Store
from bench.suite.cells import LoadedSuite
from bench.suite.runner import SuiteRun, run_suite


def run_until_decided(config: Config, suite: SuiteConfig, store: Store, loaded: LoadedSuite, max_seeds: int,
                      announce: Callable[[str], None] | None = None, show_progress: bool = True,
                      on_plan: Callable[[list[Plan], Schedule], None] | None = None) -> list[Decision]:
    """Run rounds until every strategy (but the baseline) is decided or has `max_seeds` seeds; returns each
    strategy's decision, in the suite's order. `on_plan` gets the plan from the first look (what the remaining
    seeds can decide), for the caller to show."""
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
        running = baseline + [b for b in others if b.spec.label in open_labels or _controls_open(b.spec, open_labels)]
        round_suite = dataclasses.replace(suite, seeds=tuple(seeds), strategies=tuple(b.spec for b in running),
                                          until_decided=False)  # a round is an ordinary suite run
        run_suite(SuiteRun(config, round_suite, store, show_progress=show_progress, announce=announce,
                  loaded=dataclasses.replace(loaded, strategies=running)))
        look = len(seeds)
        confidence = look_confidence(min(look, max_seeds), max_seeds, 1 - config.stats.confidence, first)
        board = leaderboard.build(store, dataclasses.replace(config.stats, confidence=confidence), suite.baseline,
                                  limit_confidence=last, suite=suite.name, task=task, model=list(suite.models),
                                  seed=list(seeds))  # this look's seeds only: a replay sees what the first run saw
        by_label = {row.strategy: row for row in board.rows}
        if look == first and on_plan:  # the first look is the pilot: what the remaining seeds can decide
            schedule = Schedule(max_seeds, config.stats.confidence, first=first)
            rows = [row for row in board.rows if row.strategy in open_labels]
            on_plan(plan_board(rows, config.stats.margin, schedule), schedule)
        for label in list(open_labels):
            row = by_label.get(label)
            if row is None:  # every run of it failed: nothing to decide on
                continue
            decision, stop = decide_row(row, config.stats.margin, first, max_seeds, confidence)
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


def _controls_open(spec: StrategySpec, open_labels: list[str]) -> bool:
    """An equal-time control runs as long as the strategy it matches is open: its second verdict pairs by seed."""
    return spec.name == EQUAL_TIME and dict(spec.params).get("matches") in open_labels
