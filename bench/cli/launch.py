"""`bench launch`: submit a suite's workers to Slurm (or local processes) through submitit, then follow them."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench.config import Config
from bench.errors import BenchError


def worker_argv(args: argparse.Namespace, suite: str, db: str) -> list[str]:
    """`bench run`'s arguments for each task: this command's suite options, the shared database, and --worker
    (or --nproc N: a run on N local ranks)."""
    argv = ["--config", str(Path(args.config).resolve())] if args.config else []
    argv += ["run", "--suite", suite, "--db", db, "--quiet"]
    for spec in args.strategy or ():
        argv += ["--strategy", spec]
    if args.seeds:
        argv += ["--seeds", ",".join(map(str, args.seeds)) + ("," if len(args.seeds) == 1 else "")]
    for flag in ("task", "model", "max_train_pairs", "epochs", "device"):
        if getattr(args, flag, None) is not None:
            argv += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
    if args.fraction:
        argv += ["--fraction", *map(str, args.fraction)]
    if args.controls is not None:
        argv.append("--controls" if args.controls else "--no-controls")
    return argv + (["--nproc", str(args.nproc)] if args.nproc and args.nproc > 1 else ["--worker"])


def cmd_launch(config: Config, args: argparse.Namespace) -> int:
    from bench.cli.run import suite_for_run
    from bench.cluster import launch, timelimit
    from bench.registry import REGISTRY
    from bench.results.store import Store
    from bench.suite import controls

    suite = suite_for_run(config, args)
    for spec in suite.strategies:
        REGISTRY.build(spec.name, spec.params)  # a bad name or parameter fails here, not in every job
    config.task(suite.task)
    if args.nproc and args.nproc > 1 and controls.uses_controls(suite):
        raise BenchError(controls.ONE_PROCESS)
    db = args.db or config.db
    launch.check_database(args.executor, args.workers, db)
    resources = launch.Resources(timelimit.minutes(args.time), args.partition, args.cpus_per_task,
                                 args.gpus_per_task, args.mem_gb)
    Store(db).engine.dispose()  # reachable from here, and its schema made once, before any job starts
    folder = Path(args.folder).resolve() / "%j"
    request = launch.LaunchRequest(args.executor, args.workers, resources, worker_argv(args, suite.name, db), db,
                                   folder, f"bench-{suite.name}")
    from bench.cli import run_command

    jobs = launch.submit(request, Path.cwd(), run_command)
    ids = [job.job_id for job in jobs]
    print(f"bench: submitted {len(jobs)} worker{'s' if len(jobs) > 1 else ''} of suite {suite.name!r} to "
          f"{args.executor}: {', '.join(ids)}; logs in {folder.parent}", file=sys.stderr)
    print(f"bench: follow it with `python -m bench status --suite {suite.name} --db {db} --watch`"
          + (f"; cancel with `scancel {ids[0].split('_')[0]}`" if args.executor == "slurm" else ""), file=sys.stderr)
    return wait(config, suite, db, jobs) if args.wait else 0


def wait(config: Config, suite, db: str, jobs: list) -> int:
    """Until every cell is done or every job has ended; then the board, as `bench run` prints it, and exit 0, or
    1 with the cells still open."""
    from bench.cli.run import print_board
    from bench.cli.status import suite_progress
    from bench.render import progress as progress_text
    from bench.results.store import Store

    started, shown = time.perf_counter(), None
    store = Store(db, read_only=True)
    while True:
        progress = suite_progress(config, suite, store)
        line = progress_text.render(progress, suite.name, db).splitlines()[0]
        if line != shown:
            print(f"bench: {line}", file=sys.stderr)
            shown = line
        if not progress.remaining or all(job.done(force_check=True) for job in jobs):
            break
        time.sleep(config.workers.poll_seconds)
    progress = suite_progress(config, suite, store)
    if progress.remaining:
        print(progress_text.render(progress, suite.name, db), file=sys.stderr)
        raise BenchError(f"every job ended with {progress.remaining} cells of suite {suite.name!r} not done; "
                         "see the cells above and the jobs' logs, then launch again to finish them")
    print_board(config, suite, store, started)
    return 0
