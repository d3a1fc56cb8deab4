"""Unpadded ("packed") BERT layers: the dense work of a step runs on real tokens only.

Dynamic padding still pads every row of a batch to its longest text; with short replies beside long messages a
quarter of the tokens of a step are padding. Here the real tokens of every text of a step (messages and replies
together when the towers share weights) are packed into one (tokens, hidden) matrix, so the Q/K/V, attention
output and feed-forward matmuls see no padding and run as a few large GEMMs. Only attention re-pads: each batch's
texts are sorted by length into a few buckets, and each bucket is padded to its own longest text. Each layer is
BERT's own, called module by module (the same Linear, LayerNorm and Dropout modules, the same parameters), so
results match the padded path to float rounding (with dropout off; with it on, the masks' shapes differ).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from bench.model import dropout

ATTENTION_BUCKETS = 3
"""Length-sorted buckets each batch's texts are split into for attention. SGD batches of 32 texts padded to their
longest are 45% real tokens and 24% real attention pairs; in 3 buckets, 74% and 52%. Measured on SGD steps
(MiniLM, 2 cores): 2, 3 and 4 buckets were 4-6% faster a step than 1, and 8 only 1%: more, smaller batched
matmuls cost what the padding saved."""


@dataclass(frozen=True)
class Bucket:
    """Texts of a batch of similar length: attention pads them together, to the longest of them only."""

    rows: int
    width: int
    positions: torch.Tensor  # flat indices of its real tokens in its rows x width grid
    row_of: torch.Tensor  # the bucket row each real token belongs to
    lengths: torch.Tensor  # real tokens per row
    keep: torch.Tensor  # (rows, 1, 1, width) bool: True where a key is a real token

    @property
    def tokens(self) -> int:
        return len(self.positions)

    def bias(self, dtype: torch.dtype) -> torch.Tensor:
        """(rows, 1, 1, width) additive mask: 0 on real keys, dtype's lowest on padding."""
        return dropout.additive_bias(self.keep, dtype)


@dataclass(frozen=True)
class Group:
    """One padded batch of texts (e.g. a step's messages) and where its real tokens sit in the packed matrix:
    bucket after bucket, each bucket's texts row by row (row by row through the batch with one bucket)."""

    rows: int
    width: int
    positions: torch.Tensor  # flat indices of the real tokens in the batch's rows x width grid, in packed order
    buckets: tuple[Bucket, ...]
    order: torch.Tensor | None  # row-major rank of each packed token; None when packed order is row-major
    unsort: torch.Tensor | None  # where each batch row's text is among the buckets' rows; None: the same order
    start: int  # this group's rows in the packed matrix: start .. start + len(positions)

    @property
    def stop(self) -> int:
        return self.start + len(self.positions)


def _bucket(mask: torch.Tensor) -> Bucket:
    rows, width = mask.shape
    flat = mask.reshape(-1).bool()
    positions = flat.nonzero().squeeze(1)
    return Bucket(rows, width, positions, torch.div(positions, width, rounding_mode="floor"), mask.sum(1),
                  flat.view(rows, 1, 1, width))


def plan(masks: list[torch.Tensor], buckets: int = 1) -> list[Group]:
    """Where each batch's real tokens go; with `buckets` > 1, its texts sorted by length into that many buckets."""
    groups, start = [], 0
    for mask in masks:
        rows, width = mask.shape
        lengths = mask.sum(1)
        count = min(buckets, rows)
        sort = count > 1
        texts = torch.argsort(lengths, descending=True, stable=True) if sort else torch.arange(rows, device=mask.device)
        chunks = texts.tensor_split(count)
        parts = [_bucket(mask[chunk, : max(1, int(lengths[chunk].max()))]) for chunk in chunks]
        grid = torch.arange(rows * width, device=mask.device).view(rows, width)
        positions = torch.cat([grid[chunk, : part.width].reshape(-1)[part.positions]
                               for chunk, part in zip(chunks, parts, strict=True)])
        rank = mask.reshape(-1).long().cumsum(0) - 1 if sort else None  # row-major index of each real token
        groups.append(Group(rows, width, positions, tuple(parts), rank[positions] if sort else None,
                            torch.argsort(texts) if sort else None, start))
        start += len(positions)
    return groups


def row_major(groups: list[Group]) -> torch.Tensor | None:
    """Packed row -> row-major row for a matrix packed batch after batch, row by row (as the prefix cache
    returns it); None when the groups' order is already that."""
    if all(group.order is None for group in groups):
        return None
    return torch.cat([group.start + (group.order if group.order is not None else
                                     torch.arange(group.stop - group.start, device=group.positions.device))
                      for group in groups])


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


def embeds_packed(embeddings: nn.Module) -> bool:
    """True for embeddings that take explicit positions counted from 0 in each text (BERT, MiniLM, ELECTRA);
    RoBERTa's (with `padding_idx`) count from the padding index and keep their own padded path."""
    parameters = inspect.signature(embeddings.forward).parameters
    return {"input_ids", "position_ids", "token_type_ids"} <= parameters.keys() and not hasattr(
        embeddings, "padding_idx")


def embed(embeddings: nn.Module, input_ids: list[torch.Tensor], groups: list[Group]) -> torch.Tensor:
    """The embeddings of every group's real tokens in one call, (real tokens, hidden): no padding is embedded,
    and the word embeddings' dense (vocabulary x hidden) gradient is built once a step, not once per group."""
    ids = torch.cat([rows.reshape(-1).index_select(0, group.positions)
                     for rows, group in zip(input_ids, groups, strict=True)])
    positions = torch.cat([group.positions % group.width for group in groups])
    return embeddings(input_ids=ids[None], position_ids=positions[None], token_type_ids=torch.zeros_like(ids)[None])[0]


