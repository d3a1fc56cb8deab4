"""Runs a suite: every strategy x model x data fraction x seed, measured and stored one run at a time."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from bench.analysis.metrics import CURVE_METRICS, summarise
from bench.config import Config, StrategySpec, SuiteConfig, TrainConfig
from bench.model import costmodel
from bench.model.encoder import BiEncoder, LoadedModel, load_pretrained
from bench.registry import REGISTRY, Strategy
from bench.results.store import Store
from bench.tasks.batching import Encoded, encode_texts
from bench.tasks.task import Task, load_task
from bench.training import environment
from bench.training.device import describe, peak_memory, reset_peak_memory, resolve_device
from bench.training.evaluate import rank
from bench.training.loop import total_steps, train


def stable_hash(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Prepared:
    """A task's texts tokenised once per model (and data fraction), shared by every run."""

    train_messages: Encoded
    train_replies: Encoded
    test_messages: Encoded
    dev_messages: Encoded
    whitelist: Encoded
    test_relevant: np.ndarray
    dev_relevant: np.ndarray
    mean_tokens: float


def prepare(task: Task, loaded: LoadedModel, cfg: TrainConfig, fraction: float) -> Prepared:
    pairs = task.train_subset(fraction, cfg.max_train_pairs)
    tokenizer = loaded.tokenizer
    messages = encode_texts(tokenizer, [p.message for p in pairs], cfg.max_message_length)
    replies = encode_texts(tokenizer, [p.reply for p in pairs], cfg.max_reply_length)
    return Prepared(
        messages, replies,
        encode_texts(tokenizer, [p.message for p in task.test], cfg.max_message_length),
        encode_texts(tokenizer, [p.message for p in task.dev], cfg.max_message_length),
        encode_texts(tokenizer, list(task.whitelist), cfg.max_reply_length),
        task.intent_relevance(task.test_gold), task.intent_relevance(task.dev_gold),
        float(messages.lengths.float().mean() + replies.lengths.float().mean()) / 2,
    )


def ideal_speedup(model: BiEncoder, original_layers: int, cfg: TrainConfig, mean_tokens: float) -> float:
    """The FLOP model's speedup of this model's training plan over full fine-tuning of the original."""
    config = model.message_tower.config
    shape = costmodel.EncoderShape(config.hidden_size, config.intermediate_size, original_layers,
                                   config.vocab_size, config.max_position_embeddings)
    tower = model.message_tower
    plan = costmodel.TrainPlan(len(tower.layers), tower.frozen_prefix, tower.embeddings_frozen)
    seq_len = max(1, round(mean_tokens))
    return costmodel.ideal_speedup(shape, plan, tokens_per_step=2 * cfg.batch_size * seq_len, seq_len=seq_len)


class Interrupted(Exception):
    """SIGTERM while a run is in flight: the run is marked failed before the process exits."""


def _raise_interrupted(signum, frame):
    raise Interrupted(f"terminated by signal {signum}")


def ordered(strategies: tuple[StrategySpec, ...], baseline: str) -> list[StrategySpec]:
    """Baseline first, so every seed has its reference before the strategies compared with it."""
    return sorted(strategies, key=lambda s: s.name != baseline)


def plan_size(suite: SuiteConfig) -> int:
    return len(suite.models) * len(suite.train_fractions) * len(suite.seeds) * len(suite.strategies)


def run_suite(config: Config, suite: SuiteConfig, store: Store, device_name: str = "auto",
              show_progress: bool = True, on_run: Callable[[str], None] | None = None,
              announce: Callable[[str], None] | None = None) -> list[str]:
    """Run every strategy of `suite`; returns the new run ids. A failed run is stored as failed.

    Every input (device, strategies, task data, models) is checked before the first run starts."""
    device = resolve_device(device_name)
    strategies = [(spec, REGISTRY.build(spec.name, spec.params)) for spec in ordered(suite.strategies, suite.baseline)]
    task = load_task(config.task(suite.task), suite.train.dev_eval_pairs)
    models = [load_pretrained(name) for name in suite.models]
    hardware = describe(device)
    if announce:
        announce(f"suite {suite.name!r}: {plan_size(suite)} runs on task {task.name!r} ({', '.join(suite.models)}), "
                 f"seeds {list(suite.seeds)}, {hardware.device_name}")
    env = environment.capture()
    run_ids = []
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    overall = tqdm(total=plan_size(suite), desc=f"suite {suite.name}", unit="run", disable=not show_progress,
                   position=0)
    try:
        for loaded in models:
            for fraction in suite.train_fractions:
                prepared = prepare(task, loaded, suite.train, fraction)
                for seed in suite.seeds:
                    for spec, strategy in strategies:
                        run_id = run_one(store, suite, task, loaded, prepared, spec, strategy, seed, fraction,
                                         device, hardware, env, show_progress)
                        run_ids.append(run_id)
                        overall.update(1)
                        if on_run:
                            on_run(run_id)
    finally:
        overall.close()
        signal.signal(signal.SIGTERM, previous)
    return run_ids


