"""The bi-encoder: message and reply towers (bench.model.tower) scored by scaled cosine similarity, and the model
API through which strategies change it.

The model API is all a strategy (and `bench.registry.StepContext`) may use of a model; no strategy reaches into a
tower. Reading: `num_layers`, `layers` (the kept layers, for their gradients), `frozen_prefix`,
`embeddings_frozen`, `skipped_layers`, `trainable_layers()`. Changing: `drop_layers`, `freeze_prefix`,
`skip_layers`, `cache_prefix` (with `prefix_cache_stats`), `add_adapters`. Each acts on both towers alike;
docs/strategies.md shows it to plugin authors."""

from __future__ import annotations

import copy
from collections.abc import Callable, Collection
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from bench.errors import BenchError
from bench.model import costmodel, prefix_cache
from bench.model.tower import Batch, Call, Tower


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

    # --- the model API: reading ------------------------------------------------------------------------------------

    @property
    def num_layers(self) -> int:
        """Encoder layers kept (after any were dropped)."""
        return len(self.message_tower.layers)

    @property
    def layers(self) -> nn.ModuleList:
        """The message tower's kept layers, bottom first: read their gradients (`StepContext.layer_grad_norms`)."""
        return self.message_tower.layers

    @property
    def frozen_prefix(self) -> int:
        """Bottom layers frozen (`freeze_prefix`): they run under no_grad in eval mode."""
        return self.message_tower.frozen_prefix

    @property
    def embeddings_frozen(self) -> bool:
        return self.message_tower.embeddings_frozen

    @property
    def skipped_layers(self) -> frozenset[int]:
        """Layers skipped in training forwards (`skip_layers`); empty when every layer runs."""
        return self.message_tower.skipped

    def trainable_layers(self) -> list[int]:
        """Indices of the kept layers with a parameter that gets gradients (an adapted layer counts)."""
        return self.message_tower.trainable_layers()

    # --- the model API: changing -----------------------------------------------------------------------------------

    def drop_layers(self, indices: list[int]) -> None:
        """Remove encoder layers for good: they are deleted from the module, not skipped."""
        for tower in self.towers:
            tower.drop(indices)

    def freeze_prefix(self, count: int, embeddings: bool = True) -> None:
        """Freeze the embeddings and the bottom `count` layers: no grads, no optimizer state, eval mode."""
        for tower in self.towers:
            tower.freeze(count, embeddings)
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
            tower.cache(layers)

    def prefix_cache_stats(self) -> dict[str, float]:
        """The prefix caches' hits, misses and share of prefix work saved, summed over the towers."""
        return prefix_cache.stats([t.prefix_cache for t in self.towers if t.prefix_cache is not None])

    def add_adapters(self, inject: Callable[[nn.Module, list[str]], object], targets: Collection[str],
                     start: int = 0) -> None:
        """Add adapters (e.g. LoRA) to the modules named `targets` (a name's last part: query, value, dense) of
        layers `start` up, in each tower: `inject(module, names)` changes the module in place (peft's
        `inject_adapter_in_model` fits). The parameters it adds are the adapters: they alone train from then on,
        and the work ledger prices an adapted layer's own weights as frozen."""
        for tower in self.towers:
            tower.add_adapters(inject, tuple(targets), start)

    # --- for training, the ledger, calibration and evaluation -----------------------------------------------------

    def report_to(self, recorder) -> None:
        """Every tower reports each piece of work it runs to `recorder.record` (the work ledger); None stops it."""
        for tower in self.towers:
            tower.recorder = recorder

    def tower(self, texts: Literal["messages", "replies"]) -> Tower:
        """The tower that encodes these texts (the same one for both when they share weights)."""
        return self.message_tower if texts == "messages" else self.reply_tower

    def step_calls(self, messages: Batch, replies: Batch) -> list[Call]:
        """Every backend call of one training step, as `encode_pairs` makes them (calibration times their pieces)."""
        if self.reply_tower is self.message_tower:
            return self.message_tower.calls([messages, replies])
        return self.message_tower.calls([messages]) + self.reply_tower.calls([replies])

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
        return costmodel.TrainPlan(self.num_layers, self.frozen_prefix, self.embeddings_frozen)

    def original_shape(self) -> costmodel.EncoderShape:
        """The encoder's shape before any layer was dropped: what full fine-tuning would have trained."""
        return costmodel.EncoderShape.of(self.message_tower.config, self.original_layers)

    def encode_messages(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.message_tower(input_ids, attention_mask)

    def encode_replies(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.reply_tower(input_ids, attention_mask)

    def encode_pairs(self, messages: Batch, replies: Batch) -> tuple[torch.Tensor, torch.Tensor]:
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
