"""The padded backend: a batch runs as (rows, width, hidden) states through Hugging Face's own layers.

Every architecture runs this way (MPNet and other layers the packed backend cannot call module by module, too);
a padded training batch may be split into length-sorted sub-batches, each cut to its own longest text."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from bench.model import architecture, dropout, packed


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The 4-D additive mask (batch, 1, 1, seq) that BERT layers expect; 0 keeps, dtype-min masks out."""
    return dropout.additive_bias(attention_mask[:, None, None, :].bool(), dtype)


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


def sub_batches(input_ids: torch.Tensor, attention_mask: torch.Tensor, buckets: int) -> tuple[list, torch.Tensor]:
    """A padded batch as `buckets` length-sorted sub-batches, each cut to its own longest text, and the row order
    they hold (one sub-batch, the batch itself, with `buckets` <= 1)."""
    buckets = min(buckets, input_ids.shape[0])
    if buckets <= 1:
        return [(input_ids, attention_mask)], torch.arange(input_ids.shape[0])
    lengths = attention_mask.sum(1)
    order = torch.argsort(lengths, descending=True, stable=True)
    parts = [(input_ids[rows, : int(lengths[rows].max())], attention_mask[rows, : int(lengths[rows].max())])
             for rows in order.tensor_split(buckets)]
    return parts, order


class PaddedCall:
    """One tower call on one padded batch: what the tower's layer loop (bench.model.tower) needs of a backend.

    `embed` or `from_prefix` gives the layers' input, `ready` prepares what every layer reads besides it (the
    additive mask, MPNet's position bias), `layer` runs one layer, `pool` gives the texts' embeddings."""

    def __init__(self, embeddings: nn.Module, layers: nn.ModuleList, relative_attention_bias: nn.Module | None,
                 input_ids: torch.Tensor, attention_mask: torch.Tensor):
        self.embeddings, self.layers, self.relative_attention_bias = embeddings, layers, relative_attention_bias
        self.input_ids, self.attention_mask = input_ids, attention_mask
        self.tokens = int(attention_mask.sum())  # real tokens, as the FLOP model counts them
        self.texts = input_ids.shape[0]
        self.mask: torch.Tensor | None = None
        self.bias: torch.Tensor | None = None
        self._group: packed.Group | None = None

    def group(self) -> packed.Group:
        """Where the batch's real tokens sit, row by row (planned once, when a prefix cache needs it)."""
        if self._group is None:
            self._group = packed.plan([self.attention_mask])[0]
        return self._group

    def embed(self) -> torch.Tensor:
        return self.embeddings(input_ids=self.input_ids)

    def from_prefix(self, rows: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> torch.Tensor:
        """The layers' input from a prefix cache: `rows(ids, mask)` gives (real tokens, hidden), row by row."""
        group = self.group()
        real = rows(self.input_ids, self.attention_mask)
        return real.new_zeros(group.rows * group.width, real.shape[1]).index_copy(
            0, group.positions, real).view(group.rows, group.width, -1)

    def ready(self, hidden: torch.Tensor) -> None:
        self.mask = additive_mask(self.attention_mask, hidden.dtype)
        self.bias = architecture.position_bias(self.relative_attention_bias, self.input_ids.shape[1],
                                               self.input_ids.device)

    def layer(self, index: int, hidden: torch.Tensor) -> torch.Tensor:
        return architecture.run_layer(self.layers[index], hidden, self.mask, self.bias)

    def pool(self, hidden: torch.Tensor) -> list[torch.Tensor]:
        return [mean_pool(hidden, self.attention_mask)]

    def rows(self, hidden: torch.Tensor) -> torch.Tensor:
        """(real tokens, hidden), row by row: what a prefix cache keeps."""
        return packed.pack(hidden, self.group())
