"""The commands that read and move stored results: `report`, `recommend`, `check`, `export` and `db`."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.config import Config
from bench.errors import BenchError


def cmd_report(config: Config, args: argparse.Namespace) -> int:
    from bench.analysis import leaderboard
    from bench.render import tables as report
    from bench.results.store import Store

    store = Store(args.db or config.db, read_only=True)
    baseline = args.baseline or (config.suite(args.suite).baseline if args.suite else "baseline")
    board = leaderboard.build(store, config.stats, baseline, config.workers.stale_after, suite=args.suite,
                              task=args.task, model=args.model)
    print(report.render(board, args.format))
    return 0


def cmd_recommend(config: Config, args: argparse.Namespace) -> int:
    """Per cell of the stored results: the recommended strategy (bench.analysis.recommend's rule), its evidence,
    and the lines that use it in sentence-transformers' trainer or Hugging Face's Trainer."""
    from bench.analysis import leaderboard
    from bench.render import recommendation
    from bench.results.store import Store

    db = args.db or config.db
    baseline = config.suite(args.suite).baseline if args.suite else "baseline"
    board = leaderboard.build(Store(db, read_only=True), config.stats, baseline, config.workers.stale_after,
                              suite=args.suite, task=args.task, model=args.model)
    if not board.rows:
        where = f" of suite {args.suite!r}" if args.suite else ""
        raise BenchError(f"nothing to recommend: {db} holds no completed runs{where} paired with a baseline run; "
                         "run `python -m bench run` first")
    print(recommendation.render(board))
    return 0


def cmd_check(config: Config, args: argparse.Namespace) -> int:
    """Gate the suite's latest results (rules in bench.analysis.gate) and print the checks.

    Exit codes: 0 all passed, 1 a check failed, 2 usage or config error (BenchError, e.g. a bad limit, an
    unreadable --against file, a database file that does not exist), 3 nothing to check (the database holds no
    completed runs of the suite that pair with a baseline run).
    """
    from bench.analysis import gate, leaderboard
    from bench.render import checks as report
    from bench.results.store import Store

    suite = config.suite(args.suite)
    reference = gate.load_reference(args.against) if args.against else None
    db = args.db or config.db
    board = leaderboard.build(Store(db, read_only=True), config.stats, suite.baseline, config.workers.stale_after,
                              suite=suite.name)
    gate.validate(config, suite, {row.strategy for row in board.rows} | {row.name for row in board.rows})
    title = f"bench check: suite {suite.name!r}" + (f" against {args.against}" if args.against else "")
    meta = {"suite": suite.name, "db": db, "against": args.against}
    if not board.rows:
        notes = [f"nothing to check: {db} holds no completed runs of suite {suite.name!r} comparable with a "
                 f"{suite.baseline!r} run; run `python -m bench run --suite {suite.name}` first",
                 *gate.excluded_notes(board)]
        print(report.render(args.format, [], notes, title, gate.NOTHING, meta))
        return gate.NOTHING
    checks, notes = gate.evaluate(config, suite, board, reference, args.against or "")
    code = gate.FAILED if any(not c.passed for c in checks) else gate.PASSED
    print(report.render(args.format, checks, notes, title, code, meta))
    return code


def cmd_export(config: Config, args: argparse.Namespace) -> int:
    from bench.analysis import leaderboard
    from bench.render import tables as report
    from bench.results.store import Store

    if args.to == "mlflow":
        if not args.tracking_uri:
            raise BenchError("--to mlflow needs --tracking-uri URI (e.g. sqlite:///mlflow.db or http://host:5000)")
        from bench.results import to_mlflow

        print(to_mlflow.export(Store(args.db or config.db, read_only=True), args.tracking_uri, args.experiment,
                               args.suite).summary())
        return 0
    if not args.out:
        raise BenchError("export needs --out FILE (or --to mlflow --tracking-uri URI)")
    store = Store(args.db or config.db, read_only=True)
    baseline = config.suite(args.suite).baseline if args.suite else "baseline"
    board = leaderboard.build(store, config.stats, baseline, suite=args.suite)
    out = Path(args.out)
    if not out.parent.exists():
        raise BenchError(f"cannot write {out}: folder {out.parent} does not exist")
    out.write_text(report.render(board, args.format))
    print(f"{len(board.rows)} leaderboard rows written to {out}")
    return 0


def cmd_db(config: Config, args: argparse.Namespace) -> int:
    from bench.results.migrate import upgrade_database

    if args.db_command == "copy":
        from bench.results.transfer import copy

        print(copy(args.source, args.target).summary())
        return 0
    url = args.db or config.db
    before, after = upgrade_database(url)
    print(f"{url}: schema revision {before} -> {after}" if before != after else f"{url}: already at {after}")
    return 0

