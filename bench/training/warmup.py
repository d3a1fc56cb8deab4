"""An untimed warm-up: one training step on a throwaway copy of a model, before a process's first timed run.

The first training step of a process pays one-off costs (allocator growth, kernel and thread-pool start-up,
lazy imports) that later runs do not, and the baseline always runs first, so those costs would land on the
baseline's clock alone. `benchmarks/first_run.py` measures it: on 2 idle CPU cores with MiniLM the first run of
a process trained 2.4-6.6% slower than the later ones, and 0.4-1.5% with this warm-up, which the runner does
before the first timed run of each model. It changes no result (so it is no TrainConfig field and no part of a
fingerprint) and draws no random numbers that later runs would see: the RNG state is restored afterwards.
"""

from __future__ import annotations

import time

import torch

from bench.config import TrainConfig
from bench.measure.clock import synchronize
from bench.model.encoder import BiEncoder
from bench.model.pretrained import LoadedModel
from bench.tasks.tokenised import TokenisedTask
from bench.training.loop import make_optimizer, precision, train_step


def warm_up(loaded: LoadedModel, data: TokenisedTask, cfg: TrainConfig, device: torch.device) -> float:
    """One full training step (forward, backward, optimizer) of the baseline model on the first training batch,
    on a copy that is then thrown away; returns the seconds it took."""
    started = time.perf_counter()
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else [], device_type=device.type):
        model = BiEncoder(loaded.fresh_copy(), cfg.shared_towers, cfg.scale, cfg.unpad, cfg.length_buckets).to(device)
        model.train()
        optimizer, scheduler = make_optimizer(model, cfg, 1)
        index = torch.arange(min(cfg.batch_size, len(data.train_messages)))
        batch = (data.train_messages.batch(index, device), data.train_replies.batch(index, device))
        train_step(model, optimizer, scheduler, batch, cfg.symmetric_loss, precision(cfg, device))
        synchronize(device)
    return time.perf_counter() - started
