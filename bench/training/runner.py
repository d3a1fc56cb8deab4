"""Runs a suite: every strategy x model x data fraction x seed, measured and stored one run at a time."""

from __future__ import annotations

import dataclasses
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from bench.config import Config, EnergyConfig, StrategySpec, SuiteConfig, TrainConfig, WorkersConfig
from bench.errors import BenchError
from bench.metrics import CURVE_METRICS, summarise
from bench.model import costmodel
from bench.model.encoder import BiEncoder
from bench.model.ledger import WorkLedger
from bench.model.pretrained import LoadedModel, load_pretrained
from bench.model.prices import StepPrices
from bench.registry import REGISTRY, Strategy
from bench.results.identity import Cell, Fingerprints, Hardware, RunIdentity, hardware_hash
from bench.results.liveness import Heartbeat
from bench.results.store import Store
from bench.tasks.task import Task, load_task
from bench.tasks.tokenised import RankingInputs, TokenisedTask, tokenise
from bench.training import distributed, environment
from bench.training.calibration import stored_prices
from bench.training.device import describe, energy_meter, peak_memory, reset_peak_memory, resolve_device
from bench.training.energy import EnergyGauge
from bench.training.evaluate import SharedPrefixes, rank
from bench.training.loop import total_steps, train
from bench.training.measurement import Measurement, stored_evaluation
from bench.training.rank_store import RankStore, rank_store
from bench.training.warmup import warm_up


@dataclass(frozen=True)
class SuiteContext:
    """What every run of one suite shares: where results go, the task, and the machine it runs on."""

    store: Store | RankStore
    suite: SuiteConfig
    task: Task
    device: torch.device
    hardware: Hardware
    env: dict
    show_progress: bool = False
    workers: WorkersConfig = WorkersConfig()
    energy: EnergyConfig = EnergyConfig()
    untrained: dict[tuple[str, float, str], tuple[str, Measurement]] = field(default_factory=dict)
    """(model, data fraction, strategy) -> (run id, measurement) of a strategy that does not train: its model is
    the same for every seed, so it is evaluated once and its other seeds' runs store that evaluation."""
    prefixes: dict[str, SharedPrefixes] = field(default_factory=dict)
    """Per model: evaluation outputs of its frozen pre-trained prefixes, computed once for all the suite's runs."""
    prices: dict[tuple[str, float, str], StepPrices] = field(default_factory=dict)
    """(model, data fraction, precision) -> this machine's step prices, read or timed once per suite run."""

    @property
    def train(self) -> TrainConfig:
        return self.suite.train


@dataclass(frozen=True)
class ModelInputs:
    """One model and the task tokenised for it at one data fraction: shared by that cell's seeds and strategies."""

    loaded: LoadedModel
    data: TokenisedTask
    prefixes: SharedPrefixes | None = None


@dataclass(frozen=True)
class BuiltStrategy:
    """A suite's strategy entry with its strategy built (so bad parameters fail before the first run)."""

    spec: StrategySpec
    strategy: Strategy


def ideal_speedup(model: BiEncoder, cfg: TrainConfig, mean_tokens: float, work: dict | None = None) -> float:
    """The work ledger's priced ideal (the baseline's step over the run's steps at this machine's measured step
    prices) when it has one; else its FLOP ideal (baseline-equivalent FLOPs over the steps' FLOPs); else the FLOP
    model's speedup of this model's training plan over full fine-tuning of the original."""
    for key in ("priced_ideal_speedup", "ideal_speedup"):
        if work and work.get(key):
            return work[key]
    seq_len = max(1, round(mean_tokens))
    return costmodel.ideal_speedup(model.original_shape(), model.train_plan(),
                                   tokens_per_step=2 * cfg.batch_size * seq_len, seq_len=seq_len)


class Interrupted(Exception):
    """SIGTERM while a run is in flight: the run is marked failed before the process exits."""


def _raise_interrupted(signum, frame):
    raise Interrupted(f"terminated by signal {signum}")


def ordered(strategies: tuple[StrategySpec, ...], baseline: str) -> list[StrategySpec]:
    """Baseline first, so every seed has its reference before the strategies compared with it."""
    return sorted(strategies, key=lambda s: s.name != baseline)


