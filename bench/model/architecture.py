"""Hugging Face architectures, adapted: the one place that knows where an encoder keeps its embeddings and layers,
how a layer is called, and MPNet's shared position bias. The rest of bench sees `Parts`."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bench.errors import BenchError
from bench.model import dropout


@dataclass(frozen=True)
class Parts:
    """What a tower runs of a Hugging Face encoder: its modules, shared with it (not copies)."""

    embeddings: nn.Module
    layers: nn.ModuleList
    relative_attention_bias: nn.Embedding | None  # MPNet's: one embedding every layer reads; None for BERT
    config: object


def parts(encoder: nn.Module) -> Parts:
    """The parts of a BERT-style encoder, its dropout swapped for bench's (bench.model.dropout)."""
    if not (hasattr(encoder, "embeddings") and hasattr(getattr(encoder, "encoder", None), "layer")):
        raise BenchError(f"unsupported architecture {type(encoder).__name__}: bench needs a BERT-style "
                         "encoder with .embeddings and .encoder.layer (BERT, RoBERTa, MiniLM, ELECTRA)")
    dropout.use_fast_dropout(encoder)
    return Parts(encoder.embeddings, encoder.encoder.layer,
                 getattr(encoder.encoder, "relative_attention_bias", None), encoder.config)


def position_bias(relative_attention_bias: nn.Embedding | None, width: int,
                  device: torch.device) -> torch.Tensor | None:
    """MPNet's relative-position bias (1, heads, width, width), as its encoder computes it; None for BERT."""
    if relative_attention_bias is None:
        return None
    from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

    positions = torch.arange(width, device=device)
    buckets = MPNetEncoder.relative_position_bucket(positions[None, :] - positions[:, None],
                                                    num_buckets=relative_attention_bias.num_embeddings)
    return relative_attention_bias(buckets).permute(2, 0, 1).unsqueeze(0)


def run_layer(layer: nn.Module, hidden: torch.Tensor, mask: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """One Hugging Face layer on padded hidden states; MPNet's layers also take the shared position bias."""
    extra = {} if bias is None else {"position_bias": bias}
    output = layer(hidden, attention_mask=mask, **extra)
    return output[0] if isinstance(output, tuple) else output  # a tuple or a tensor, by version
