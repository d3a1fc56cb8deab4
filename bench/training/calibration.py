"""Time each piece of a training step on this machine: the prices (bench.model.prices) the ideal speedup uses.

The pieces run on the real model, on real batches of the task (the first steps of seed 0's batch order), at the
run's precision and in the tower's own layout (packed or padded): each tower's whole layer stack, forward then
backward as a step runs it, in four ways (every layer trained with its input's gradient; trained with no gradient
into the stack, which leaves one lowest trainable layer; frozen, passing gradients down; a frozen prefix, forward
only under no_grad in eval mode), the embeddings trained and not, the in-batch head, and the optimizer's update
over every parameter. Each piece is timed in every round, the pieces interleaved so that a burst of background
load hits them alike, and the median of the rounds is kept.

What the prices leave out (batching, the scheduler, Python between the pieces) every strategy pays alike; what
pieces timed apart cannot see (memory traffic between them) they miss. Measured against them, the strategies'
speedups came out within a few percent of the ideal (docs/results/limit.md).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial

import torch

from bench.config import TrainConfig
from bench.measure.clock import synchronize
from bench.model.encoder import BiEncoder
from bench.model.pretrained import LoadedModel
from bench.model.prices import StepPrices
from bench.model.tower import Call
from bench.tasks.tokenised import TokenisedTask
from bench.training.loop import batch_order, in_batch_loss, make_optimizer, precision, total_steps

Batch = tuple[torch.Tensor, torch.Tensor]
LAYER_KINDS = ("trainable", "lowest", "frozen_pass", "no_grad")
CALIBRATION_ROUNDS = 7


@dataclass
class _Stream:
    """One backend call of a step (its embeddings, layers and pooling; bench.model.tower) and its layers' input."""

    call: Call
    hidden: torch.Tensor | None = None

    def embed(self) -> torch.Tensor:
        """The layers' input, as the call's layers expect it (the padded layout's mask and position bias too)."""
        hidden = self.call.embed()
        self.call.ready(hidden)
        return hidden


def step_streams(model: BiEncoder, messages: Batch, replies: Batch) -> list[_Stream]:
    """Every tower call of one step, as `BiEncoder.encode_pairs` makes them."""
    return [_Stream(call) for call in model.step_calls(messages, replies)]


class _Timer:
    def __init__(self, device: torch.device, autocast: AbstractContextManager):
        self.device, self.autocast = device, autocast
        self.generator = torch.Generator(device=device).manual_seed(0)

    def time(self, work: Callable[[], None]) -> float:
        synchronize(self.device)
        started = time.perf_counter()
        work()
        synchronize(self.device)
        return time.perf_counter() - started

    def backward(self, output: torch.Tensor) -> None:
        grad = torch.randn(output.shape, generator=self.generator, device=output.device).to(output.dtype)
        output.backward(grad)


def _stack(timer: _Timer, streams: list[_Stream], kind: str) -> float:
    """Seconds of every stream through its tower's whole layer stack, forward then backward from the top, as a
    step runs them (each layer's activations wait for the backward while the layers above run), every layer
    trained or frozen as `kind` says; `lowest`: all trained, the stack's input needs no gradient."""
    trainable = kind in ("trainable", "lowest")
    seconds = 0.0
    for stream in streams:
        stream.call.layers.train(kind != "no_grad").requires_grad_(trainable)
        hidden = stream.hidden.detach().requires_grad_(kind in ("trainable", "frozen_pass"))

        def work(stream: _Stream = stream, hidden: torch.Tensor = hidden) -> None:
            with torch.set_grad_enabled(kind != "no_grad"), timer.autocast:
                for index in range(len(stream.call.layers)):
                    hidden = stream.call.layer(index, hidden)
            if kind != "no_grad":
                timer.backward(hidden)

        seconds += timer.time(work)
        stream.call.layers.zero_grad(set_to_none=True)
    return seconds


def _embeddings(timer: _Timer, streams: list[_Stream], trainable: bool) -> float:
    seconds = 0.0
    for stream in streams:
        stream.call.embeddings.train(trainable).requires_grad_(trainable)

        def work(stream: _Stream = stream) -> None:
            with torch.set_grad_enabled(trainable), timer.autocast:
                hidden = stream.call.embed()
            if trainable:
                timer.backward(hidden)

        seconds += timer.time(work)
        stream.call.embeddings.zero_grad(set_to_none=True)
    return seconds


def _head(timer: _Timer, model: BiEncoder, streams: list[_Stream], symmetric: bool) -> float:
    leaves = [stream.hidden.detach().requires_grad_(True) for stream in streams]

    def work() -> None:
        with timer.autocast:
            pooled = torch.cat([vector for stream, leaf in zip(streams, leaves, strict=True)
                                for vector in stream.call.pool(leaf)])  # every message's, then every reply's
            loss = in_batch_loss(model.similarity(*pooled.chunk(2)).float(), symmetric)
        loss.backward()

    return timer.time(work)


