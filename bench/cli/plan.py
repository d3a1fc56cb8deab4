"""`bench plan`: before spending the run, what its seeds can decide on this test set, from a short pilot or from
the suite's runs already stored."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from bench.config import Config, SuiteConfig
from bench.config.overrides import Overrides, apply_overrides
from bench.errors import BenchError


def schedule_for(config: Config, suite: SuiteConfig, max_seeds: int | None):
    """The run the plan is for: `--until-decided` (looks from the suite's seeds up to max_seeds) when the suite
    says so or --max-seeds is given, else one look at the suite's seeds."""
    from bench.analysis.planning import Schedule

    if suite.until_decided or max_seeds:
        most = max_seeds or suite.max_seeds
        if most <= len(suite.seeds):
            raise BenchError(f"--max-seeds ({most}) must be more than the suite's {len(suite.seeds)} starting seeds")
        return Schedule(most, config.stats.confidence, first=len(suite.seeds))
    return Schedule(len(suite.seeds), config.stats.confidence)


def pilot_rows(config: Config, suite: SuiteConfig, store, pilot_seeds: int, quiet: bool, device: str | None):
    """The suite's compared rows: the stored ones if every strategy has two or more seeds, else after running the
    pilot (the suite's first `pilot_seeds` seeds, stored like any run, so the real run later reuses them)."""
    from bench.analysis import leaderboard
    from bench.suite.cells import load_suite
    from bench.suite.runner import SuiteRun, run_suite

    task = config.task(suite.task).name

    def rows():
        board = leaderboard.build(store, config.stats, suite.baseline, suite=suite.name, task=task,
                                  model=list(suite.models))
        return board.rows

    labels = {spec.label for spec in suite.strategies}
    stored = rows()
    if labels <= {row.strategy for row in stored if row.runs >= 2}:
        return stored, "stored runs"
    seeds = tuple(suite.seeds[:pilot_seeds]) if len(suite.seeds) >= pilot_seeds else tuple(range(pilot_seeds))
    pilot = dataclasses.replace(suite, seeds=seeds, until_decided=False)
    loaded = load_suite(config, pilot, device or config.device)
    run_suite(SuiteRun(config, pilot, store, show_progress=not quiet, loaded=loaded,
              announce=lambda line: print(f"bench: {line}", file=sys.stderr)))
    return rows(), f"a pilot of {len(seeds)} seeds"


def cmd_plan(config: Config, args: argparse.Namespace) -> int:
    from bench.analysis.planning import plan_board
    from bench.render import plan as plan_table
    from bench.results.store import Store

    suite = config.suite(args.suite)
    if getattr(args, "controls", None) is not None:  # --controls / --no-controls
        suite = apply_overrides(suite, Overrides(controls=args.controls))
    schedule = schedule_for(config, suite, args.max_seeds)
    store = Store(args.db or config.db)
    rows, source = pilot_rows(config, suite, store, args.pilot_seeds, args.quiet, args.device)
    print(f"suite {suite.name}: planned from {source}")
    print(plan_table.render(plan_board(rows, config.stats.margin, schedule), schedule, config.stats.margin))
    return 0