@dataclass(frozen=True)
class PlannedCell:
    """One run a suite asks for (model x data fraction x seed x strategy) and its cell in the store."""

    loaded: LoadedModel
    fraction: float
    seed: int
    built: BuiltStrategy
    cell: Cell


def plan(suite: SuiteConfig, task: Task, models: list[LoadedModel], strategies: list[BuiltStrategy],
         hardware: Hardware) -> list[PlannedCell]:
    """Every cell of the suite, in run order: model, data fraction, seed, then strategy with the baseline first."""
    return [PlannedCell(loaded, fraction, seed, built,
                        Fingerprints.of(suite, task, loaded, built.spec, seed, fraction, hardware).cell)
            for loaded in models for fraction in data_fractions(suite, task) for seed in suite.seeds
            for built in strategies]


def data_fractions(suite: SuiteConfig, task: Task) -> tuple[float, ...]:
    """The suite's data points as fractions of the task's training pairs: its `train_sizes` where it lists them."""
    return tuple(task.size_fraction(size) for size in suite.train_sizes) if suite.train_sizes else \
        suite.train_fractions


@dataclass(frozen=True)
class LoadedSuite:
    """Everything a suite reads before its first run: all checked up front, so bad input fails before anything is
    written."""

    device: torch.device
    strategies: list[BuiltStrategy]
    task: Task
    models: list[LoadedModel]
    hardware: Hardware


def load_suite(config: Config, suite: SuiteConfig, device_name: str = "auto") -> LoadedSuite:
    device = resolve_device(device_name)
    strategies = [BuiltStrategy(spec, REGISTRY.build(spec.name, spec.params))
                  for spec in ordered(suite.strategies, suite.baseline)]
    task = load_task(config.task(suite.task), suite.train.dev_eval_pairs)
    data_fractions(suite, task)  # a train size the task cannot hold fails here, before anything runs
    return LoadedSuite(device, strategies, task, [load_pretrained(name) for name in suite.models], describe(device))


def run_suite(config: Config, suite: SuiteConfig, store: Store | None, device_name: str = "auto",
              show_progress: bool = True, on_run: Callable[[str], None] | None = None,
              announce: Callable[[str], None] | None = None, rerun: bool = False, worker: bool = False,
              loaded: LoadedSuite | None = None) -> list[str]:
    """Run every cell of `suite` that has no completed run yet (all of them with `rerun`); returns the new run ids.

    Each run claims its cell first, so several processes (or machines sharing a database) split a suite between
    them, and a cell whose run was abandoned is run again. A `worker` also waits for the cells other processes
    hold, taking over any whose process dies, until every cell is done. Every input (device, strategies, task
    data, models) is checked before the first run starts; a failed run is stored as failed."""
    if rerun and worker:
        raise BenchError("--rerun and --worker do not combine: rerun the suite once, then start workers")
    if worker and distributed.active():
        raise BenchError("--worker does not combine with several ranks (--nproc or torchrun)")
    distributed.check_batch(suite.train.batch_size)
    loaded = loaded or load_suite(config, suite, device_name)
    distributed.share_suite(suite, loaded.device, rerun)  # the other ranks run it with rank 0 (they pass no store)
    context = SuiteContext(rank_store(store), suite, loaded.task, loaded.device, loaded.hardware,
                           environment.capture(), show_progress, config.workers, config.energy)
    cells = plan(suite, loaded.task, loaded.models, loaded.strategies, loaded.hardware)
    distributed.check_same("suite plan", [c.cell for c in cells])
    todo = cells if rerun else open_cells(context, cells)
    if announce:
        announce(f"suite {suite.name!r} on task {loaded.task.name!r} ({', '.join(suite.models)}), seeds "
                 f"{list(suite.seeds)}, {loaded.hardware.device_name}: {len(cells) - len(todo)} of {len(cells)} "
                 f"cells already done; running {len(todo)}")
    context.store.record_peak_flops(hardware_hash(loaded.hardware), suite.train.precision,  # once per machine
                                    loaded.hardware.device_name, lambda: costmodel.matmul_peak_flops(
                                        loaded.device.type, dtype=suite.train.precision))
    run_ids: list[str] = []
    with interrupted_by_sigterm(), tqdm(total=len(todo), desc=f"suite {suite.name}", unit="run",
                                        disable=not show_progress, position=0) as overall:
        def done(run_id: str) -> None:
            run_ids.append(run_id)
            overall.update(1)
            if on_run:
                on_run(run_id)

        held = schedule(context, todo, CellRunner(context, rerun), done, worker, config.workers.poll_seconds)
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
        run_id = None if "running" in states.get(cell.cell, ()) else run_cell(cell)
        if run_id is None:
            held.append(cell)
        else:
            done(run_id)
    return held


