"""What each piece of a training step costs on this machine, in seconds: the prices the work ledger's ideal uses.

A FLOP count is not an ideal a strategy cannot beat: element-wise, memory-bound work (layer norms, GELU, softmax,
dropout, saved activations) costs far more time than its FLOPs, and a frozen prefix run under no_grad in eval
mode skips all of it. So the pieces are timed on the machine itself (bench.training.calibration), once per model,
step shape, precision and hardware fingerprint, and the ledger prices the work each step really did with them:
the ideal speedup is the baseline's priced step over the strategy's.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class StepPrices:
    """Seconds per token through one tower (layers, embeddings), per step (the in-batch head) and per parameter
    (the optimizer), measured at one precision."""

    layer_trainable: float
    """Forward in train mode and backward with weight and input gradients."""
    layer_lowest: float
    """The lowest trainable layer: forward and weight gradients, no input gradient (nothing below trains)."""
    layer_frozen_pass: float
    """Frozen weights, gradients passed through to the input (or to adapters) only."""
    layer_no_grad: float
    """Forward only, eval mode, no autograd: a frozen prefix."""
    embeddings_trainable: float
    """Embeddings forward and backward (a dense gradient for the whole vocabulary), per token."""
    embeddings_no_grad: float
    head: float
    """Pooling, scores and loss, forward and backward, per step."""
    optimizer_param: float
    """The optimizer's update per trainable parameter."""
    calibration_seconds: float = 0.0
    """What timing the pieces cost, once."""

    def layer(self, grad: bool, input_grad: bool, weight_share: float, any_trainable: bool) -> float:
        """Seconds per token of one layer pass: `grad` autograd on; `input_grad` its input needs a gradient;
        `weight_share` of its own weights train (adapted or frozen: 0); `any_trainable` it holds a trainable
        parameter (an adapter)."""
        if not grad or not (input_grad or any_trainable):  # no backward through this layer
            return self.layer_no_grad
        frozen = self.layer_frozen_pass
        trained = self.layer_trainable if input_grad else self.layer_lowest
        return frozen + weight_share * (trained - frozen)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> StepPrices:
        return cls(**{f.name: float(values[f.name]) for f in fields(cls) if f.name in values})
