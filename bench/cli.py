"""Command line: `python -m bench run | list | report | data | dashboard | check | export | db`."""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from datetime import timedelta
from pathlib import Path

from bench.config import MAX_SEED, Config, StrategySpec, SuiteConfig, load_config, parse_strategy
from bench.errors import BenchError


class Parser(argparse.ArgumentParser):
    """Usage errors become one-line BenchErrors (exit 2) instead of argparse's two-line message."""

    def error(self, message: str):
        command = " ".join(self.prog.split()[1:])  # `db copy`, not just `copy`
        raise BenchError(f"{message}; see `python -m bench {command} --help`" if command
                         else f"{message}; see `python -m bench --help`")


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return int(text)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value > 0):  # nan and inf parse as floats but are no epochs or fraction
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def database_url(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("expected a database URL such as sqlite:///results.db, got an empty one")
    return text


def port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"expected a TCP port between 1 and 65535, got {text!r}")
    return int(text)


MAX_SEED_COUNT = 1000


def seeds(text: str) -> tuple[int, ...]:
    """`3` means seeds 0,1,2; `0,4,7` lists them."""
    try:
        if "," not in text:
            count = int(text)
            if not 1 <= count <= MAX_SEED_COUNT:
                raise ValueError
            return tuple(range(count))
        chosen = tuple(int(part) for part in text.split(",") if part.strip())
        if not chosen or not all(0 <= seed <= MAX_SEED for seed in chosen):
            raise ValueError
        return chosen
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seeds takes a count from 1 to {MAX_SEED_COUNT} (3 = seeds 0,1,2) or "
                                         f"a list of seeds from 0 to {MAX_SEED} (0,4,7), got {text!r}") from None


def build_parser() -> Parser:
    parser = Parser(prog="bench", description="Benchmark cheap training-time reductions of reply-suggestion "
                    "bi-encoders (layer dropping, freezing, ...) against full fine-tuning.")
    parser.add_argument("--config", default=None, help="bench.toml to use (default: ./bench.toml)")
    # Options shared by several commands, declared once (SUPPRESS keeps a --config given before the command).
    config = Parser(add_help=False)
    config.add_argument("--config", default=argparse.SUPPRESS, help="bench.toml to use (default: ./bench.toml)")
    db = Parser(add_help=False)
    db.add_argument("--db", type=database_url, help="SQLAlchemy URL (default: bench.toml's db, sqlite:///results.db)")
    suite = Parser(add_help=False)
    suite.add_argument("--suite", help="suite from bench.toml (default: its default_suite)")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    run = commands.add_parser("run", parents=[config, db, suite], help="run a suite and print its leaderboard")
    run.add_argument("--strategy", nargs="+", action="extend", metavar="NAME", help="only these strategies (NAME "
                     "or NAME:key=value,...; repeat the flag or list several); the baseline is always run too")
    run.add_argument("--seeds", type=seeds, help="a count (3 = seeds 0,1,2) or a list (0,1,2)")
    run.add_argument("--task", help="task name from bench.toml, or a folder with train.jsonl and test.jsonl")
    run.add_argument("--model", help="all-MiniLM-L6-v2, tiny-bert[:layers=..], a local HF folder or a hub id")
    run.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where to train (default: auto)")
    run.add_argument("--max-train-pairs", type=positive_int, help="train on at most N pairs")
    run.add_argument("--epochs", type=positive_float, help="training epochs")
    run.add_argument("--fraction", type=positive_float, nargs="+", help="training-data fractions, e.g. 0.1 1.0")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--until-decided", action="store_true", default=None, help="add seeds in rounds until every "
                     "strategy's headline verdict is decided (a group-sequential correction keeps false wins at 2.5%%)")
    run.add_argument("--max-seeds", type=positive_int, help="with --until-decided: at most this many seeds (default: "
                     "the suite's max_seeds, 10)")
    run.add_argument("--nproc", type=positive_int, help="train each run on N local ranks (torch's elastic launcher, "
                     "gloo on CPU, nccl on GPUs); several machines: torchrun ... -m bench run (see README)")
    resume = run.add_mutually_exclusive_group()
    resume.add_argument("--rerun", action="store_true", help="run every cell again, even those already done")
    resume.add_argument("--worker", action="store_true", help="also wait for cells other processes hold, taking over "
                     "any whose process dies, until the whole suite is done (start several, on several machines)")

    commands.add_parser("list", parents=[config], help="strategies, tasks and suites")

    report = commands.add_parser("report", parents=[config, db, suite], help="print the leaderboard from the database")
    report.add_argument("--task")
    report.add_argument("--model")
    report.add_argument("--baseline", default=None, help="strategy to compare against (default: baseline)")
    report.add_argument("--format", choices=["table", "markdown", "csv", "json"], default="table")

    data = commands.add_parser("data", help="build task data files")
    data_commands = data.add_subparsers(dest="dataset", required=True, parser_class=Parser)
    sgd = data_commands.add_parser("sgd", help="convert original SGD dialogues into reply pairs")
    sgd.add_argument("--from", dest="source", required=True, help="folder with train/ dev/ test/ of SGD")
    sgd.add_argument("--out", required=True, help="folder to write train/dev/test.jsonl.gz into")
    email = data_commands.add_parser("email", help="regenerate the built-in email task")
    email.add_argument("--out", required=True)

    dashboard = commands.add_parser("dashboard", parents=[config, db], help="start the Streamlit dashboard")
    dashboard.add_argument("--port", type=port, default=8501)
    dashboard.add_argument("--host", default="127.0.0.1")

    check = commands.add_parser("check", parents=[config, db, suite],
                                help="fail (exit 1) when a strategy got slower or less relevant")
    check.add_argument("--against", help="JSON export of earlier results to compare with")
    check.add_argument("--format", choices=["text", "markdown", "json"], default="text")

    database = commands.add_parser("db", help="manage the results database")
    db_commands = database.add_subparsers(dest="db_command", required=True, parser_class=Parser)
    db_commands.add_parser("upgrade", parents=[config, db], help="bring a database made by an older bench forward")
    copy = db_commands.add_parser("copy", parents=[config], help="copy finished runs into another database "
                                  "(those already there are skipped)")
    copy.add_argument("--from", dest="source", type=database_url, required=True, metavar="URL",
                      help="database to copy from (only read)")
    copy.add_argument("--to", dest="target", type=database_url, required=True, metavar="URL",
                      help="database to copy into (created if new)")

    export = commands.add_parser("export", parents=[config, db, suite], help="write the leaderboard to a file")
    export.add_argument("--format", choices=["json", "csv"], default="json")
    export.add_argument("--out", required=True)
    return parser


