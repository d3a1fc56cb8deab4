"""Launching a run over several ranks and keeping them in step: rank 0 runs the command, the others follow.

The launcher takes its entry point as a callable (a module-level function, so the spawned ranks can unpickle
it): rank code never imports the command line that started it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

import torch

from bench.config import Config, SuiteConfig
from bench.errors import BenchError
from bench.ranks import distributed

Command = Callable[[Config, argparse.Namespace], int]
"""`bench run` itself: what rank 0 (or a single process) executes."""
Entry = Callable[[argparse.Namespace], int]
"""What a launched rank executes: reads the config and runs the command (user errors: exit 2)."""
FollowSuite = Callable[[Config, SuiteConfig, str, bool], None]
"""How a rank above 0 runs one of rank 0's suites (config, suite, device type, rerun), with no store of its own."""


def run(config: Config, args: argparse.Namespace, command: Command, entry: Entry, follow_suite: FollowSuite) -> int:
    """`bench run` under --nproc or torchrun: launch the ranks (through `entry`), or, in a rank, join the group
    and either run `command` (rank 0, which writes the store and prints the report) or follow rank 0's suites."""
    if getattr(args, "worker", False):
        raise BenchError("--worker does not combine with --nproc or torchrun: one multi-rank run is one process "
                         "group; start several `bench run --worker` processes without --nproc instead")
    if not distributed.launched():
        if args.nproc == 1:
            return command(config, argparse.Namespace(**{**vars(args), "nproc": None}))
        return launch(args.nproc, entry, args)
    requested = getattr(args, "device", None) or config.device
    with distributed.process_group(use_cuda=requested != "cpu" and torch.cuda.is_available()):
        if distributed.rank() != 0:
            return follow(config, follow_suite)
        try:
            code = command(config, args)
        except BaseException:
            distributed.release_followers()  # they wait for rank 0's next suite
            raise
        distributed.broadcast(None)
        return code


def launch(nproc: int, entry: Entry, args: argparse.Namespace) -> int:
    """Start `nproc` local ranks running `entry(args)` through torch's elastic launcher (torchrun's engine;
    standalone rendezvous on a free local port); returns the worst exit code. Multi-node: run torchrun itself
    (docs/scaling-out.md)."""
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    threads = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = threads or str(max(1, (os.cpu_count() or 1) // nproc))  # ranks inherit it
    launch_config = LaunchConfig(min_nodes=1, max_nodes=1, nproc_per_node=nproc, run_id=f"bench-{os.getpid()}",
                                 rdzv_backend="c10d", rdzv_endpoint="127.0.0.1:0", max_restarts=0,
                                 monitor_interval=0.1, start_method="spawn")
    try:
        codes = elastic_launch(launch_config, rank_main)(entry, args)
    except ChildFailedError as exc:
        rank_id, failure = exc.get_first_failure()
        message = failure.message if isinstance(failure.message, str) else failure.message.get("message", "")
        first = (message.strip().splitlines() or ["no message"])[0]
        print(f"bench: error: rank {rank_id} failed (exit code {failure.exitcode}): {first}", file=sys.stderr)
        return 1
    finally:
        if threads is None:
            del os.environ["OMP_NUM_THREADS"]
    return max(codes.values(), default=0)


def rank_main(entry: Entry, args: argparse.Namespace) -> int:
    """A launched rank: `entry(args)`, its uncaught errors recorded for the launcher to report."""
    from torch.distributed.elastic.multiprocessing.errors import record

    return record(entry)(args)


def follow(config: Config, follow_suite: FollowSuite) -> int:
    """A rank above 0: run each suite rank 0 runs, in step with it, until rank 0 says it is done."""
    while (message := distributed.broadcast(None)) is not None:
        suite, device_type, rerun = message
        try:
            follow_suite(config, suite, device_type, rerun)
        except BaseException as exc:
            distributed.publish(f"{type(exc).__name__}: {exc}")
            raise
    return 0