@contextmanager
def interrupted_by_sigterm() -> Iterator[None]:
    """SIGTERM raises `Interrupted` in the run in flight (so it is stored as failed), then the process exits."""
    previous = signal.signal(signal.SIGTERM, distributed.sigterm_handler(_raise_interrupted))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class CellRunner:
    """Runs one planned cell, keeping what a process's cells share: each model's task data tokenised per data
    fraction, and which models had their one-off warm-up."""

    context: SuiteContext
    rerun: bool = False
    inputs: dict[tuple[str, float], ModelInputs] = field(default_factory=dict)
    warmed: set[str] = field(default_factory=set)

    def __call__(self, cell: PlannedCell) -> str | None:
        context, name = self.context, cell.loaded.name
        key = (name, cell.fraction)
        if key not in self.inputs:
            same_model = next((inputs.data for (other, _), inputs in self.inputs.items() if other == name), None)
            data = tokenise(context.task, cell.loaded.tokenizer, context.train, cell.fraction, same_model)
            prefixes = context.prefixes.setdefault(name, SharedPrefixes(cell.loaded))
            self.inputs[key] = ModelInputs(cell.loaded, data, prefixes)
        if name not in self.warmed:  # the process's one-off costs, off every run's clock
            warm_up(cell.loaded, self.inputs[key].data, context.train, context.device)
            self.warmed.add(name)
        return run_one(context, self.inputs[key], cell.built, cell.seed, rerun=self.rerun)


def build_model(loaded: LoadedModel, cfg: TrainConfig, strategy: Strategy, seed: int,
                device: torch.device) -> BiEncoder:
    """A fresh copy of the pre-trained encoder, changed by `strategy`, on `device`: a run's starting model."""
    torch.manual_seed(seed)
    model = BiEncoder(loaded.fresh_copy(), cfg.shared_towers, cfg.scale, cfg.unpad, cfg.length_buckets)
    strategy.prepare(model)
    model.to(device)
    if not cfg.dropout:
        model.disable_dropout()
    return model


def step_prices(context: SuiteContext, inputs: ModelInputs, built: BuiltStrategy) -> dict[str, StepPrices] | None:
    """This machine's step prices at the precisions a run's ideal needs (the suite's, for its baseline, and the
    run's own), timed once per setup and kept in the store; None for a run that does not train, or on several
    ranks (a rank's shard is not a step: the FLOP ideal stands)."""
    if not built.strategy.trains or distributed.active():
        return None
    cfg = context.train
    prices = {}
    for precision in {cfg.precision, built.strategy.configure(cfg).precision}:
        key = (inputs.loaded.name, inputs.data.fraction, precision)
        if key not in context.prices:
            context.prices[key] = stored_prices(context.store, hardware_hash(context.hardware), inputs.loaded,
                                                inputs.data, dataclasses.replace(cfg, precision=precision),
                                                context.device)
        prices[precision] = context.prices[key]
    return prices