def run_one(store: Store, suite: SuiteConfig, task: Task, loaded: LoadedModel, prepared: Prepared,
            spec: StrategySpec, strategy: Strategy, seed: int, fraction: float, device: torch.device,
            hardware, env: dict, show_progress: bool) -> str:
    cfg = suite.train
    torch.manual_seed(seed)
    model = BiEncoder(loaded.fresh_copy(), cfg.shared_towers, cfg.scale, cfg.unpad)
    original_layers = model.num_layers
    strategy.prepare(model)
    model.to(device)
    if not cfg.dropout:
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
    settings = {"train": dataclasses.asdict(cfg), "task": task.name, "task_hash": task.data_hash,
                "model": loaded.name, "model_hash": loaded.weights_hash, "train_fraction": fraction,
                "headline_metric": task.headline_metric}
    hardware_fields = dataclasses.asdict(hardware)
    total, trainable = model.count_parameters()
    run_id = store.start_run(
        suite=suite.name, strategy=spec.name, label=spec.label, params=dict(spec.params), task=task.name,
        task_version=task.version, task_hash=task.data_hash, model=loaded.name, model_hash=loaded.weights_hash,
        seed=seed, train_fraction=fraction, settings_hash=stable_hash(settings),
        config_hash=stable_hash({**settings, "strategy": spec.name, "params": dict(spec.params), "seed": seed}),
        settings=settings, device_type=hardware.device_type, device_name=hardware.device_name,
        device_count=hardware.device_count, hardware_hash=stable_hash(hardware_fields),
        environment={**env, **hardware_fields}, git_commit=str(env["git_commit"]), git_dirty=bool(env["git_dirty"]),
        headline_metric=task.headline_metric, total_params=total, trainable_params=trainable,
        layers=model.num_layers)
    try:
        result = _measure(model, task, prepared, cfg, strategy, seed, device, spec.label, show_progress)
        ideal = ideal_speedup(model, original_layers, cfg, prepared.mean_tokens) if strategy.trains else None
        store.complete_run(run_id, {**result["fields"], "ideal_speedup": ideal}, result["curve"],
                           result["ranks"], result["intent_ranks"])
    except BaseException as exc:
        store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
        raise
    return run_id


def _measure(model: BiEncoder, task: Task, prepared: Prepared, cfg: TrainConfig, strategy: Strategy, seed: int,
             device: torch.device, label: str, show_progress: bool) -> dict:
    def evaluate_dev() -> dict:
        ranks, intent_ranks = rank(model, prepared.dev_messages, prepared.whitelist, task.dev_gold,
                                   prepared.dev_relevant, cfg.eval_batch_size, device)
        summary = summarise(ranks, intent_ranks)
        return {**{name: summary[name] for name in CURVE_METRICS}, "headline": summary[task.headline_metric]}

    reset_peak_memory(device)
    steps = total_steps(len(prepared.train_messages), cfg) if strategy.trains else 0
    bar = tqdm(total=steps, desc=f"  {label} seed", unit="step", leave=False, position=1,
               disable=not show_progress or not steps)
    try:
        if strategy.trains:
            result = train(model, prepared.train_messages, prepared.train_replies, cfg, seed, device,
                           evaluate_dev=evaluate_dev if task.dev else None, on_step=lambda: bar.update(1))
        else:
            result = None
    finally:
        bar.close()
    curve = result.curve if result else ([{"seconds": 0.0, "step": 0, **evaluate_dev()}] if task.dev else [])
    started = time.perf_counter()
    ranks, intent_ranks = rank(model, prepared.test_messages, prepared.whitelist, task.test_gold,
                               prepared.test_relevant, cfg.eval_batch_size, device)
    eval_seconds = time.perf_counter() - started
    memory, memory_kind = peak_memory(device)
    seconds = result.seconds if result else 0.0
    fields = {
        "train_seconds": seconds, "eval_seconds": eval_seconds,
        "device_hours": seconds / 3600 * 1,  # one device per run
        "peak_memory_bytes": memory, "memory_kind": memory_kind,
        "samples_per_second": (result.pairs / seconds) if result and seconds else None,
        "steps": result.steps if result else 0, "train_pairs": len(prepared.train_messages),
        "test_pairs": len(task.test), "test_left_out": task.test_left_out,
        **summarise(ranks, intent_ranks),
    }
    return {"fields": fields, "curve": curve, "ranks": ranks, "intent_ranks": intent_ranks}
