"""The command line's grammar: argparse parsers, argument types and one small builder per command."""

from __future__ import annotations

import argparse
import math

from bench.config import MAX_SEED
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


def pilot_seeds(text: str) -> int:
    if not text.isdigit() or not 2 <= int(text) <= 100:
        raise argparse.ArgumentTypeError(f"expected 2 to 100 seeds (two are the fewest that split seed noise), "
                                         f"got {text!r}")
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



def _selection() -> Parser:
    """What a suite runs, as `bench run` takes it (and `launch` and `status`, so they name the same cells)."""
    selection = Parser(add_help=False)
    selection.add_argument("--strategy", nargs="+", action="extend", metavar="NAME", help="only these strategies "
                           "(NAME or NAME:key=value,...; repeat the flag or list several); the baseline is always "
                           "run too")
    selection.add_argument("--seeds", type=seeds, help="a count (3 = seeds 0,1,2) or a list (0,1,2)")
    selection.add_argument("--task", help="task name from bench.toml, or a folder with train.jsonl and test.jsonl")
    selection.add_argument("--model", help="all-MiniLM-L6-v2, tiny-bert[:layers=..], a local HF folder or a hub id")
    selection.add_argument("--max-train-pairs", type=positive_int, help="train on at most N pairs")
    selection.add_argument("--epochs", type=positive_float, help="training epochs")
    selection.add_argument("--fraction", type=positive_float, nargs="+", help="training-data fractions, e.g. 0.1 "
                           "1.0")
    _add_controls(selection)
    return selection


def _add_run(commands, config: Parser, db: Parser, suite: Parser, selection: Parser) -> None:
    """`bench run`'s flags: what to run, how many seeds, where, and how to resume."""
    run = commands.add_parser("run", parents=[config, db, suite, selection], help="run a suite and print its "
                              "leaderboard")
    run.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where to train (default: auto)")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--until-decided", action="store_true", default=None, help="add seeds in rounds until every "
                     "strategy's headline verdict is decided (a group-sequential correction keeps false wins at 2.5%%)")
    run.add_argument("--max-seeds", type=positive_int, help="with --until-decided: at most this many seeds (default: "
                     "the suite's max_seeds, 10)")
    run.add_argument("--nproc", type=positive_int, help="train each run on N local ranks (torch's elastic launcher, "
                     "gloo on CPU, nccl on GPUs); several machines: torchrun ... -m bench run (docs/scaling-out.md)")
    resume = run.add_mutually_exclusive_group()
    resume.add_argument("--rerun", action="store_true", help="run every cell again, even those already done")
    resume.add_argument("--worker", action="store_true", help="also wait for cells other processes hold, taking over "
                     "any whose process dies, until the whole suite is done (start several, on several machines)")


def _add_launch(commands, config: Parser, db: Parser, suite: Parser, selection: Parser) -> None:
    """`bench launch`'s flags: the cluster, what each task asks for, and whether to wait."""
    launch = commands.add_parser("launch", parents=[config, db, suite, selection], help="submit a suite's workers "
                                 "to Slurm (or local processes) through submitit; each runs `bench run --worker`")
    launch.add_argument("--executor", choices=["slurm", "local"], default="slurm", help="slurm: sbatch a job "
                        "array; local: processes on this machine (default: slurm)")
    launch.add_argument("--workers", type=positive_int, default=1, help="tasks claiming cells at once (a job "
                        "array of N; default 1)")
    launch.add_argument("--partition", help="Slurm partition (default: the cluster's)")
    launch.add_argument("--time", default="60", help="each task's time limit, as sbatch --time takes it (90, "
                        "1:30:00, 2-12; default 60 minutes); a requeued task starts it again")
    launch.add_argument("--cpus-per-task", type=positive_int, help="CPUs per task (torch's threads follow)")
    launch.add_argument("--gpus-per-task", type=int, default=0, help="GPUs per task (default 0)")
    launch.add_argument("--mem-gb", type=positive_float, help="memory per task in GB")
    launch.add_argument("--nproc", type=positive_int, help="each run on N local ranks of its task (its GPUs, or "
                        "CPUs): `bench run --nproc N`, which claims cells but does not wait for others'")
    launch.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where tasks train (default: auto)")
    launch.add_argument("--folder", default="bench-jobs", help="submitit's folder for job files and logs, on a "
                        "filesystem the nodes share (default: ./bench-jobs)")
    launch.add_argument("--wait", action="store_true", help="block until the suite is done, then print its board "
                        "and exit as `bench run` would")


