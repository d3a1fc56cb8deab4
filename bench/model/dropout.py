"""Dropout whose masks cost less to draw on CPU, with the same keep probability.

torch's CPU dropout draws one double-precision Bernoulli sample per element from its Mersenne Twister, one
element at a time; on a 2-core box that serial draw was 12% of a training step. Here each 64-bit draw from the
same generator gives two elements 31 random bits each, and an element is dropped when its bits fall below
round(p * 2**31): the drop probability is p to within 2**-32 (p = 0.1 is dropped with probability
0.1000000001), finer than float32 can write p. Kept values are scaled by 1 / (1 - p), as torch does. The masks
come from torch's seeded generator, so a seed still fixes them; they are not the masks `torch.nn.Dropout` would
draw. On other devices (CUDA's fused dropout is already fast) and out of training, this is torch's own dropout.

Attention probabilities are dropped the same way: torch has no fused CPU attention kernel with dropout (it
falls back to matmul, softmax, dropout, matmul), so `attention` computes exactly that with these masks, for the
packed layers (bench/model/packed.py) and, through Hugging Face's attention-function registry, for the padded
ones. Measured on SGD steps of MiniLM (2 cores), the swap made a training step about 9% faster.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import AttentionMaskInterface, sdpa_mask

RANDOM_BITS = 31  # a 64-bit draw is uniform below 2**63: its low word has 32 random bits, its high word 31


def keep_mask(shape: torch.Size, p: float, device: torch.device) -> torch.Tensor:
    """A bool tensor, True with probability 1 - p (to within 2**-32) independently per element."""
    count = shape.numel()
    words = torch.empty((count + 1) // 2, dtype=torch.int64, device=device).random_()
    bits = words.view(torch.int32)[:count] & (2**RANDOM_BITS - 1)
    return (bits >= round(p * 2**RANDOM_BITS)).view(shape)


def dropout(hidden: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """`F.dropout(hidden, p, training)`, with masks from `keep_mask` on CPU."""
    if not training or p == 0.0 or hidden.device.type != "cpu":
        return F.dropout(hidden, p, training)
    if p == 1.0:
        return hidden * 0.0
    noise = (keep_mask(hidden.shape, p, hidden.device) * (1.0 / (1.0 - p))).to(hidden.dtype)  # as torch's, in
    return hidden * noise  # the input's dtype (bf16: 1 / 0.9 rounds to 1.109375 in both); one pass each way


class FastDropout(nn.Dropout):
    """`nn.Dropout` with `dropout`'s masks; it stays an `nn.Dropout`, so code that finds or zeroes dropout
    modules (e.g. `train.dropout = false`) treats it the same."""

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        if self.inplace:
            return F.dropout(hidden, self.p, self.training, inplace=True)
        return dropout(hidden, self.p, self.training)


def additive_bias(keep: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """A bool keep-mask as the additive mask attention adds to its scores: 0 where kept, dtype's lowest elsewhere."""
    return torch.zeros(keep.shape, dtype=dtype, device=keep.device).masked_fill_(~keep, torch.finfo(dtype).min)


def attention(dropout_module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
              bias: torch.Tensor, scale: float) -> torch.Tensor:
    """Scaled dot-product attention with dropout on the probabilities, computed as torch's own CPU path does it
    (it has no fused CPU kernel with dropout), `dropout_module` drawing the mask. query, key and value are
    (a, b, length, head) for any two batch dimensions; `bias` is additive and broadcasts to (a, b, 1, length)."""
    a, b, length, head = query.shape
    batch = a * b
    scores = torch.baddbmm(bias.expand(a, b, 1, length).reshape(batch, 1, length),
                           query.reshape(batch, length, head), key.reshape(batch, length, head).transpose(1, 2),
                           alpha=scale)
    probabilities = dropout_module(torch.softmax(scores, dim=-1))
    return torch.bmm(probabilities, value.reshape(batch, length, head)).view(a, b, length, head)


def hf_attention(module: nn.Module, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                 attention_mask: torch.Tensor | None, dropout: float = 0.0, scaling: float | None = None,
                 **kwargs) -> tuple[torch.Tensor, None]:
    """A Hugging Face attention function (registered as "bench"): with dropout in training, `attention` with
    the layer's own dropout module; otherwise, and for anything else (a position bias, no mask), HF's SDPA."""
    plain = attention_mask is not None and kwargs.get("position_bias") is None and query.device.type == "cpu"
    if dropout == 0.0 or not plain:
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout, scaling, **kwargs)
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    if attention_mask.dtype == torch.bool:  # HF's own mask for SDPA: True where a key may be attended
        attention_mask = additive_bias(attention_mask, query.dtype)
    context = attention(module.dropout, query, key, value, attention_mask, scale)
    return context.transpose(1, 2).contiguous(), None


AttentionInterface.register("bench", hf_attention)
AttentionMaskInterface.register("bench", sdpa_mask)  # HF builds the same masks it builds for SDPA


def use_fast_dropout(model: nn.Module) -> None:
    """Swap every plain `nn.Dropout` in `model` for a `FastDropout` with the same p, and have its attention
    layers call `hf_attention`."""
    for parent in model.modules():
        for name, child in parent.named_children():
            if type(child) is nn.Dropout:
                setattr(parent, name, FastDropout(child.p, child.inplace))
    config = getattr(model, "config", None)
    if config is not None and getattr(config, "_attn_implementation", None) == "sdpa":
        config._attn_implementation = "bench"