def run_one(context: SuiteContext, inputs: ModelInputs, built: BuiltStrategy, seed: int,
            rerun: bool = False) -> str | None:
    """Claim, run, measure and store one strategy on one seed; None when another live process holds the cell
    (or it is done, unless `rerun`). The run is stored as failed if anything goes wrong."""
    cfg, spec, store = context.train, built.spec, context.store
    model = build_model(inputs.loaded, cfg, built.strategy, seed, context.device)
    seq_len = max(1, round(inputs.data.mean_tokens))  # the FLOP model's nominal step, as `ideal_speedup` prices it
    ledger = WorkLedger(model.original_shape(), seq_len, nominal_tokens=2 * cfg.batch_size * seq_len,
                        prices=step_prices(context, inputs, built), base_precision=cfg.precision,
                        device_type=context.device.type)
    untrained_key = (inputs.loaded.name, inputs.data.fraction, spec.label)
    identity = RunIdentity.of(suite=context.suite, task=context.task, loaded=inputs.loaded, spec=spec, seed=seed,
                              fraction=inputs.data.fraction, hardware=context.hardware, environment=context.env,
                              model=model)
    # an earlier seed's run of the same untrained model: in this process, else in the store (an earlier round,
    # a resumed suite, another worker)
    evaluated = context.untrained.get(untrained_key) or (
        None if built.strategy.trains or rerun else stored_evaluation(store, identity))
    if evaluated:
        context.untrained[untrained_key] = evaluated  # found in the store: the next seeds need not look again
        identity = dataclasses.replace(identity, environment={**context.env, "evaluation_of": evaluated[0]})
    run_id = store.claim(identity, context.workers.stale_after, rerun=rerun)
    if run_id is None:
        return None
    try:
        if evaluated:  # the same untrained model as that run's: its ranks, not a second evaluation
            measured = dataclasses.replace(evaluated[1], eval_seconds=0.0)
        else:
            with Heartbeat(lambda: store.heartbeat(run_id), context.workers.heartbeat_seconds):
                measured = measure(context, model, inputs, built, seed, ledger)
            if not measured.steps:  # it did not train: its model is the same for every seed
                context.untrained[untrained_key] = (run_id, measured)
        work = ledger.totals() if ledger.steps else None
        ideal = ideal_speedup(model, cfg, inputs.data.mean_tokens, work) if measured.steps else None
        store.complete_run(run_id, {**measured.results(), "ideal_speedup": ideal, "work": work}, measured.curve,
                           measured.ranks, measured.intent_ranks, measured.step_seconds)
    except BaseException as exc:
        store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
        raise
    return run_id


def measure(context: SuiteContext, model: BiEncoder, inputs: ModelInputs, built: BuiltStrategy, seed: int,
            ledger: WorkLedger | None = None) -> Measurement:
    """Train (timed, dev curve paused out; `built.strategy`'s hooks act and `ledger` counts the work; a strategy
    that does not train gets no steps), then rank the test split (timed apart)."""
    cfg, task, device, data = context.train, context.task, context.device, inputs.data

    def ranks_of(queries: RankingInputs) -> tuple[np.ndarray, np.ndarray]:
        return rank(model, queries, data.whitelist, cfg.eval_batch_size, device, inputs.prefixes)

    def evaluate_dev() -> dict:
        summary = summarise(*ranks_of(data.dev))
        return {**{name: summary[name] for name in CURVE_METRICS}, "headline": summary[task.headline_metric]}

    reset_peak_memory(device)
    steps = total_steps(len(data.train_messages), cfg) if built.strategy.trains else 0  # for the progress bar
    with tqdm(total=steps, desc=f"  {built.spec.label} seed", unit="step", leave=False, position=1,
              disable=not context.show_progress or not steps) as bar:
        result = train(model, data.train_messages, data.train_replies, cfg, seed, device,
                       evaluate_dev=evaluate_dev if len(task.dev) else None, on_step=lambda: bar.update(1),
                       strategy=built.strategy, ledger=ledger,
                       energy=EnergyGauge(energy_meter(device, context.energy.watts_per_core)))
    started = time.perf_counter()
    ranks, intent_ranks = ranks_of(data.test)
    eval_seconds = time.perf_counter() - started
    memory, memory_kind = peak_memory(device)
    return Measurement(
        train_seconds=result.seconds, eval_seconds=eval_seconds, peak_memory_bytes=memory, memory_kind=memory_kind,
        steps=result.steps, pairs_trained=result.pairs, train_pairs=len(data.train_messages),
        test_pairs=len(task.test), test_left_out=task.test_left_out, metrics=summarise(ranks, intent_ranks),
        curve=result.curve, ranks=ranks, intent_ranks=intent_ranks,
        step_seconds=np.asarray(result.step_seconds, dtype=np.float64), energy=result.energy)
