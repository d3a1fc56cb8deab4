"""`bench run`: the suite with the command line's overrides, on one process or several ranks, then its board."""

from __future__ import annotations

import argparse
import sys
import time

from bench.config import Config, SuiteConfig, load_config
from bench.config.overrides import Overrides, apply_overrides
from bench.errors import BenchError


def suite_for_run(config: Config, args: argparse.Namespace) -> SuiteConfig:
    """The suite from bench.toml with the command-line overrides applied (bench.config.overrides)."""
    from bench.registry import REGISTRY
    from bench.validate import did_you_mean

    suite = config.suite(args.suite)
    if suite.baseline not in REGISTRY.names():  # checked before anything runs: every run is compared with it
        raise BenchError(f"suites.{suite.name}.baseline = {suite.baseline!r} is not a registered strategy"
                         f"{did_you_mean(suite.baseline, REGISTRY.names())}; fix it in {config.source} "
                         "(`python -m bench list` shows the strategies)")
    return apply_overrides(suite, Overrides(
        strategies=tuple(args.strategy or ()), seeds=args.seeds, task=args.task, model=args.model,
        max_train_pairs=args.max_train_pairs, epochs=args.epochs, fractions=tuple(args.fraction or ()),
        until_decided=bool(getattr(args, "until_decided", None)), max_seeds=getattr(args, "max_seeds", None),
        rerun=getattr(args, "rerun", False), worker=getattr(args, "worker", False),
        controls=getattr(args, "controls", None)))


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    from bench.ranks import distributed

    sizes = config.suite(args.suite).world_sizes
    if sizes and not args.nproc and not distributed.launched() and not getattr(args, "one_size", False):
        code, started = 0, time.perf_counter()  # the suite once per rank count, then one report of them all
        for count in sizes:
            code = max(code, cmd_run(config, argparse.Namespace(**{**vars(args), "nproc": count, "one_size": True})))
        if code == 0:
            from bench.results.store import Store

            print("\nEvery rank count:")
            print_board(config, suite_for_run(config, args), Store(args.db or config.db, read_only=True), started)
        return code
    if (args.nproc or distributed.launched()) and not distributed.active():  # --nproc N or torchrun: launch the
        from bench.ranks import launch  # ranks, or join them (rank 0 goes on below)
        from bench.suite import controls

        if not args.worker and controls.uses_controls(suite_for_run(config, args)):  # timed against stored runs
            raise BenchError(controls.ONE_PROCESS)

        return launch.run(config, args, cmd_run, rank_entry, follow_suite)
    from bench.registry import REGISTRY
    from bench.render import plan as plan_table
    from bench.results.store import Store
    from bench.suite import rounds
    from bench.suite.cells import load_suite
    from bench.suite.runner import SuiteRun, run_suite

    suite = suite_for_run(config, args)
    for spec in suite.strategies:
        REGISTRY.build(spec.name, spec.params)  # fail fast on a bad name or parameter
    config.task(suite.task)
    started = time.perf_counter()
    loaded = load_suite(config, suite, args.device or config.device)  # bad data or device: fail before the store
    store = Store(args.db or config.db)
    announce = lambda line: print(f"bench: {line}", file=sys.stderr)  # noqa: E731
    decisions = None
    if suite.until_decided:
        def show_plan(plans, schedule) -> None:
            announce("plan from the first look\n" + plan_table.render(plans, schedule, config.stats.margin))

        decisions = rounds.run_until_decided(config, suite, store, loaded, suite.max_seeds, announce,
                                             show_progress=not args.quiet, on_plan=show_plan)
    else:
        run_suite(SuiteRun(config, suite, store, show_progress=not args.quiet, loaded=loaded, rerun=args.rerun,
                  worker=args.worker, announce=announce))
    print_board(config, suite, store, started, decisions)
    return 0


def rank_entry(args: argparse.Namespace) -> int:
    """What a rank launched by `--nproc` runs: `python -m bench run ...` in this process (user errors exit 2)."""
    from bench.registry import load_plugins

    try:
        config = load_config(args.config)
        load_plugins(config.plugins)
        return cmd_run(config, args)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2


def follow_suite(config: Config, suite: SuiteConfig, device_type: str, rerun: bool) -> None:
    """A rank above 0 runs rank 0's suite in step with it; rank 0's store decides for every rank."""
    from bench.suite.runner import SuiteRun, run_suite

    run_suite(SuiteRun(config, suite, None, device_type, show_progress=False, rerun=rerun))


def print_board(config: Config, suite: SuiteConfig, store, started: float, decisions=None) -> None:
    """The suite's leaderboard (every rank count it has), the until-decided table if any, and the wall time."""
    from bench.analysis import leaderboard
    from bench.render import decisions as decisions_table
    from bench.render import tables as report

    board = leaderboard.build(store, config.stats, suite.baseline, config.workers.stale_after, suite=suite.name,
                              task=config.task(suite.task).name, model=list(suite.models))
    print(report.render(board, "table"))
    if decisions is not None:
        print("\nUntil decided:\n" + decisions_table.render(decisions, config.stats.margin, suite.max_seeds))
    print(f"\ntotal wall time: {time.perf_counter() - started:.1f} s; results in {store.url}")

