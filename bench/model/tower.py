"""One encoder tower: a Hugging Face encoder's embeddings and layer stack, run layer by layer in one loop, so
dropped layers are gone, a layer skipped for a step is identity, and a frozen prefix runs under `no_grad` in eval
mode (no autograd graph, no backward work below the first trainable layer).

The loop does not know the layout: a backend call (`padded.PaddedCall`, `packed.PackedCall`) embeds, runs one
layer and pools; a `PrefixCache` may stand in for the embeddings and the frozen bottom layers. Strategies do not
reach in here: they act through the model API of `bench.model.encoder.BiEncoder`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

import torch
from torch import nn

from bench.errors import BenchError
from bench.model import architecture, embedding_grad, packed, padded
from bench.model.prefix_cache import PrefixCache

Call = padded.PaddedCall | packed.PackedCall
Batch = tuple[torch.Tensor, torch.Tensor]


class Tower(nn.Module):
    """Embeddings, a list of transformer layers, mean pooling.

    In training a tower can skip layers for one step (`skipped`), serve a frozen prefix from a `prefix_cache`,
    and report every piece of work it runs to a `recorder` (the work ledger); at evaluation every layer runs."""

    def __init__(self, encoder: nn.Module, unpad: bool = False, length_buckets: int = 1):
        super().__init__()
        parts = architecture.parts(encoder)
        self.embeddings = parts.embeddings
        words = getattr(self.embeddings, "word_embeddings", None)
        self.word_grad = embedding_grad.DenseGradBuffer(words) if type(words) is nn.Embedding else None
        self.layers = parts.layers
        self.relative_attention_bias = parts.relative_attention_bias  # MPNet's, read by every layer
        self.config = parts.config
        self.frozen_prefix = 0  # embeddings + this many bottom layers run without autograd
        self.embeddings_frozen = False
        self.unpad = unpad and all(packed.supports(layer, self.config) for layer in self.layers)
        self.packed_embeddings = packed.embeds_packed(self.embeddings)
        self.length_buckets = length_buckets  # padded training batches run as this many length-sorted sub-batches
        self.skipped: frozenset[int] = frozenset()
        self.adapters: frozenset[int] = frozenset()  # ids of adapter parameters (`add_adapters`)
        self.prefix_cache: PrefixCache | None = None
        self.eval_prefix: PrefixCache | None = None  # set by evaluation only (`serving`)
        self.recorder = None  # .record(tower, kind, layer index or texts pooled, tokens, input_grad), or None

    # --- the one layer loop and what feeds it ---------------------------------------------------------------------

    def _grad(self, layer_index: int | None):
        """Autograd off for the embeddings (None) and the layers of a frozen prefix."""
        frozen = self.embeddings_frozen and (layer_index is None or layer_index < self.frozen_prefix)
        return torch.set_grad_enabled(torch.is_grad_enabled() and not frozen)

    def _record(self, kind: str, index: int | None, tokens: int, input_grad: bool = False) -> None:
        if self.recorder is not None:
            self.recorder.record(self, kind, index, tokens, input_grad)

    def _layers(self, call: Call, hidden: torch.Tensor, start: int, stop: int, skipping: bool) -> torch.Tensor:
        """Layers `start` .. `stop` - 1, each under its own grad mode and reported to the recorder; with `skipping`
        a layer skipped this step (training only: every layer runs at evaluation) is identity."""
        for index in range(start, stop):
            if skipping and self.training and index in self.skipped:
                self._record("skip", index, 0)
                continue
            with self._grad(index):
                self._record("layer", index, call.tokens, hidden.requires_grad)
                hidden = call.layer(index, hidden)
        return hidden

    def _encode(self, call: Call) -> list[torch.Tensor]:
        """One call's texts, embedded: embeddings (or the prefix cache), the layers above, pooling."""
        prefix = self.prefix_cache if self.training else self.eval_prefix
        with self._grad(None):
            if prefix is None:
                self._record("embeddings", None, call.tokens)
                hidden = call.embed()
            else:
                hidden = call.from_prefix(partial(prefix.packed, self))
            call.ready(hidden)
        hidden = self._layers(call, hidden, 0 if prefix is None else prefix.layers, len(self.layers), True)
        self._record("pool", call.texts, call.tokens, hidden.requires_grad)
        return call.pool(hidden)

    def run_prefix(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, count: int) -> torch.Tensor:
        """Embeddings and the bottom `count` layers under no_grad: (real tokens, hidden), row by row (what a
        `PrefixCache` keeps); embedded padded in either layout, and never skipped."""
        call = packed.PackedCall(self.embeddings, self.layers, [(input_ids, attention_mask)], 1, False) \
            if self.unpad else self._padded_call(input_ids, attention_mask)
        with torch.no_grad():
            self._record("embeddings", None, call.tokens)
            hidden = call.embed()
            call.ready(hidden)
            hidden = self._layers(call, hidden, 0, count, skipping=False)
        return call.rows(hidden)

    def _padded_call(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> padded.PaddedCall:
        return padded.PaddedCall(self.embeddings, self.layers, self.relative_attention_bias, input_ids, attention_mask)

    def _sub_batches(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[list[Batch], torch.Tensor]:
        """Padded training batches run as `length_buckets` sub-batches; evaluation sorts its batches by length."""
        return padded.sub_batches(input_ids, attention_mask, self.length_buckets if self.training else 1)

    def calls(self, batches: list[Batch]) -> list[Call]:
        """The backend calls that encode these batches, as `encode_many` runs them: one over every batch packed
        together, or one per padded (sub-)batch. Calibration times their pieces (`embed`, `layer`, `pool`)."""
        if self.unpad:
            return [packed.PackedCall(self.embeddings, self.layers, batches, packed.ATTENTION_BUCKETS,
                                      self.packed_embeddings)]
        return [self._padded_call(*part) for batch in batches for part in self._sub_batches(*batch)[0]]

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encode_many([(input_ids, attention_mask)])[0]

    def encode_many(self, batches: list[Batch]) -> list[torch.Tensor]:
        """Embed several padded batches; unpadded, their real tokens go through every layer as one matrix."""
        if self.unpad:
            return self._encode(self.calls(batches)[0])
        return [self._bucketed(input_ids, attention_mask) for input_ids, attention_mask in batches]

    def _bucketed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Each row attends to its own real tokens only, so its embedding is the same, to float rounding, in any
        sub-batch: the same texts, less padding."""
        parts, order = self._sub_batches(input_ids, attention_mask)
        pooled = [self._encode(self._padded_call(*part))[0] for part in parts]
        if len(pooled) == 1:
            return pooled[0]
        joined = torch.cat(pooled)
        return joined[torch.argsort(order.to(joined.device))]

    def train(self, mode: bool = True) -> Tower:
        """Frozen modules stay in eval mode (no dropout) whatever the caller asks."""
        super().train(mode)
        if self.embeddings_frozen:
            self.embeddings.eval()
        for layer in self.layers[: self.frozen_prefix]:
            layer.eval()
        return self

    # --- the strategy mechanics, for bench.model.encoder.BiEncoder's model API ----------------------------------

    def drop(self, indices: list[int]) -> None:
        if any(i < 0 or i >= len(self.layers) for i in indices):
            raise BenchError(f"cannot drop layers {indices} from a {len(self.layers)}-layer model")
        kept = [layer for i, layer in enumerate(self.layers) if i not in set(indices)]
        if not kept:
            raise BenchError("dropping every layer leaves no encoder; keep at least one layer")
        self.layers = nn.ModuleList(kept)
        self.config.num_hidden_layers = len(kept)

    def freeze(self, count: int, embeddings: bool) -> None:
        if count > len(self.layers):
            raise BenchError(f"cannot freeze {count} layers of a {len(self.layers)}-layer model")
        if count and not embeddings:
            raise BenchError("freezing layers above trainable embeddings is not a prefix; set embeddings = true")
        self.embeddings_frozen = embeddings
        self.frozen_prefix = count
        # MPNet's position bias counts as an embedding: every layer, the frozen prefix's too, reads it
        shared = (self.embeddings, self.relative_attention_bias)
        frozen = [module for module in shared if module is not None] if embeddings else []
        frozen += list(self.layers[:count])
        for module in frozen:
            module.requires_grad_(False)

    def cache(self, layers: int | None) -> None:
        if layers is not None and self.prefix_cache is not None:
            raise BenchError("a prefix cache is already set: only one composed strategy may cache a prefix")
        if layers is not None and not (self.embeddings_frozen and 0 <= layers <= self.frozen_prefix):
            raise BenchError(f"cannot cache {layers} layers: only the frozen prefix ({self.frozen_prefix} "
                             "layers, embeddings frozen) may be cached; freeze them first")
        self.prefix_cache = None if layers is None else PrefixCache(layers)

    def add_adapters(self, inject: Callable[[nn.Module, list[str]], object], targets: tuple[str, ...],
                     start: int) -> None:
        """`inject(self, names)` adds adapters to the named modules of layers `start` up; what it adds trains,
        nothing else does."""
        names = [name for name, _ in self.named_modules() if name.startswith("layers.")
                 and name.split(".")[-1] in targets and int(name.split(".")[1]) >= start]
        if not names:
            raise BenchError(f"no module named {'/'.join(targets)!r} in the encoder layers; name projections such "
                             "as query/key/value/dense, joined with /")
        before = {id(param) for param in self.parameters()}
        inject(self, names)
        self.adapters = frozenset(id(param) for param in self.parameters() if id(param) not in before)
        for param in self.parameters():
            param.requires_grad_(id(param) in self.adapters)

    # --- what the work ledger and evaluation read ---------------------------------------------------------------

    def trains_embeddings(self) -> bool:
        return any(p.requires_grad for p in self.embeddings.parameters())

    def layer_weights(self, index: int) -> tuple[float, bool]:
        """(share of layer `index`'s own weights that get gradients, whether any parameter of it does): adapters
        are not its own weights, so an adapted layer's share is 0, yet it trains."""
        total = trainable = 0
        trains = False
        for param in self.layers[index].parameters():
            trains = trains or param.requires_grad
            if id(param) not in self.adapters:
                total += param.numel()
                trainable += param.numel() if param.requires_grad else 0
        return (trainable / total if total else 0.0), trains

    def trainable_layers(self) -> list[int]:
        return [i for i, layer in enumerate(self.layers) if any(p.requires_grad for p in layer.parameters())]

    @property
    def hidden_size(self) -> int:
        return self.config.hidden_size

    def cacheable_prefix(self) -> list[nn.Module]:
        """The frozen prefix whose outputs depend on token ids alone, embeddings first (empty without frozen
        embeddings or frozen layers): what evaluation may serve from a shared `PrefixCache`."""
        if not (self.embeddings_frozen and self.frozen_prefix > 0):
            return []
        return [self.embeddings, *self.layers[: self.frozen_prefix]]

    @contextmanager
    def serving(self, prefix: PrefixCache | None) -> Iterator[Tower]:
        """Evaluate with the frozen prefix's outputs from (and into) `prefix`, a cache evaluation shares."""
        self.eval_prefix = prefix
        try:
            yield self
        finally:
            self.eval_prefix = None
