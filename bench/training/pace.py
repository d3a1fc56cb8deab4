"""The host's pace right now: the baseline's first steps of a seed, timed on a throwaway copy just before an
equal-time control trains (docs/methodology.md, "The equal-time control").

A control must take as long as the strategy it matches did. Step prices are timed once per machine, and the
baseline's stored step times were taken minutes or hours earlier; on a shared host either can be 10-30% off
the speed the control will run at. Timing a few of the very steps the control starts with, in its own process
and just before it, reads the speed its first steps will train at (later steps go by its own, bench/training/
budget.py). The copy is thrown away and the RNG state restored, so the control's result does not depend on it
(only its schedule does, through the seconds returned).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch

from bench.config import TrainConfig
from bench.measure.clock import synchronize
from bench.model.encoder import BiEncoder
from bench.model.ledger import WorkLedger
from bench.registry import StepContext, Strategy
from bench.tasks.tokenised import TokenisedTask
from bench.training.budget import PACE_STEPS
from bench.training.loop import batch_order, make_optimizer, precision, strategy_step, total_steps


def baseline_pace(build: Callable[[], BiEncoder], data: TokenisedTask, cfg: TrainConfig, seed: int,
                  device: torch.device, steps: int = PACE_STEPS) -> list[float]:
    """Seconds of each of the baseline's first `steps` training steps on `seed`'s batches (fewer if the
    schedule is shorter), run as the training loop runs them (the per-step hooks and the work ledger included)
    on the baseline's starting model from `build` (built as a run builds it), then thrown away."""
    messages, replies = data.train_messages, data.train_replies
    batch_size = min(cfg.batch_size, len(messages))
    schedule = total_steps(len(messages), cfg)
    order = batch_order(len(messages), batch_size, schedule, seed)
    seconds = []
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else [], device_type=device.type):
        model = build()
        model.train()
        optimizer, scheduler = make_optimizer(model, cfg, schedule)
        ledger = WorkLedger(model.original_shape())
        context = StepContext(0, schedule, model, optimizer, seed, ledger)
        autocast = precision(cfg, device)
        for step in range(min(steps, schedule)):
            batch = (messages.batch(order[step], device), replies.batch(order[step], device))
            synchronize(device)
            started = time.perf_counter()
            strategy_step(Strategy(), context, step, ledger, scheduler, batch, cfg.symmetric_loss, autocast)
            synchronize(device)
            seconds.append(time.perf_counter() - started)
    return seconds