def suite_for_run(config: Config, args: argparse.Namespace) -> SuiteConfig:
    """The suite from bench.toml with the command-line overrides applied."""
    from bench.registry import REGISTRY
    from bench.validate import did_you_mean

    suite = config.suite(args.suite)
    if suite.baseline not in REGISTRY.names():  # checked before anything runs: every run is compared with it
        raise BenchError(f"suites.{suite.name}.baseline = {suite.baseline!r} is not a registered strategy"
                         f"{did_you_mean(suite.baseline, REGISTRY.names())}; fix it in {config.source} "
                         "(`python -m bench list` shows the strategies)")
    for flag, value in (("--task", args.task), ("--model", args.model)):
        if value is not None and not value.strip():
            raise BenchError(f"{flag} is empty; pass a name or a folder, or leave the flag out")
    train = suite.train
    if args.max_train_pairs:
        train = dataclasses.replace(train, max_train_pairs=args.max_train_pairs)
    if args.epochs:
        train = dataclasses.replace(train, epochs=args.epochs)
    changes: dict = {"train": train}
    if args.strategy:
        chosen: list[StrategySpec] = []
        for text in args.strategy:
            matches = [s for s in suite.strategies if text in (s.name, s.label)]
            for spec in matches or [parse_strategy(text, "--strategy")]:
                if spec not in chosen:
                    chosen.append(spec)
        if not any(s.name == suite.baseline and not s.params for s in chosen):
            chosen.insert(0, StrategySpec(suite.baseline))
        changes["strategies"] = tuple(chosen)
    if args.seeds:
        changes["seeds"] = args.seeds
    if args.task:
        changes["task"] = args.task
    if args.model:
        changes["models"] = (args.model,)
    if args.fraction:
        if any(f > 1 for f in args.fraction):
            raise BenchError(f"--fraction values must be in (0, 1], got {' '.join(map(str, args.fraction))}")
        changes["train_fractions"] = tuple(args.fraction)
    if args.until_decided:
        changes["until_decided"] = True
    if args.max_seeds:
        if not (args.until_decided or suite.until_decided):
            raise BenchError("--max-seeds only applies with --until-decided (or until_decided = true in the suite)")
        if args.max_seeds < 2:
            raise BenchError(f"--max-seeds must be at least 2, got {args.max_seeds}")
        changes["max_seeds"] = args.max_seeds
    suite = dataclasses.replace(suite, **changes)
    if suite.until_decided and (args.rerun or args.worker):
        raise BenchError("--until-decided does not combine with --rerun or --worker: it resumes by itself, and "
                         "decides which seeds to run from the results so far")
    return suite


