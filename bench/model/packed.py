"""Unpadded ("packed") BERT layers: the dense work of a step runs on real tokens only.

Dynamic padding still pads every row of a batch to its longest text; with short replies beside long messages a
quarter of the tokens of a step are padding. Here the real tokens of every text of a step (messages and replies
together when the towers share weights) are packed into one (tokens, hidden) matrix, so the Q/K/V, attention
output and feed-forward matmuls see no padding and run as a few large GEMMs. Only attention re-pads, group by
group, to each group's widest row. Each layer is BERT's own, called module by module (the same Linear,
LayerNorm and Dropout modules, the same parameters), so results match the padded path to float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class Group:
    """One padded batch of texts (e.g. a step's messages) and where its real tokens sit in the packed matrix."""

    rows: int
    width: int
    positions: torch.Tensor  # flat indices of the real tokens in the rows x width grid
    row_of: torch.Tensor  # the row each real token belongs to
    lengths: torch.Tensor  # real tokens per row
    keep: torch.Tensor  # (rows, 1, 1, width) bool: True where a key is a real token
    start: int  # this group's rows in the packed matrix: start .. start + len(positions)

    @property
    def stop(self) -> int:
        return self.start + len(self.positions)


def plan(masks: list[torch.Tensor]) -> list[Group]:
    groups, start = [], 0
    for mask in masks:
        rows, width = mask.shape
        flat = mask.reshape(-1).bool()
        positions = flat.nonzero().squeeze(1)
        groups.append(Group(rows, width, positions, torch.div(positions, width, rounding_mode="floor"),
                            mask.sum(1), flat.view(rows, 1, 1, width), start))
        start += len(positions)
    return groups


def supports(layer: nn.Module, config) -> bool:
    """True for a BERT-style encoder layer (BERT, RoBERTa, MiniLM, ELECTRA) with absolute positions."""
    attention = getattr(layer, "attention", None)
    needed = {
        "attention.self": (getattr(attention, "self", None), ("query", "key", "value", "dropout",
                                                               "attention_head_size")),
        "attention.output": (getattr(attention, "output", None), ("dense", "dropout", "LayerNorm")),
        "intermediate": (getattr(layer, "intermediate", None), ("dense", "intermediate_act_fn")),
        "output": (getattr(layer, "output", None), ("dense", "dropout", "LayerNorm")),
    }
    has_modules = all(module is not None and all(hasattr(module, name) for name in names)
                      for module, names in needed.values())
    plain_encoder = (not getattr(config, "is_decoder", False) and not getattr(layer, "chunk_size_feed_forward", 0)
                     and getattr(config, "position_embedding_type", "absolute") in (None, "absolute"))
    return has_modules and plain_encoder


def pack(padded: torch.Tensor, group: Group) -> torch.Tensor:
    """(rows, width, hidden) -> (real tokens, hidden)."""
    return padded.reshape(group.rows * group.width, -1).index_select(0, group.positions)


def attend(attention: nn.Module, hidden: torch.Tensor, groups: list[Group]) -> torch.Tensor:
    """Multi-head self-attention over packed tokens; each group is re-padded only inside the attention kernel."""
    projections = (attention.query, attention.key, attention.value)
    if all(type(module) is nn.Linear for module in projections):  # one fused GEMM
        weight = torch.cat([module.weight for module in projections])
        bias = torch.cat([module.bias for module in projections])
        qkv = F.linear(hidden, weight, bias)
    else:  # wrapped projections (e.g. LoRA adapters) must run as modules, or their extra work would be bypassed
        qkv = torch.cat([module(hidden) for module in projections], dim=1)
    head = attention.attention_head_size
    heads = qkv.shape[1] // (3 * head)
    scale = getattr(attention, "scaling", head**-0.5)
    dropout = attention.dropout.p if attention.training else 0.0
    outputs = []
    for group in groups:
        grid = qkv.new_zeros(group.rows * group.width, qkv.shape[1]).index_copy(
            0, group.positions, qkv[group.start : group.stop])
        query, key, value = grid.view(group.rows, group.width, 3, heads, head).permute(2, 0, 3, 1, 4)
        context = F.scaled_dot_product_attention(query, key, value, attn_mask=group.keep, dropout_p=dropout,
                                                 scale=scale)
        outputs.append(pack(context.transpose(1, 2), group))
    return torch.cat(outputs) if len(outputs) > 1 else outputs[0]


def layer_forward(layer: nn.Module, hidden: torch.Tensor, groups: list[Group]) -> torch.Tensor:
    """BertLayer.forward on packed tokens: attention, add & norm, feed-forward, add & norm."""
    attended = layer.attention.output(attend(layer.attention.self, hidden, groups), hidden)
    return layer.output(layer.intermediate(attended), attended)


def mean_pool(hidden: torch.Tensor, groups: list[Group]) -> list[torch.Tensor]:
    """Each text's mean over its real tokens, per group."""
    pooled = []
    for group in groups:
        tokens = hidden[group.start : group.stop]
        sums = hidden.new_zeros(group.rows, hidden.shape[1]).index_add(0, group.row_of, tokens)
        pooled.append(sums / group.lengths.clamp(min=1).unsqueeze(1).to(hidden.dtype))
    return pooled