def pack(padded: torch.Tensor, group: Group) -> torch.Tensor:
    """(rows, width, hidden) -> (real tokens, hidden)."""
    return padded.reshape(group.rows * group.width, -1).index_select(0, group.positions)


def split(packed: torch.Tensor, groups: list[Group]) -> tuple[torch.Tensor, ...]:
    """Each group's rows of a packed matrix; one split, whose backward joins the groups' gradients in one pass
    (a slice per group would zero-fill a whole-matrix gradient for each)."""
    return packed.split([group.stop - group.start for group in groups])


def attend(attention: nn.Module, hidden: torch.Tensor, groups: list[Group]) -> torch.Tensor:
    """Multi-head self-attention over packed tokens; each group is re-padded only inside the attention kernel.

    The grids are head-major, (3, heads, rows, width, head): each of queries, keys and values is then one
    contiguous batch of (width, head) matrices, so the batched matmuls read them without a copy."""
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
    dropped = attention.training and attention.dropout.p > 0
    by_head = qkv.view(-1, 3 * heads, head).transpose(0, 1)  # (3 * heads, tokens, head), a view
    buckets = [bucket for group in groups for bucket in group.buckets]
    outputs = []
    for bucket, tokens in zip(buckets, by_head.split([b.tokens for b in buckets], dim=1), strict=True):
        grid = qkv.new_zeros(3 * heads, bucket.rows * bucket.width, head).index_copy(1, bucket.positions, tokens)
        query, key, value = grid.view(3, heads, bucket.rows, bucket.width, head)
        if dropped:
            context = dropout.attention(attention.dropout, query, key, value, bucket.bias(qkv.dtype).transpose(0, 1),
                                        scale)
        else:  # evaluation: torch's fused kernel
            context = F.scaled_dot_product_attention(query, key, value, attn_mask=bucket.keep.transpose(0, 1),
                                                     scale=scale)
        outputs.append(context.reshape(heads, bucket.rows * bucket.width, head).index_select(1, bucket.positions))
    context = torch.cat(outputs, dim=1) if len(outputs) > 1 else outputs[0]  # (heads, tokens, head)
    return context.transpose(0, 1).reshape(-1, heads * head)


def layer_forward(layer: nn.Module, hidden: torch.Tensor, groups: list[Group]) -> torch.Tensor:
    """BertLayer.forward on packed tokens: attention, add & norm, feed-forward, add & norm."""
    attended = layer.attention.output(attend(layer.attention.self, hidden, groups), hidden)
    return layer.output(layer.intermediate(attended), attended)


def mean_pool(hidden: torch.Tensor, groups: list[Group]) -> list[torch.Tensor]:
    """Each text's mean over its real tokens, per group, in the batch's row order."""
    pooled = []
    for group, tokens in zip(groups, split(hidden, groups), strict=True):
        means = []
        for bucket, part in zip(group.buckets, tokens.split([b.tokens for b in group.buckets]), strict=True):
            sums = hidden.new_zeros(bucket.rows, hidden.shape[1]).index_add(0, bucket.row_of, part)
            means.append(sums / bucket.lengths.clamp(min=1).unsqueeze(1).to(hidden.dtype))
        texts = torch.cat(means) if len(means) > 1 else means[0]
        pooled.append(texts if group.unsort is None else texts.index_select(0, group.unsort))
    return pooled


class PackedCall:
    """One tower call over several padded batches packed into one matrix: what the tower's layer loop
    (bench.model.tower) needs of a backend, as `padded.PaddedCall` gives it for one padded batch.

    `packed_embeddings` embeds the real tokens alone (`embed`); without it each batch is embedded padded, then
    packed (RoBERTa's embeddings, and a prefix run, which keeps the padded path's embedding numbers)."""

    def __init__(self, embeddings: nn.Module, layers: nn.ModuleList, batches: list[tuple[torch.Tensor, torch.Tensor]],
                 buckets: int, packed_embeddings: bool):
        self.embeddings, self.layers, self.batches = embeddings, layers, batches
        self.groups = plan([mask for _, mask in batches], buckets)
        self.packed_embeddings = packed_embeddings
        self.tokens = self.groups[-1].stop
        self.texts = sum(group.rows for group in self.groups)

    def embed(self) -> torch.Tensor:
        """The embeddings of the batches' real tokens, in the groups' packed order."""
        if self.packed_embeddings:
            return embed(self.embeddings, [ids for ids, _ in self.batches], self.groups)
        parts = [pack(self.embeddings(input_ids=ids), group)
                 for (ids, _), group in zip(self.batches, self.groups, strict=True)]
        return parts[0] if len(parts) == 1 else torch.cat(parts)

    def from_prefix(self, rows) -> torch.Tensor:
        """The layers' input from a prefix cache: `rows(ids, mask)` gives a batch's (real tokens, hidden), row by
        row, reordered here into the groups' packed order."""
        hidden = torch.cat([rows(ids, mask) for ids, mask in self.batches])
        order = row_major(self.groups)
        return hidden if order is None else hidden.index_select(0, order)

    def ready(self, hidden: torch.Tensor) -> None:
        """Nothing to prepare: each layer reads the groups."""

    def layer(self, index: int, hidden: torch.Tensor) -> torch.Tensor:
        return layer_forward(self.layers[index], hidden, self.groups)

    def pool(self, hidden: torch.Tensor) -> list[torch.Tensor]:
        return mean_pool(hidden, self.groups)

    def rows(self, hidden: torch.Tensor) -> torch.Tensor:
        """(real tokens, hidden), row by row, as a prefix cache keeps them: the packed order itself, with one
        bucket."""
        return hidden
