"""One cell of a suite: claim it, build the run's model, train and evaluate it, and store what it measured."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch
from tqdm.auto import tqdm

from bench.config import EnergyConfig, SuiteConfig, TrainConfig, WorkersConfig
from bench.measure.device import energy_meter, peak_memory, reset_peak_memory
from bench.measure.energy import Energy, EnergyGauge
from bench.metrics import CURVE_METRICS, summarise
from bench.model import costmodel
from bench.model.encoder import BiEncoder
from bench.model.ledger import WorkLedger
from bench.model.pretrained import LoadedModel
from bench.model.prices import StepPrices
from bench.ranks import distributed
from bench.ranks.rank_store import RankStore
from bench.registry import Strategy
from bench.results.identity import Hardware, RunIdentity, hardware_hash
from bench.results.liveness import Heartbeat
from bench.results.store import Store
from bench.suite import controls, preemption
from bench.suite.cells import BuiltStrategy, PlannedCell
from bench.tasks.task import Task
from bench.tasks.tokenised import RankingInputs, TokenisedTask, tokenise
from bench.training.calibration import measure_prices, setup_of
from bench.training.evaluate import SharedPrefixes, rank
from bench.training.loop import total_steps, train
from bench.training.measurement import Measurement
from bench.training.pace import baseline_pace
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
        # an equal-time control's steps, from the stored runs it is timed against (None: not all there yet)
        data, cfg = self.inputs[key].data, context.train
        built = controls.resolve(context.store, cell.built, cell.seed, cell.needs,
                                 total_steps(len(data.train_messages), cfg),
                                 lambda: self._pace(cell.loaded, data, cell.seed), cfg.warmup_ratio)
        if built is None:
            return None
        self._warm(cell.loaded, data)
        return run_one(context, self.inputs[key], built, cell.seed, rerun=self.rerun)

    def _warm(self, loaded: LoadedModel, data: TokenisedTask) -> None:
        """The process's one-off costs, off every run's clock: once per model."""
        if loaded.name not in self.warmed:
            warm_up(loaded, data, self.context.train, self.context.device)
            self.warmed.add(loaded.name)

    def _pace(self, loaded: LoadedModel, data: TokenisedTask, seed: int) -> list[float]:
        """The baseline's first steps on `seed`, timed now (an equal-time control's budget), after the process's
        one-off warm-up so that they read the pace later steps run at."""
        context = self.context
        self._warm(loaded, data)
        return baseline_pace(lambda: build_model(loaded, context.train, Strategy(), seed, context.device), data,
                             context.train, seed, context.device)


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


def measure_and_dump(inputs: ModelInputs, cfg: TrainConfig, device: torch.device) -> dict:
    return measure_prices(inputs.loaded, inputs.data, cfg, device).to_dict()


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
            at = dataclasses.replace(cfg, precision=precision)
            setup = setup_of(inputs.loaded, inputs.data, at, context.device)
            context.prices[key] = StepPrices.from_dict(context.store.record_step_prices(  # timed the first time only
                hardware_hash(context.hardware), setup,
                partial(measure_and_dump, inputs, at, context.device)))
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
    except preemption.STOPS as exc:  # stopped from outside: the cell is free again at once (bench/suite/preemption.py)
        with preemption.shielded():  # a second signal (the requeue's SIGTERM) must not cut the abandonment short
            store.abandon_run(run_id, preemption.why_stopped(exc))
        raise
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
    steps = total_steps(len(data.train_messages), built.strategy.configure(cfg)) if built.strategy.trains else 0
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


def stored_evaluation(store: Store | RankStore, identity: RunIdentity) -> tuple[str, Measurement] | None:
    """A completed, untrained run of the same model weights, task data, settings, fraction and hardware, and its
    measurement rebuilt from the store (ranks, curve, energy): exact, since an untrained model is the same for every
    seed. None under several ranks (rank 0's store decides alone there) or when there is none."""
    if not isinstance(store, Store):
        return None
    found = [run for run in store.runs(status="completed", label=identity.label, model_hash=identity.model_hash,
                                       task_hash=identity.task_hash, settings_hash=identity.settings_hash,
                                       train_fraction=identity.train_fraction, hardware_hash=identity.hardware_hash,
                                       steps=0)
             if not (run.environment or {}).get("evaluation_of")]
    if not found:
        return None
    run = found[0]
    ranks, intent_ranks = store.ranks([run.id])[run.id]
    curve = [{"seconds": p.seconds, "step": p.step, "joules": p.joules, "headline": p.headline,
              **{name: getattr(p, name) for name in CURVE_METRICS}} for p in store.curves([run.id]).get(run.id, [])]
    energy = Energy(0.0, run.energy_source, run.energy_meter or "") if run.energy_source else None
    return run.id, Measurement(
        train_seconds=0.0, eval_seconds=run.eval_seconds or 0.0, peak_memory_bytes=run.peak_memory_bytes or 0,
        memory_kind=run.memory_kind or "", steps=0, pairs_trained=0, train_pairs=run.train_pairs or 0,
        test_pairs=run.test_pairs or 0, test_left_out=run.test_left_out or 0,
        metrics=summarise(ranks, intent_ranks), curve=curve, ranks=ranks, intent_ranks=intent_ranks,
        step_seconds=np.zeros(0), energy=energy)
