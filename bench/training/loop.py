"""The training loop: in-batch negatives, AdamW with linear warm-up and decay, no work on padding.

Only the steps are timed, each one apart (per-step seconds, for burst-robust time reductions). Dev evaluations
for the training curve pause the clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from bench.config import TrainConfig
from bench.measure.clock import Stopwatch
from bench.measure.energy import Energy, EnergyGauge
from bench.model.encoder import BiEncoder
from bench.model.ledger import WorkLedger
from bench.ranks import distributed
from bench.registry import StepContext, Strategy
from bench.tasks.batching import Encoded
from bench.training.budget import rate_multiplier, warmup_steps


@dataclass
class TrainResult:
    seconds: float = 0.0
    steps: int = 0
    pairs: int = 0
    curve: list[dict] = field(default_factory=list)
    step_seconds: list[float] = field(default_factory=list)
    """Each step's seconds, dev evaluations left out: they sum to `seconds`."""
    work: dict = field(default_factory=dict)
    """The work ledger's totals (bench/model/ledger.py)."""
    energy: Energy | None = None
    """The training region's energy (bench/measure/energy.py), dev evaluations left out."""


def in_batch_loss(scores: torch.Tensor, symmetric: bool) -> torch.Tensor:
    """Softmax cross-entropy where row i's positive is column i and the other replies are negatives."""
    labels = torch.arange(scores.shape[0], device=scores.device)
    loss = F.cross_entropy(scores, labels)
    if symmetric:
        loss = (loss + F.cross_entropy(scores.T, labels)) / 2
    return loss


def make_optimizer(model: BiEncoder, cfg: TrainConfig, total_steps: int):
    """AdamW over trainable parameters only (frozen ones carry no optimizer state)."""
    optimizer = torch.optim.AdamW(model.param_groups(cfg.weight_decay), lr=cfg.learning_rate,
                                  fused=cfg.fused_optimizer or None)
    warmup = warmup_steps(cfg.warmup_ratio, total_steps)
    return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer,
                                                        lambda step: rate_multiplier(step, total_steps, warmup))


def batch_order(num_pairs: int, batch_size: int, total_steps: int, seed: int) -> torch.Tensor:
    """[steps, batch] pair indices: a fresh seeded permutation per epoch, same for every strategy."""
    generator = torch.Generator().manual_seed(seed)
    per_epoch = num_pairs // batch_size
    epochs = math.ceil(total_steps / per_epoch)
    perms = [torch.randperm(num_pairs, generator=generator)[: per_epoch * batch_size] for _ in range(epochs)]
    return torch.cat(perms).view(-1, batch_size)[:total_steps]


