"""`bench status`: where a suite stands across every worker writing to its database, once or every few seconds."""

from __future__ import annotations

import argparse
import time

from bench.config import Config


def suite_progress(config: Config, suite, store):
    """The suite's cells against its stored runs, now (bench/analysis/progress.py): the plan the newest process
    to start it stored, else the plan bench.toml and this command line give (before anything ran)."""
    from bench.analysis.progress import of_suite

    def planned_here():
        from bench.suite.cells import cell_keys  # imports the model stack: only when no plan is stored

        return cell_keys(config, suite)

    return of_suite(store, suite.name, config.workers.stale_after, planned_here)


def cmd_status(config: Config, args: argparse.Namespace) -> int:
    from bench.cli.run import suite_for_run
    from bench.render import progress as progress_text
    from bench.results.store import Store

    suite = suite_for_run(config, args)
    store = None
    while True:
        if store is None or store.empty:  # a database still without bench's tables is looked at again each time
            store = Store(args.db or config.db, read_only=True, create=False)
        shown = progress_text.render(suite_progress(config, suite, store), suite.name, store.url)
        if not args.watch:
            print(shown)
            return 0
        print("\033[2J\033[H" + shown + f"\n(every {args.watch:g} s; Ctrl-C stops)", flush=True)
        time.sleep(args.watch)
