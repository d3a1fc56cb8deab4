"""Ideal training speedup of layer dropping/freezing from a FLOP model of a BERT-style bi-encoder step.

Measured speedups are compared with this ideal to tell how much of the saving a strategy's
implementation actually realises (efficiency = measured / ideal). For that ratio to mean anything the
model must count every matmul a step does, on both sides: work the baseline does and a strategy skips,
left uncounted, makes measured speedups beat the "ideal".

Per token, with P = 2(4d^2 + 2di) the projection and FFN matmuls and A = 4nd attention (QK^T and AV),
F = P + A the forward FLOPs of one layer:
- forward: F per kept layer; dropped layers cost nothing;
- backward of a trainable layer: weight gradients P, input gradients P and attention 2A: 2F;
- the lowest trainable layer with nothing trainable below it (frozen embeddings and frozen prefix): the
  same less the Q/K/V projections' input gradient, 2F - 6d^2 (autograd skips a gradient nobody needs;
  the rest of its backward is needed for its own weight gradients);
- a frozen layer with something trainable below it (its input gradient must reach it): P + 2A = F + A;
- a frozen layer with nothing trainable below it: nothing;
- embeddings: EMBEDDING_FLOPS_PER_DIM * d forward and, when trainable, as much again backward;
- mean pooling: POOLING_FLOPS_PER_DIM * d forward, as much backward when anything trains.
Per step: ADAMW_FLOPS_PER_PARAM per trainable parameter (embedding matrix included: AdamW updates it
densely) and, given the batch size B (pairs), the in-batch head: the B x B score matrix 2 B^2 d forward
and 4 B^2 d backward (gradients to both sides), LOSS_FLOPS_PER_SCORE per score for the softmax loss.
Element-wise work (layer norms, GELU, softmax, dropout, biases, copies) is left out: ~1% of F in FLOPs, but
memory-bound, so far more in time (36% of a MiniLM step's op time on a 2-core CPU, benchmarks/unmodelled_work.py),
and not in the same proportion for every plan: a frozen prefix runs in eval mode under no_grad (no dropout, no
saved activations, no backward), so freezing saves more of it than its FLOPs say. The ideal therefore bounds the
matrix products' speedup, not the step time's; for freezing, measured / ideal can exceed 1 by that work.

FLOPs bound the speedup only where time follows FLOPs. The AdamW step is memory bound: charged at
ADAMW_FLOPS_PER_PARAM it is ~0.2% of a MiniLM step, in time several percent. To charge it its time,
pass `optimizer_flops_per_param` = ADAMW_BYTES_PER_PARAM x (peak FLOP/s / memory bandwidth).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

ADAMW_FLOPS_PER_PARAM = 12
"""AdamW update: two moment updates, bias corrections, sqrt, divide, weight decay, ~12 FLOPs/param."""

ADAMW_BYTES_PER_PARAM = 28
"""fp32 AdamW traffic per parameter: reads parameter, gradient and two moments, writes three back."""

EMBEDDING_FLOPS_PER_DIM = 10
"""Embedding forward per token (three lookups summed + layer norm), per hidden unit; same backward."""

POOLING_FLOPS_PER_DIM = 2
"""Mean pooling per token and hidden unit: mask multiply and sum; the backward broadcast costs as much."""

LOSS_FLOPS_PER_SCORE = 12
"""In-batch softmax cross-entropy per score (max, exp, sum, log forward; softmax minus target backward),
for both directions of the symmetric loss."""


@dataclass(frozen=True)
class EncoderShape:
    """Dimensions of a BERT-style encoder."""

    hidden: int
    intermediate: int
    layers: int
    vocab: int
    max_position: int = 512

    @classmethod
    def of(cls, config, layers: int | None = None) -> EncoderShape:
        """The shape of a Hugging Face BERT-style config; `layers` overrides its layer count (the original
        count, when layers have since been dropped)."""
        return cls(config.hidden_size, config.intermediate_size,
                   config.num_hidden_layers if layers is None else layers, config.vocab_size,
                   config.max_position_embeddings)

    def __post_init__(self) -> None:
        for name in ("hidden", "intermediate", "layers", "vocab", "max_position"):
            if getattr(self, name) < 1:
                raise ValueError(f"EncoderShape.{name} must be >= 1, got {getattr(self, name)}")

    @property
    def params_per_layer(self) -> int:
        """Q,K,V,O weights and biases 4d^2 + 4d; FFN weights and biases 2di + i + d; 2 layer norms 4d."""
        d, i = self.hidden, self.intermediate
        return 4 * d * d + 4 * d + 2 * d * i + i + d + 4 * d

    @property
    def embedding_params(self) -> int:
        """Word, position and 2 token-type embeddings, (vocab + max_position + 2) * d, + layer norm 2d."""
        d = self.hidden
        return (self.vocab + self.max_position + 2) * d + 2 * d


@dataclass(frozen=True)
class TrainPlan:
    """Which layers train: the bottom `layers_kept` layers are kept (the rest dropped), the bottom
    `frozen_prefix` of those are frozen, and `frozen_above` lists further frozen kept-layer indices
    (0 = lowest) above the prefix."""

    layers_kept: int
    frozen_prefix: int
    embeddings_frozen: bool
    frozen_above: tuple[int, ...] = ()


def layer_forward_flops(hidden: int, intermediate: int, seq_len: int) -> float:
    """F: forward FLOPs of one layer per token, 2 * (4d^2 + 2di) for the projections and FFN plus
    2 * 2nd for attention scores QK^T and the weighted sum AV (one multiply-add = 2 FLOPs)."""
    d, i, n = hidden, intermediate, seq_len
    return float(2 * (4 * d * d + 2 * d * i) + 2 * 2 * n * d)


def _frozen_layers(shape: EncoderShape, plan: TrainPlan) -> set[int]:
    if not 0 <= plan.layers_kept <= shape.layers:
        raise ValueError(f"layers_kept must lie in [0, {shape.layers}], got {plan.layers_kept}")
    if not 0 <= plan.frozen_prefix <= plan.layers_kept:
        raise ValueError(f"frozen_prefix must lie in [0, {plan.layers_kept}], got {plan.frozen_prefix}")
    bad = [k for k in plan.frozen_above if not 0 <= k < plan.layers_kept]
    if bad:
        raise ValueError(f"frozen_above indices {bad} are not kept layers [0, {plan.layers_kept})")
    return set(range(plan.frozen_prefix)) | set(plan.frozen_above)


def _costs(shape: EncoderShape, plan: TrainPlan, seq_len: int, batch_size: int | None,
           optimizer_flops_per_param: float) -> tuple[float, float]:
    """(FLOPs per token, FLOPs per step) of training under `plan`."""
    if seq_len < 1:
        raise ValueError("seq_len must be >= 1")
    if seq_len > shape.max_position:
        raise ValueError(f"seq_len {seq_len} exceeds max_position {shape.max_position}")
    if batch_size is not None and batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    frozen = _frozen_layers(shape, plan)
    d = shape.hidden
    f = layer_forward_flops(d, shape.intermediate, seq_len)
    attention = float(2 * 2 * seq_len * d)
    emb = float(EMBEDDING_FLOPS_PER_DIM * d)
    pooling = float(POOLING_FLOPS_PER_DIM * d)

    forward = emb + plan.layers_kept * f + pooling
    backward = 0.0
    trainable_params = 0
    trainable_below = not plan.embeddings_frozen
    if trainable_below:
        backward += emb
        trainable_params += shape.embedding_params
    for k in range(plan.layers_kept):
        if k in frozen:
            backward += f + attention if trainable_below else 0.0
        else:
            backward += 2 * f if trainable_below else 2 * f - 6 * d * d
            trainable_params += shape.params_per_layer
            trainable_below = True
    trains = trainable_below  # after the loop: anything trainable at all, so the head's backward runs
    if trains:
        backward += pooling
    per_step = optimizer_flops_per_param * trainable_params
    if batch_size is not None:
        scores = batch_size * batch_size
        per_step += 2 * scores * d + LOSS_FLOPS_PER_SCORE * scores + (4 * scores * d if trains else 0)
    return forward + backward, per_step


def step_flops(shape: EncoderShape, plan: TrainPlan, tokens_per_step: int, seq_len: int,
               batch_size: int | None = None, optimizer_flops_per_param: float = ADAMW_FLOPS_PER_PARAM) -> float:
    """Forward + backward + optimizer FLOPs of one training step under `plan`; with `batch_size` (pairs per
    step) the B x B scores and loss too."""
    if tokens_per_step < 1:
        raise ValueError("tokens_per_step and seq_len must be >= 1")
    per_token, per_step = _costs(shape, plan, seq_len, batch_size, optimizer_flops_per_param)
    return tokens_per_step * per_token + per_step


def ideal_speedup(shape: EncoderShape, plan: TrainPlan, tokens_per_step: int, seq_len: int,
                  batch_size: int | None = None, optimizer_flops_per_param: float = ADAMW_FLOPS_PER_PARAM) -> float:
    """FLOPs of a full fine-tune (all layers kept, nothing frozen) divided by FLOPs under `plan`."""
    baseline = TrainPlan(layers_kept=shape.layers, frozen_prefix=0, embeddings_frozen=False)
    return step_flops(shape, baseline, tokens_per_step, seq_len, batch_size, optimizer_flops_per_param) / step_flops(
        shape, plan, tokens_per_step, seq_len, batch_size, optimizer_flops_per_param
    )


def achieved_flops_per_second(shape: EncoderShape, plan: TrainPlan, tokens: int, seconds: float, *, seq_len: int,
                              steps: int, batch_size: int | None = None,
                              optimizer_flops_per_param: float = ADAMW_FLOPS_PER_PARAM) -> float:
    """Model FLOPs per second of a training run: `tokens` trained over `steps` steps in `seconds`.

    Compared with `matmul_peak_flops` on the same machine it says how far from the hardware a run is, and so
    whether a speedup short of the ideal is the strategy's fault or the machine's."""
    if tokens < 1 or steps < 1 or not seconds > 0:
        raise ValueError("tokens and steps must be >= 1 and seconds > 0")
    per_token, per_step = _costs(shape, plan, seq_len, batch_size, optimizer_flops_per_param)
    return (tokens * per_token + steps * per_step) / seconds


def matmul_peak_flops(device: str = "cpu", size: int = 2048, repeats: int = 5, dtype: str = "fp32",
                      clock: Callable[[], float] = time.perf_counter) -> float:
    """This machine's dense matmul rate in FLOP/s (fp32 or bf16): the best of `repeats` timed size x size
    products.

    The best, not the mean: background load only ever slows a product down. On CUDA it is what this
    process's settings give (TF32 included, if enabled), as training would see. `clock` reads seconds (a fake
    one in the tests)."""
    import torch

    if size < 1 or repeats < 1:
        raise ValueError("size and repeats must be >= 1")
    dev = torch.device(device)
    generator = torch.Generator().manual_seed(0)
    kind = {"fp32": torch.float32, "bf16": torch.bfloat16}[dtype]
    a = torch.randn(size, size, generator=generator).to(dev, kind)
    b = torch.randn(size, size, generator=generator).to(dev, kind)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    torch.matmul(a, b)  # warm-up: kernels, thread pool, allocator
    sync()
    best = math.inf
    for _ in range(repeats):
        start = clock()
        torch.matmul(a, b)
        sync()
        best = min(best, clock() - start)
    return 2.0 * size**3 / max(best, 1e-9)


def efficiency(measured_speedup: float | None, ideal: float | None) -> float | None:
    """Share of the ideal speedup realised: measured / ideal; None when either is missing or ideal is 0."""
    if measured_speedup is None or ideal is None or ideal == 0:
        return None
    return measured_speedup / ideal


@dataclass(frozen=True)
class LayerCosts:
    """Per-token FLOPs of one layer's pieces, as `_costs` charges them, for a ledger that adds up what each step
    really ran (bench.model.ledger): forward F = weight_grads + attention; a trainable layer's backward is
    weight_grads + input_grads; a frozen layer passing gradients down costs input_grads; the lowest trainable
    layer saves `qkv_input` (its Q/K/V input gradient has no reader)."""

    forward: float
    weight_grads: float
    input_grads: float
    qkv_input: float
    embedding: float
    pooling: float


def layer_costs(shape: EncoderShape, seq_len: int) -> LayerCosts:
    """The FLOP model's per-token costs of one layer, the embeddings and pooling at `seq_len`."""
    if not 1 <= seq_len <= shape.max_position:
        raise ValueError(f"seq_len must lie in [1, {shape.max_position}], got {seq_len}")
    d = shape.hidden
    f = layer_forward_flops(d, shape.intermediate, seq_len)
    attention = float(2 * 2 * seq_len * d)
    return LayerCosts(forward=f, weight_grads=f - attention, input_grads=f - attention + 2 * attention,
                      qkv_input=float(6 * d * d), embedding=float(EMBEDDING_FLOPS_PER_DIM * d),
                      pooling=float(POOLING_FLOPS_PER_DIM * d))