def total_steps(num_pairs: int, cfg: TrainConfig) -> int:
    """The run's steps: `epochs` passes, cut to `max_steps` when set (the warm-up and decay fit the cut schedule)."""
    steps = max(1, math.ceil(cfg.epochs * (num_pairs // cfg.batch_size)))
    return min(steps, cfg.max_steps) if cfg.max_steps else steps


def precision(cfg: TrainConfig, device: torch.device) -> AbstractContextManager:
    """The context every training forward runs in: bf16 autocast, or nothing for fp32."""
    return torch.autocast(device.type, dtype=torch.bfloat16) if cfg.precision == "bf16" else nullcontext()


def train_step(model: BiEncoder, optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler,
               batch: tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]], symmetric: bool,
               autocast: AbstractContextManager, after_backward: Callable[[], None] | None = None) -> torch.Tensor:
    """One optimizer step on a batch of ((message ids, mask), (reply ids, mask)): the only timed work. Under
    several ranks the batch is this rank's shard: the in-batch negatives are every rank's replies, and the
    gradients are summed over ranks (bench/ranks/distributed.py says why that is the one-process gradient).
    `after_backward` runs between backward and the optimizer step (gradients are there). Returns the loss
    (detached)."""
    with autocast:
        scores = model.similarity(*distributed.gather_pairs(*model.encode_pairs(*batch)))
        loss = in_batch_loss(scores.float(), symmetric)
    loss.backward()
    distributed.sum_gradients(model)
    if after_backward:
        after_backward()
    optimizer.step()
    scheduler.step()
    optimizer.zero_grad(set_to_none=True)
    return loss.detach()


def strategy_step(strategy: Strategy, context: StepContext, step: int, ledger: WorkLedger,
                  scheduler: torch.optim.lr_scheduler.LRScheduler, batch, symmetric: bool,
                  autocast: AbstractContextManager) -> None:
    """Step `step` of training with `strategy`'s per-step hooks acting and `ledger` counting the work."""
    with context.at(step):  # what a strategy changes for one step (skipped layers) ends with it
        strategy.before_step(context)
        with ledger.step(context.model, context.optimizer):
            train_step(context.model, context.optimizer, scheduler, batch, symmetric, autocast,
                       lambda: strategy.after_backward(context))
        strategy.after_step(context)


def train(model: BiEncoder, messages: Encoded, replies: Encoded, cfg: TrainConfig, seed: int,
          device: torch.device, evaluate_dev: Callable[[], dict] | None = None,
          on_step: Callable[[], None] | None = None, strategy: Strategy | None = None,
          ledger: WorkLedger | None = None, energy: EnergyGauge | None = None) -> TrainResult:
    """Train `model` in place; `strategy` acts through its lifecycle hooks and `ledger` counts each step's work
    (its totals land in `TrainResult.work`). A strategy that does not train gets no steps: only the dev curve's
    starting point."""
    strategy = strategy or Strategy()
    if not strategy.trains:  # evaluated as loaded (zero-shot): no step, nothing timed
        return TrainResult(curve=[{"seconds": 0.0, "step": 0, **evaluate_dev()}] if evaluate_dev else [],
                           energy=energy.energy() if energy else None)  # nothing trained: 0 J, from its meter
    cfg = strategy.configure(cfg)  # this run's own settings (e.g. bf16); the suite's, and their hash, are unchanged
    ledger = ledger or WorkLedger(model.original_shape())
    batch_size = min(cfg.batch_size, len(messages))
    steps = total_steps(len(messages), cfg)
    order = batch_order(len(messages), batch_size, steps, seed)
    optimizer, scheduler = make_optimizer(model, cfg, steps)
    autocast = precision(cfg, device)
    clock = Stopwatch(device, energy)
    context = StepContext(0, steps, model, optimizer, seed, ledger, clock=clock)

    result = TrainResult()
    if evaluate_dev:
        result.curve.append(curve_point(clock, 0, evaluate_dev))
    torch.manual_seed(seed)  # dropout masks
    model.train()
    strategy.begin(context)
    clock.start()
    curve_taken = 0
    for step in range(steps):
        context.step = step
        pairs = strategy.pairs(context, batch_size)  # the whole batch; fewer on a time budget's last step
        if not pairs:  # a time budget spent
            break
        index = distributed.shard(order[step][:pairs])  # this rank's part of the global batch (all on one rank)
        batch = (messages.batch(index, device), replies.batch(index, device))
        strategy_step(strategy, context, step, ledger, scheduler, batch, cfg.symmetric_loss, autocast)
        if on_step:
            on_step()
        clock.lap()
        result.steps, result.pairs = step + 1, result.pairs + pairs
        due = curve_due(context.total_steps, step + 1, cfg.curve_points)
        if evaluate_dev and due > curve_taken:
            curve_taken = due
            clock.stop()
            result.curve.append(curve_point(clock, step + 1, evaluate_dev))
            model.train()
            if step + 1 < context.total_steps:
                clock.start()
    if evaluate_dev and result.steps and result.curve[-1]["step"] != result.steps:  # stopped short of its plan
        clock.stop()
        result.curve.append(curve_point(clock, result.steps, evaluate_dev))
    result.seconds = clock.stop()  # a stopped clock adds nothing: the last curve point is the training time
    result.step_seconds = clock.step_seconds()
    result.energy = clock.energy.energy()
    strategy.end(context)
    result.work = ledger.totals()
    return result


def curve_point(clock: Stopwatch, step: int, evaluate_dev: Callable[[], dict]) -> dict:
    """A dev curve point after `step` steps, the clock stopped: training seconds and joules so far."""
    return {"seconds": clock.seconds, "step": step, "joules": clock.energy.so_far(), **evaluate_dev()}


def curve_due(total: int, done: int, points: int) -> int:
    """How many of the dev curve's `points` are due after `done` of `total` planned steps: point i at
    round(total * (i + 1) / points) steps (so the last at the end)."""
    return sum(1 for i in range(points) if round(total * (i + 1) / points) <= done)