def _add_status(commands, config: Parser, db: Parser, suite: Parser, selection: Parser) -> None:
    status = commands.add_parser("status", parents=[config, db, suite, selection], help="where a suite stands "
                                 "across its workers: cells done, running, pending, failed, abandoned, and an ETA")
    status.add_argument("--watch", type=positive_float, nargs="?", const=5.0, default=None, metavar="SECONDS",
                        help="refresh every SECONDS (default 5) until Ctrl-C")


def _add_data(commands) -> None:
    data = commands.add_parser("data", help="build task data files")
    data_commands = data.add_subparsers(dest="dataset", required=True, parser_class=Parser)
    sgd = data_commands.add_parser("sgd", help="convert original SGD dialogues into reply pairs")
    sgd.add_argument("--from", dest="source", required=True, help="folder with train/ dev/ test/ of SGD")
    sgd.add_argument("--out", required=True, help="folder to write train/dev/test.jsonl.gz into")
    email = data_commands.add_parser("email", help="regenerate the built-in email task")
    email.add_argument("--out", required=True)


def _add_controls(parser: Parser) -> None:
    parser.add_argument("--controls", action=argparse.BooleanOptionalAction, default=None, help="add each "
                        "strategy's equal-time control: the baseline trained for as long as that strategy took "
                        "(default: the suite's `controls`); --no-controls: no equal-time run at all")


def _add_plan(commands, config: Parser, db: Parser, suite: Parser) -> None:
    plan = commands.add_parser("plan", parents=[config, db, suite], help="before a run: what its seeds can decide "
                               "on this test set, from a short pilot or the suite's stored runs")
    plan.add_argument("--pilot-seeds", type=pilot_seeds, default=2, help="seeds of the pilot when the store has "
                      "too few runs (default 2; at least 2 to split seed noise from the test set's)")
    plan.add_argument("--max-seeds", type=positive_int, help="plan for --until-decided up to this many seeds "
                      "(default: the suite's max_seeds when it runs until decided)")
    plan.add_argument("--device", choices=["auto", "cpu", "cuda"], help="where the pilot trains (default: auto)")
    plan.add_argument("--quiet", action="store_true", help="no progress bars")
    _add_controls(plan)


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

    selection = _selection()
    _add_run(commands, config, db, suite, selection)
    _add_launch(commands, config, db, suite, selection)
    _add_status(commands, config, db, suite, selection)

    commands.add_parser("list", parents=[config], help="strategies, tasks and suites")
    _add_plan(commands, config, db, suite)

    report = commands.add_parser("report", parents=[config, db, suite], help="print the leaderboard from the database")
    report.add_argument("--task")
    report.add_argument("--model")
    report.add_argument("--baseline", default=None, help="strategy to compare against (default: baseline)")
    report.add_argument("--format", choices=["table", "markdown", "csv", "json"], default="table")

    recommend = commands.add_parser("recommend", parents=[config, db, suite],
                                    help="what to use, from the stored results, and how in your own trainer")
    recommend.add_argument("--task")
    recommend.add_argument("--model")

    _add_data(commands)

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

    _add_export(commands, config, db, suite)
    return parser


def _add_export(commands, config: Parser, db: Parser, suite: Parser) -> None:
    export = commands.add_parser("export", parents=[config, db, suite], help="write the leaderboard to a file, or "
                                 "log every completed run to MLflow (--to mlflow)")
    export.add_argument("--to", choices=["file", "mlflow"], default="file",
                        help="file: the leaderboard as JSON or CSV (--out); mlflow: each run as an MLflow run")
    export.add_argument("--format", choices=["json", "csv"], default="json")
    export.add_argument("--out", help="the file to write (--to file)")
    export.add_argument("--tracking-uri", help="MLflow tracking URI (--to mlflow), e.g. sqlite:///mlflow.db or "
                        "http://host:5000")
    export.add_argument("--experiment", default="bench", help="MLflow experiment (--to mlflow; default: bench)")

