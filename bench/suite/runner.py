"""Runs a suite: every strategy x model x data fraction x seed, measured and stored one run at a time."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

from tqdm.auto import tqdm

from bench.config import Config, SuiteConfig
from bench.errors import BenchError
from bench.measure import environment
from bench.model import costmodel
from bench.ranks import distributed
from bench.ranks.rank_store import rank_store
from bench.results.identity import hardware_hash
from bench.results.store import Store
from bench.suite import controls
from bench.suite.cell import CellRunner, SuiteContext
from bench.suite.cells import LoadedSuite, PlannedCell, cell_names, load_suite, plan
from bench.suite.preemption import interrupted_by_sigterm


@dataclass(frozen=True)
class SuiteRun:
    """One request to run a suite, as `bench run`, a round of `--until-decided`, a pilot or a follower rank makes
    it: the suite, where its results go, and how this process takes part."""

    config: Config
    suite: SuiteConfig
    store: Store | None
    """None on a rank above 0: rank 0's store decides for every rank."""
    device: str = "auto"
    show_progress: bool = True
    on_run: Callable[[str], None] | None = None
    """Called with each new run's id as it completes."""
    announce: Callable[[str], None] | None = None
    """Where the suite's one-line news goes (cells done, cells held by others)."""
    rerun: bool = False
    """Run every cell again, completed or not."""
    worker: bool = False
    """Wait for the cells other processes hold, taking over any whose process dies, until every cell is done."""
    loaded: LoadedSuite | None = None
    """The suite's inputs, already read and checked (else read here)."""


def run_suite(request: SuiteRun) -> list[str]:
    """Run every cell of the suite that has no completed run yet (all of them with `rerun`); returns the new run ids.

    Each run claims its cell first, so several processes (or machines sharing a database) split a suite between
    them, and a cell whose run was abandoned is run again. A `worker` also waits for the cells other processes
    hold, taking over any whose process dies, until every cell is done. Every input (device, strategies, task
    data, models) is checked before the first run starts; a failed run is stored as failed."""
    config, suite, announce = request.config, request.suite, request.announce
    if request.rerun and request.worker:
        raise BenchError("--rerun and --worker do not combine: rerun the suite once, then start workers")
    if request.worker and distributed.active():
        raise BenchError("--worker does not combine with several ranks (--nproc or torchrun)")
    distributed.check_batch(suite.train.batch_size)
    loaded = request.loaded or load_suite(config, suite, request.device)
    if distributed.active() and any(controls.is_control(b.spec) for b in loaded.strategies):
        raise BenchError(controls.ONE_PROCESS)
    distributed.share_suite(suite, loaded.device, request.rerun)  # the other ranks run it with rank 0 (no store)
    context = SuiteContext(rank_store(request.store), suite, loaded.task, loaded.device, loaded.hardware,
                           environment.capture(), request.show_progress, config.workers, config.energy)
    cells = plan(suite, loaded.task, loaded.models, loaded.strategies, loaded.hardware)
    distributed.check_same("suite plan", [c.cell for c in cells])
    if request.store is not None:  # what `bench status` counts against, whatever this command line chose
        request.store.record_plan(suite.name, [dataclasses.astuple(key) for key in cell_names(suite, cells)])
    todo = cells if request.rerun else open_cells(context, cells)
    if announce:
        announce(f"suite {suite.name!r} on task {loaded.task.name!r} ({', '.join(suite.models)}), seeds "
                 f"{list(suite.seeds)}, {loaded.hardware.device_name}: {len(cells) - len(todo)} of {len(cells)} "
                 f"cells already done; running {len(todo)}")
    context.store.record_peak_flops(hardware_hash(loaded.hardware), suite.train.precision,  # once per machine
                                    loaded.hardware.device_name, lambda: costmodel.matmul_peak_flops(
                                        loaded.device.type, dtype=suite.train.precision))
    run_ids: list[str] = []
    with interrupted_by_sigterm(), tqdm(total=len(todo), desc=f"suite {suite.name}", unit="run",
                                        disable=not request.show_progress, position=0) as overall:
        def done(run_id: str) -> None:
            run_ids.append(run_id)
            overall.update(1)
            if request.on_run:
                request.on_run(run_id)

        held = schedule(context, todo, CellRunner(context, request.rerun), done, request.worker,
                        config.workers.poll_seconds)
    if held and announce:
        announce(f"{len(held)} cells are being run by other processes; not waiting for them "
                 "(`bench run --worker` waits, and takes over a cell whose process dies)")
    return run_ids


def open_cells(context: SuiteContext, cells: list[PlannedCell]) -> list[PlannedCell]:
    """The cells with no completed run (by any process) so far."""
    states = context.store.cell_states(context.suite.name, context.workers.stale_after)
    return [c for c in cells if "completed" not in states.get(c.cell, ())]


def schedule(context: SuiteContext, cells: list[PlannedCell], run_cell: Callable[[PlannedCell], str | None],
             done: Callable[[str], None], worker: bool, poll_seconds: float) -> list[PlannedCell]:
    """Run each cell this process can claim; a `worker` then polls for the cells other live processes hold
    until they are all done (taking over any whose process dies). Returns the cells still held by others."""
    held = claim_each(context, cells, run_cell, done)
    while worker and held:
        time.sleep(poll_seconds)
        held = claim_each(context, open_cells(context, held), run_cell, done)
    return open_cells(context, held)  # others may have finished them meanwhile


def claim_each(context: SuiteContext, cells: list[PlannedCell], run_cell: Callable[[PlannedCell], str | None],
               done: Callable[[str], None]) -> list[PlannedCell]:
    """Run each cell no live process holds; returns the cells other live processes hold."""
    held = []
    for cell in cells:
        states = context.store.cell_states(context.suite.name, context.workers.stale_after)
        busy = "running" in states.get(cell.cell, ()) or not controls.ready(cell.needs, states)  # held, or waits
        run_id = None if busy else run_cell(cell)
        if run_id is None:
            held.append(cell)
        else:
            done(run_id)
    return held
