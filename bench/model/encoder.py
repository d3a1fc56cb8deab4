"""The bi-encoder: a Hugging Face encoder run layer by layer, so dropped layers are gone and a frozen
prefix runs under `no_grad` in eval mode (no autograd graph, no backward work below the first trainable
layer)."""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from bench.errors import BenchError
from bench.model import costmodel, dropout, embedding_grad, packed


def additive_mask(attention_mask: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The 4-D additive mask (batch, 1, 1, seq) that BERT layers expect; 0 keeps, dtype-min masks out."""
    return dropout.additive_bias(attention_mask[:, None, None, :].bool(), dtype)


class PrefixCache:
    """Hidden states after a frozen prefix (embeddings + `layers` bottom layers), once per distinct text, keyed by
    its token ids: a frozen prefix in eval mode gives a text the same output every step, and replies repeat."""

    def __init__(self, layers: int, whole_batches: bool = False):
        self.layers = layers
        self.whole_batches = whole_batches
        """Run the prefix on the whole batch whenever any text of it is new (evaluation's shared cache): the
        outputs are then bit for bit those of the uncached path, whose batches are the same every run."""
        self.store: dict[bytes, torch.Tensor] = {}
        self.hits = self.misses = self.tokens_served = self.tokens_computed = 0

    def packed(self, tower: Tower, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(real tokens, hidden) after the prefix, row by row; only texts never seen before run the prefix."""
        lengths = attention_mask.sum(1).tolist()
        rows = input_ids.cpu()
        keys = [rows[r, :n].numpy().tobytes() for r, n in enumerate(lengths)]
        first: dict[bytes, int] = {}
        for row, key in enumerate(keys):
            if key not in self.store:
                first.setdefault(key, row)
        missing = sorted(first.values())
        if missing and self.whole_batches:
            missing = list(range(len(keys)))
        if missing:
            index = torch.tensor(missing, device=input_ids.device)
            width = max(lengths[r] for r in missing)
            hidden = tower.run_prefix(input_ids[index, :width], attention_mask[index, :width], self.layers)
            for row, chunk in zip(missing, hidden.split([lengths[r] for r in missing]), strict=True):
                self.store.setdefault(keys[row], chunk)
        computed = sum(lengths[r] for r in missing)
        self.misses += len(missing)
        self.hits += len(keys) - len(missing)
        self.tokens_computed += computed
        self.tokens_served += sum(lengths) - computed
        return torch.cat([self.store[key] for key in keys])


class Tower(nn.Module):
    """One encoder tower: embeddings, a list of transformer layers, mean pooling.

    In training a tower can skip layers for one step (`skipped`), serve a frozen prefix from a `prefix_cache`,
    and report every piece of work it runs to a `recorder` (the work ledger); at evaluation every layer runs."""

    def __init__(self, encoder: nn.Module, unpad: bool = False, length_buckets: int = 1):
        super().__init__()
        if not (hasattr(encoder, "embeddings") and hasattr(getattr(encoder, "encoder", None), "layer")):
            raise BenchError(f"unsupported architecture {type(encoder).__name__}: bench needs a BERT-style "
                             "encoder with .embeddings and .encoder.layer (BERT, RoBERTa, MiniLM, ELECTRA)")
        dropout.use_fast_dropout(encoder)
        self.embeddings = encoder.embeddings
        words = getattr(self.embeddings, "word_embeddings", None)
        self.word_grad = embedding_grad.DenseGradBuffer(words) if type(words) is nn.Embedding else None
        self.layers = encoder.encoder.layer
        # MPNet's relative-position bias: one embedding shared by every layer, computed once per forward
        self.relative_attention_bias = getattr(encoder.encoder, "relative_attention_bias", None)
        self.config = encoder.config
        self.frozen_prefix = 0  # embeddings + this many bottom layers run without autograd
        self.embeddings_frozen = False
        self.unpad = unpad and all(packed.supports(layer, self.config) for layer in self.layers)
        self.packed_embeddings = packed.embeds_packed(self.embeddings)
        self.length_buckets = length_buckets  # padded training batches run as this many length-sorted sub-batches
        self.skipped: frozenset[int] = frozenset()
        self.prefix_cache: PrefixCache | None = None
        self.eval_prefix: PrefixCache | None = None  # set by evaluation (bench.training.evaluate) only
        self.recorder = None  # .record(tower, kind, layer index or texts pooled, tokens, input_grad), or None

    def _grad(self, layer_index: int | None):
        """Autograd off for the embeddings (None) and the layers of a frozen prefix."""
        frozen = self.embeddings_frozen and (layer_index is None or layer_index < self.frozen_prefix)
        return torch.set_grad_enabled(torch.is_grad_enabled() and not frozen)

    def _record(self, kind: str, index: int | None, tokens: int, input_grad: bool = False) -> None:
        if self.recorder is not None:
            self.recorder.record(self, kind, index, tokens, input_grad)

    def _prefix(self) -> PrefixCache | None:
        """The frozen prefix's outputs to serve: training's cache, or at evaluation the suite's shared one."""
        return self.prefix_cache if self.training else self.eval_prefix

    def _cached(self) -> bool:
        return self._prefix() is not None

    def _runs(self, index: int) -> bool:
        """False for a layer skipped this step (training only: every layer runs at evaluation)."""
        if self.training and index in self.skipped:
            self._record("skip", index, 0)
            return False
        return True

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encode_many([(input_ids, attention_mask)])[0]

    def position_bias(self, width: int, device: torch.device) -> torch.Tensor | None:
        """MPNet's relative-position bias (1, heads, width, width), as its encoder computes it; None for BERT."""
        if self.relative_attention_bias is None:
            return None
        from transformers.models.mpnet.modeling_mpnet import MPNetEncoder

        positions = torch.arange(width, device=device)
        buckets = MPNetEncoder.relative_position_bucket(positions[None, :] - positions[:, None],
                                                        num_buckets=self.relative_attention_bias.num_embeddings)
        return self.relative_attention_bias(buckets).permute(2, 0, 1).unsqueeze(0)

    def padded_layer(self, index: int, hidden: torch.Tensor, mask: torch.Tensor, bias: torch.Tensor | None):
        """One padded layer; MPNet's layers also take the shared position bias."""
        extra = {} if bias is None else {"position_bias": bias}
        return _first(self.layers[index](hidden, attention_mask=mask, **extra))

    def run_prefix(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, count: int) -> torch.Tensor:
        """Embeddings and the bottom `count` layers under no_grad: (real tokens, hidden), row by row."""
        group = packed.plan([attention_mask])
        tokens = len(group[0].positions)
        with torch.no_grad():
            self._record("embeddings", None, tokens)
            hidden = self.embeddings(input_ids=input_ids)
            if self.unpad:
                hidden = packed.pack(hidden, group[0])
            mask = additive_mask(attention_mask, hidden.dtype)
            bias = None if self.unpad else self.position_bias(input_ids.shape[1], input_ids.device)
            for index in range(count):
                self._record("layer", index, tokens)
                hidden = packed.layer_forward(self.layers[index], hidden, group) if self.unpad else self.padded_layer(
                    index, hidden, mask, bias)
        return hidden if self.unpad else packed.pack(hidden, group[0])

    def _padded(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        tokens = int(attention_mask.sum())  # real tokens, as the FLOP model counts them
        start = 0
        if self._cached():
            group = packed.plan([attention_mask])[0]
            real = self._prefix().packed(self, input_ids, attention_mask)
            hidden = real.new_zeros(group.rows * group.width, real.shape[1]).index_copy(
                0, group.positions, real).view(group.rows, group.width, -1)
            start = self._prefix().layers
        else:
            with self._grad(None):
                self._record("embeddings", None, tokens)
                hidden = self.embeddings(input_ids=input_ids)
        mask = additive_mask(attention_mask, hidden.dtype)
        with self._grad(None):
            bias = self.position_bias(input_ids.shape[1], input_ids.device)
        for index in range(start, len(self.layers)):
            if self._runs(index):
                with self._grad(index):
                    self._record("layer", index, tokens, hidden.requires_grad)
                    hidden = self.padded_layer(index, hidden, mask, bias)
        self._record("pool", input_ids.shape[0], tokens, hidden.requires_grad)
        return mean_pool(hidden, attention_mask)

    def sub_batches(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[list, torch.Tensor]:
        """A padded training batch as `length_buckets` length-sorted sub-batches, each cut to its own longest text,
        and the row order they hold (one sub-batch, the batch itself, when bucketing is off or in evaluation, which
        sorts its batches by length already)."""
        buckets = min(self.length_buckets, input_ids.shape[0])
        if buckets <= 1 or not self.training:
            return [(input_ids, attention_mask)], torch.arange(input_ids.shape[0])
        lengths = attention_mask.sum(1)
        order = torch.argsort(lengths, descending=True, stable=True)
        parts = [(input_ids[rows, : int(lengths[rows].max())], attention_mask[rows, : int(lengths[rows].max())])
                 for rows in order.tensor_split(buckets)]
        return parts, order

    def _bucketed(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Each row attends to its own real tokens only, so its embedding is the same, to float rounding, in any
        sub-batch: the same texts, less padding."""
        parts, order = self.sub_batches(input_ids, attention_mask)
        if len(parts) == 1:
            return self._padded(input_ids, attention_mask)
        pooled = torch.cat([self._padded(*part) for part in parts])
        return pooled[torch.argsort(order.to(pooled.device))]

    def encode_many(self, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> list[torch.Tensor]:
        """Embed several padded batches; unpadded, their real tokens go through every layer as one matrix."""
        if not self.unpad:
            return [self._bucketed(input_ids, attention_mask) for input_ids, attention_mask in batches]
        groups = self.packed_groups([attention_mask for _, attention_mask in batches])
        start = 0
        if self._cached():
            hidden = torch.cat([self._prefix().packed(self, *batch) for batch in batches])  # row by row
            order = packed.row_major(groups)
            hidden = hidden if order is None else hidden.index_select(0, order)
            start = self._prefix().layers
        else:
            with self._grad(None):
                self._record("embeddings", None, groups[-1].stop)
                hidden = self.embed_packed([input_ids for input_ids, _ in batches], groups)
        for index in range(start, len(self.layers)):
            if self._runs(index):
                with self._grad(index):
                    self._record("layer", index, hidden.shape[0], hidden.requires_grad)
                    hidden = packed.layer_forward(self.layers[index], hidden, groups)
        self._record("pool", sum(group.rows for group in groups), hidden.shape[0], hidden.requires_grad)
        return packed.mean_pool(hidden, groups)

    def packed_groups(self, masks: list[torch.Tensor]) -> list[packed.Group]:
        """Where a training or evaluation call's real tokens go, attention bucketed by length."""
        return packed.plan(masks, packed.ATTENTION_BUCKETS)

    def embed_packed(self, input_ids: list[torch.Tensor], groups: list[packed.Group]) -> torch.Tensor:
        """The embeddings of the batches' real tokens, in the groups' packed order."""
        if self.packed_embeddings:
            return packed.embed(self.embeddings, input_ids, groups)
        return torch.cat([packed.pack(self.embeddings(input_ids=ids), group)
                          for ids, group in zip(input_ids, groups, strict=True)])

    def train(self, mode: bool = True) -> Tower:
        """Frozen modules stay in eval mode (no dropout) whatever the caller asks."""
        super().train(mode)
        if self.embeddings_frozen:
            self.embeddings.eval()
        for layer in self.layers[: self.frozen_prefix]:
            layer.eval()
        return self


def _first(output):
    """A Hugging Face layer's hidden states, whether it returns a tuple or a tensor."""
    return output[0] if isinstance(output, tuple) else output


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


class BiEncoder(nn.Module):
    """Message and reply towers (shared weights by default) scored by scaled cosine similarity."""

    def __init__(self, encoder: nn.Module, shared_towers: bool = True, scale: float = 20.0, unpad: bool = False,
                 length_buckets: int = 1):
        super().__init__()
        self.message_tower = Tower(encoder, unpad, length_buckets)
        self.reply_tower = self.message_tower if shared_towers else Tower(copy.deepcopy(encoder), unpad,
                                                                          length_buckets)
        self.scale = scale
        self.original_layers = len(self.message_tower.layers)  # before any are dropped: the cost model's reference

    @property
    def towers(self) -> list[Tower]:
        return [self.message_tower] if self.reply_tower is self.message_tower else [
            self.message_tower, self.reply_tower]

    @property
    def num_layers(self) -> int:
        return len(self.message_tower.layers)

    def drop_layers(self, indices: list[int]) -> None:
        """Remove encoder layers for good: they are deleted from the module, not skipped."""
        for tower in self.towers:
            if any(i < 0 or i >= len(tower.layers) for i in indices):
                raise BenchError(f"cannot drop layers {indices} from a {len(tower.layers)}-layer model")
            kept = [layer for i, layer in enumerate(tower.layers) if i not in set(indices)]
            if not kept:
                raise BenchError("dropping every layer leaves no encoder; keep at least one layer")
            tower.layers = nn.ModuleList(kept)
            tower.config.num_hidden_layers = len(kept)

    def freeze_prefix(self, count: int, embeddings: bool = True) -> None:
        """Freeze the embeddings and the bottom `count` layers: no grads, no optimizer state, eval mode."""
        for tower in self.towers:
            if count > len(tower.layers):
                raise BenchError(f"cannot freeze {count} layers of a {len(tower.layers)}-layer model")
            if count and not embeddings:
                raise BenchError("freezing layers above trainable embeddings is not a prefix; "
                                 "set embeddings = true")
            tower.embeddings_frozen = embeddings
            tower.frozen_prefix = count
            # MPNet's position bias counts as an embedding: every layer, the frozen prefix's too, reads it
            shared = (tower.embeddings, tower.relative_attention_bias)
            frozen = [module for module in shared if module is not None] if embeddings else []
            frozen += list(tower.layers[:count])
            for module in frozen:
                module.requires_grad_(False)
        self.train(self.training)

    def skip_layers(self, indices) -> None:
        """Skip these kept layers in training forwards until changed (identity in their place), in both towers
        alike; a layer inside a cached prefix is never skipped (the cache holds its output)."""
        chosen = frozenset(int(i) for i in indices)
        if any(not 0 <= i < self.num_layers for i in chosen):
            raise BenchError(f"cannot skip layers {sorted(chosen)} of a {self.num_layers}-layer model")
        for tower in self.towers:
            tower.skipped = chosen

    def cache_prefix(self, layers: int | None) -> None:
        """Serve the frozen embeddings and bottom `layers` layers from a per-text cache in training; None drops
        the caches. Only a frozen prefix may be cached: its output depends on the token ids alone."""
        for tower in self.towers:
            if layers is not None and tower.prefix_cache is not None:
                raise BenchError("a prefix cache is already set: only one composed strategy may cache a prefix")
            if layers is not None and not (tower.embeddings_frozen and 0 <= layers <= tower.frozen_prefix):
                raise BenchError(f"cannot cache {layers} layers: only the frozen prefix ({tower.frozen_prefix} "
                                 "layers, embeddings frozen) may be cached; freeze them first")
            tower.prefix_cache = None if layers is None else PrefixCache(layers)

    def prefix_cache_stats(self) -> dict[str, float]:
        """The prefix caches' hits, misses and share of prefix work saved, summed over the towers."""
        caches = [t.prefix_cache for t in self.towers if t.prefix_cache is not None]
        if not caches:
            return {}
        served = sum(c.tokens_served for c in caches)
        total = served + sum(c.tokens_computed for c in caches)
        return {"cache_hits": sum(c.hits for c in caches), "cache_misses": sum(c.misses for c in caches),
                "cache_layers": caches[0].layers, "prefix_work_saved": served / total if total else 0.0}

    def param_groups(self, weight_decay: float) -> list[dict]:
        """The optimizer's parameter groups: trainable matrices decay; biases, LayerNorm and other vectors do not
        (frozen parameters are left out, so they carry no optimizer state)."""
        no_decay = {id(p) for module in self.modules() if isinstance(module, nn.LayerNorm)
                    for p in module.parameters(recurse=False)}
        trainable = [p for p in self.parameters() if p.requires_grad]
        decay = [p for p in trainable if p.ndim >= 2 and id(p) not in no_decay]
        rest = [p for p in trainable if p.ndim < 2 or id(p) in no_decay]
        return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]

    def disable_dropout(self) -> None:
        """Dropout probability 0 in every module (`train.dropout = false`); the modules stay, so the model's
        structure and parameter count do not change."""
        for module in self.modules():
            if isinstance(module, nn.Dropout):
                module.p = 0.0

    def train_plan(self) -> costmodel.TrainPlan:
        """What the cost model needs of this model's training: layers kept and the frozen prefix."""
        tower = self.message_tower
        return costmodel.TrainPlan(len(tower.layers), tower.frozen_prefix, tower.embeddings_frozen)

    def original_shape(self) -> costmodel.EncoderShape:
        """The encoder's shape before any layer was dropped: what full fine-tuning would have trained."""
        return costmodel.EncoderShape.of(self.message_tower.config, self.original_layers)

    def encode_messages(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.message_tower(input_ids, attention_mask)

    def encode_replies(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.reply_tower(input_ids, attention_mask)

    def encode_pairs(self, messages: tuple[torch.Tensor, torch.Tensor],
                     replies: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """A step's messages and replies; with shared unpadded towers, one pass over all their real tokens."""
        if self.reply_tower is self.message_tower:
            message_embeddings, reply_embeddings = self.message_tower.encode_many([messages, replies])
            return message_embeddings, reply_embeddings  # one call: shared towers pack both into one matrix
        return self.encode_messages(*messages), self.encode_replies(*replies)

    def similarity(self, messages: torch.Tensor, replies: torch.Tensor) -> torch.Tensor:
        return self.scale * F.normalize(messages, dim=-1) @ F.normalize(replies, dim=-1).T

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def count_parameters(self) -> tuple[int, int]:
        """(total, trainable), counting shared tower weights once."""
        params = list(self.parameters())
        return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)
