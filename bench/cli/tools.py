"""The commands around the runs: `list` what is registered, build task `data`, start the `dashboard`."""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.config import Config


def cmd_list(config: Config, args: argparse.Namespace) -> int:
    from bench.registry import REGISTRY

    print("strategies:")
    for entry in REGISTRY.entries():
        params = ", ".join(f"{k}={v!r}" for k, v in entry.parameters().items())
        print(f"  {entry.name:<18} {entry.description}" + (f"  [{params}]" if params else ""))
    from bench.model.pretrained import MODELS
    from bench.tasks.task import TASKS

    for title, kind in (("task kinds:", TASKS), ("models (or a Hugging Face folder or hub id):", MODELS)):
        print(title)
        for entry in kind.entries():
            print(f"  {entry.name:<18} {entry.description}")
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
    from bench.cli import dashboard

    return dashboard.launch(args.db or config.db, args.host, args.port, config=args.config)

