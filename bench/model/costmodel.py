"""Ideal training speedup of layer dropping/freezing from a FLOP model of a BERT-style encoder.

Measured speedups are compared with this ideal to tell how much of the saving a strategy's
implementation actually realises (efficiency = measured / ideal).

Per token, with F the forward FLOPs of one layer:
- forward: F per kept layer; dropped layers cost nothing;
- backward of a trainable layer: 2F (input gradient F + weight gradient F);
- backward of a frozen layer with any trainable parameter below it (a trainable layer or trainable
  embeddings): F, because the input gradient must flow through it to reach them;
- backward of a frozen layer with nothing trainable below it (the bottom frozen prefix when the
  embeddings are frozen too): nothing;
- embeddings: ~EMBEDDING_FLOPS_PER_DIM * hidden forward (adds + layer norm) and as much again backward
  (gradient scatter) when trainable.
Per step: ADAMW_FLOPS_PER_PARAM per trainable parameter, embedding matrix included (AdamW updates it
densely). Pooler/head and the loss are ignored; the lowest trainable layer is charged the full 2F
even though its input gradient is not needed when nothing below it is trainable.
"""

from __future__ import annotations

from dataclasses import dataclass

ADAMW_FLOPS_PER_PARAM = 12
"""AdamW update: two moment updates, bias corrections, sqrt, divide, weight decay, ~12 FLOPs/param."""

EMBEDDING_FLOPS_PER_DIM = 10
"""Embedding forward per token (three lookups summed + layer norm), per hidden unit; same backward."""


@dataclass(frozen=True)
class EncoderShape:
    """Dimensions of a BERT-style encoder."""

    hidden: int
    intermediate: int
    layers: int
    vocab: int
    max_position: int = 512

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


def step_flops(shape: EncoderShape, plan: TrainPlan, tokens_per_step: int, seq_len: int) -> float:
    """Forward + backward + optimizer FLOPs of one training step under `plan`."""
    if tokens_per_step < 1 or seq_len < 1:
        raise ValueError("tokens_per_step and seq_len must be >= 1")
    if seq_len > shape.max_position:
        raise ValueError(f"seq_len {seq_len} exceeds max_position {shape.max_position}")
    frozen = _frozen_layers(shape, plan)
    f = layer_forward_flops(shape.hidden, shape.intermediate, seq_len)
    emb = float(EMBEDDING_FLOPS_PER_DIM * shape.hidden)

    per_token = emb + plan.layers_kept * f
    trainable_params = 0
    trainable_below = not plan.embeddings_frozen
    if trainable_below:
        per_token += emb
        trainable_params += shape.embedding_params
    for k in range(plan.layers_kept):
        if k in frozen:
            per_token += f if trainable_below else 0.0
        else:
            per_token += 2 * f
            trainable_params += shape.params_per_layer
            trainable_below = True
    return tokens_per_step * per_token + ADAMW_FLOPS_PER_PARAM * trainable_params


def ideal_speedup(shape: EncoderShape, plan: TrainPlan, tokens_per_step: int, seq_len: int) -> float:
    """FLOPs of a full fine-tune (all layers kept, nothing frozen) divided by FLOPs under `plan`."""
    baseline = TrainPlan(layers_kept=shape.layers, frozen_prefix=0, embeddings_frozen=False)
    return step_flops(shape, baseline, tokens_per_step, seq_len) / step_flops(
        shape, plan, tokens_per_step, seq_len
    )


def efficiency(measured_speedup: float | None, ideal: float | None) -> float | None:
    """Share of the ideal speedup realised: measured / ideal; None when either is missing or ideal is 0."""
    if measured_speedup is None or ideal is None or ideal == 0:
        return None
    return measured_speedup / ideal