def _optimizer(timer: _Timer, model: BiEncoder, cfg: TrainConfig, rounds: int) -> tuple[float, int]:
    """Median seconds of one update over every parameter, and how many there are."""
    model.requires_grad_(True)
    params = model.trainable_parameters()
    for param in params:
        param.grad = 1e-3 * torch.randn(param.shape, generator=timer.generator, device=param.device)
    optimizer, _ = make_optimizer(model, cfg, 100)
    optimizer.step()  # the moments are allocated on the first step, as in training
    return statistics.median(timer.time(optimizer.step) for _ in range(rounds)), sum(p.numel() for p in params)


def calibrate(model: BiEncoder, batches: list[tuple[Batch, Batch]], cfg: TrainConfig, device: torch.device,
              rounds: int = 5) -> StepPrices:
    """Prices of `model`'s step pieces at `cfg.precision`, timed on `batches` (one per round, cycled) after one
    untimed warm-up round. `model` is a throwaway copy: its trainable flags and gradients are changed."""
    if rounds < 1 or not batches:
        raise ValueError("calibration needs at least one round and one batch")
    started = time.perf_counter()
    timer = _Timer(device, precision(cfg, device))
    samples: dict[str, list[float]] = {}
    with torch.random.fork_rng(devices=[]):
        for round_ in range(rounds + 1):
            streams = step_streams(model, *batches[round_ % len(batches)])
            tokens = sum(stream.call.tokens for stream in streams)
            layer_tokens = tokens * model.num_layers
            for stream in streams:
                with torch.no_grad():
                    stream.hidden = stream.embed()
            pieces = {kind: (partial(_stack, timer, streams, kind), layer_tokens) for kind in LAYER_KINDS}
            pieces["embeddings_trainable"] = partial(_embeddings, timer, streams, True), tokens
            pieces["embeddings_no_grad"] = partial(_embeddings, timer, streams, False), tokens
            pieces["head"] = partial(_head, timer, model, streams, cfg.symmetric_loss), 1
            names = list(pieces)
            shift = round_ % len(names)  # a different piece first in each round
            for name in names[shift:] + names[:shift]:
                piece, per = pieces[name]
                seconds = piece()
                if round_:  # round 0 warms up allocator, kernels and caches
                    samples.setdefault(name, []).append(seconds / per)
        update, params = _optimizer(timer, model, cfg, rounds)
    median = {name: statistics.median(values) for name, values in samples.items()}
    # the `lowest` stack is one lowest trainable layer under the others: take the others out
    lowest = statistics.median((low - trained) * model.num_layers + trained
                               for low, trained in zip(samples["lowest"], samples["trainable"], strict=True))
    return StepPrices(layer_trainable=median["trainable"], layer_lowest=max(lowest, median["no_grad"]),
                      layer_frozen_pass=median["frozen_pass"], layer_no_grad=median["no_grad"],
                      embeddings_trainable=median["embeddings_trainable"],
                      embeddings_no_grad=median["embeddings_no_grad"], head=median["head"],
                      optimizer_param=update / params, calibration_seconds=time.perf_counter() - started)


def setup_of(loaded: LoadedModel, data: TokenisedTask, cfg: TrainConfig, device: torch.device) -> dict:
    """What step prices depend on besides the hardware: the model, the step's shape, layout and precision."""
    return {"model": loaded.name, "weights": loaded.weights_hash, "precision": cfg.precision, "unpad": cfg.unpad,
            "length_buckets": cfg.length_buckets,
            "shared_towers": cfg.shared_towers, "dropout": cfg.dropout, "batch_size": cfg.batch_size,
            "max_message_length": cfg.max_message_length, "max_reply_length": cfg.max_reply_length,
            "seq_len": max(1, round(data.mean_tokens)), "symmetric_loss": cfg.symmetric_loss,
            "fused_optimizer": cfg.fused_optimizer, "device": device.type, "threads": torch.get_num_threads()}


def measure_prices(loaded: LoadedModel, data: TokenisedTask, cfg: TrainConfig, device: torch.device) -> StepPrices:
    """This setup's prices, timed on a fresh copy of the model on the first steps of seed 0's batch order."""
    model = BiEncoder(loaded.fresh_copy(), cfg.shared_towers, cfg.scale, cfg.unpad, cfg.length_buckets).to(device)
    if not cfg.dropout:
        model.disable_dropout()
    size = min(cfg.batch_size, len(data.train_messages))
    order = batch_order(len(data.train_messages), size, total_steps(len(data.train_messages), cfg), 0)
    batches = [(data.train_messages.batch(index, device), data.train_replies.batch(index, device))
               for index in order[:CALIBRATION_ROUNDS]]
    return calibrate(model, batches, cfg, device, CALIBRATION_ROUNDS)