def stale_after(config: Config) -> timedelta:
    return timedelta(seconds=config.workers.stale_after_seconds)


def cmd_run(config: Config, args: argparse.Namespace) -> int:
    from bench.training import distributed

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
        from bench.training import launch  # ranks, or join them (rank 0 goes on below)

        return launch.run(config, args, cmd_run, rank_entry)
    from bench.registry import REGISTRY
    from bench.results.store import Store
    from bench.training import rounds
    from bench.training.runner import load_suite, run_suite

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
        decisions = rounds.run_until_decided(config, suite, store, loaded, suite.max_seeds, announce,
                                             show_progress=not args.quiet)
    else:
        run_suite(config, suite, store, show_progress=not args.quiet, loaded=loaded, rerun=args.rerun,
                  worker=args.worker, announce=announce)
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


def print_board(config: Config, suite: SuiteConfig, store, started: float, decisions=None) -> None:
    """The suite's leaderboard (every rank count it has), the until-decided table if any, and the wall time."""
    from bench.analysis import leaderboard
    from bench.render import tables as report
    from bench.training import rounds

    board = leaderboard.build(store, config.stats, suite.baseline, stale_after(config), suite=suite.name,
                              task=config.task(suite.task).name, model=list(suite.models))
    print(report.render(board, "table"))
    if decisions is not None:
        print("\nUntil decided:\n" + rounds.render(decisions, config.stats.margin, suite.max_seeds))
    print(f"\ntotal wall time: {time.perf_counter() - started:.1f} s; results in {store.url}")


def cmd_list(config: Config, args: argparse.Namespace) -> int:
    from bench.registry import REGISTRY

    print("strategies:")
    for entry in REGISTRY.entries():
        params = ", ".join(f"{k}={v!r}" for k, v in entry.parameters().items())
        print(f"  {entry.name:<18} {entry.description}" + (f"  [{params}]" if params else ""))
    print("tasks:")
    for task in config.tasks:
        where = f" ({task.path})" if task.path else ""
        print(f"  {task.name:<14} kind {task.kind}{where}, headline {task.headline_metric or 'mrr'}")
    print("suites:")
    for suite in config.suites:
        default = " (default)" if suite.name == config.default_suite else ""
        print(f"  {suite.name:<14} task {suite.task}, models {', '.join(suite.models)}, seeds "
              f"{list(suite.seeds)}{default}: {', '.join(s.label for s in suite.strategies)}")
    return 0


def cmd_report(config: Config, args: argparse.Namespace) -> int:
    from bench.analysis import leaderboard
    from bench.render import tables as report
    from bench.results.store import Store

    store = Store(args.db or config.db, read_only=True)
    baseline = args.baseline or (config.suite(args.suite).baseline if args.suite else "baseline")
    board = leaderboard.build(store, config.stats, baseline, stale_after(config), suite=args.suite, task=args.task,
                              model=args.model)
    print(report.render(board, args.format))
    return 0


def cmd_data(config: Config, args: argparse.Namespace) -> int:
    if args.dataset == "sgd":
        from bench.tasks import sgd

        counts = sgd.convert_dir(Path(args.source), Path(args.out))
        print(", ".join(f"{split}: {rows} pairs" for split, rows in counts.items()) + f" -> {args.out}")
    else:
        from bench.tasks import emailgen

        manifest = emailgen.write(Path(args.out))
        print(f"email task {manifest['version']} written to {args.out} (sha256 {manifest['sha256'][:16]})")
    return 0


def cmd_dashboard(config: Config, args: argparse.Namespace) -> int:
    from dashboard.launcher import launch

    return launch(args.db or config.db, args.host, args.port, config=args.config)


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
    board = leaderboard.build(Store(db, read_only=True), config.stats, suite.baseline, stale_after(config),
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
    from bench.results.store import upgrade

    if args.db_command == "copy":
        from bench.results.transfer import copy

        print(copy(args.source, args.target).summary())
        return 0
    url = args.db or config.db
    before, after = upgrade(url)
    print(f"{url}: schema revision {before} -> {after}" if before != after else f"{url}: already at {after}")
    return 0


COMMANDS = {"db": cmd_db, "run": cmd_run, "list": cmd_list, "report": cmd_report, "data": cmd_data,
            "dashboard": cmd_dashboard, "check": cmd_check, "export": cmd_export}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = load_config(args.config)
    if args.command in ("run", "list", "check"):
        from bench.registry import load_plugins

        load_plugins(config.plugins)
    return COMMANDS[args.command](config, args)
