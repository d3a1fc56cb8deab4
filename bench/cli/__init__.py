"""Command line: `python -m bench run | launch | status | plan | list | report | recommend | data | dashboard |
check | export | db`.

One module per group of commands, each command one function `cmd_<name>(config, args) -> exit code`."""

from __future__ import annotations

import sys

from bench.cli.launch import cmd_launch
from bench.cli.parser import build_parser
from bench.cli.plan import cmd_plan
from bench.cli.results import cmd_check, cmd_db, cmd_export, cmd_recommend, cmd_report
from bench.cli.run import cmd_run, suite_for_run
from bench.cli.status import cmd_status
from bench.cli.tools import cmd_dashboard, cmd_data, cmd_list
from bench.config import load_config
from bench.errors import BenchError

__all__ = ["COMMANDS", "build_parser", "cmd_run", "main", "run_command", "suite_for_run"]

COMMANDS = {"db": cmd_db, "run": cmd_run, "plan": cmd_plan, "list": cmd_list, "report": cmd_report,
            "recommend": cmd_recommend, "data": cmd_data, "status": cmd_status,
            "launch": cmd_launch,
            "dashboard": cmd_dashboard, "check": cmd_check, "export": cmd_export}



def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    config = load_config(args.config)
    if args.command in ("run", "plan", "list", "check", "status", "launch"):
        from bench.registry import load_plugins
        from bench.tasks.task import task_loader

        load_plugins(config.plugins)
        for task in config.tasks:  # a kind is known only once plugins are loaded: each checked before anything runs
            task_loader(task)
    return COMMANDS[args.command](config, args)


def run_command(argv: list[str]) -> int:
    """`python -m bench <argv>` in this process, as its exit code: the one place user errors are caught (one
    line, exit 2), and where a stopped run's process says so (a launched job's worker runs this too)."""
    from bench.suite.preemption import EXIT_CODE, Interrupted

    try:
        return main(argv)
    except BenchError as exc:
        print(f"bench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench: interrupted; the run in flight was marked abandoned (its cell is free again)", file=sys.stderr)
        return 130
    except Interrupted as exc:
        print(f"bench: {exc}; the run in flight was marked abandoned (its cell is free again)", file=sys.stderr)
        return EXIT_CODE
