"""Ranking evaluation: encode the whitelist and the messages, rank the whole whitelist per message.

A strategy that freezes the embeddings and a bottom prefix of pre-trained layers leaves those weights as they
were loaded, so every run of a suite with that prefix (every seed; layer-freeze(3) and cached-prefix(3) alike)
computes the same hidden states after it for the same evaluation texts. `SharedPrefixes` keeps them, once per
model, prefix depth and text set, and later runs start their evaluation above the prefix. It is exact: the
prefix runs on the same batches as without it (`PrefixCache(whole_batches=True)`), so ranks are bit for bit the
same (tests/test_eval_reuse.py); it is used only when the run's prefix weights hash equal to the pre-trained ones.
"""

from __future__ import annotations

import weakref

import numpy as np
import torch
import torch.nn.functional as F

from bench.metrics import first_relevant_ranks, gold_ranks
from bench.model.encoder import BiEncoder
from bench.model.prefix_cache import PrefixCache
from bench.model.pretrained import LoadedModel, weights_hash
from bench.model.tower import Tower
from bench.tasks.batching import Encoded
from bench.tasks.tokenised import RankingInputs


class SharedPrefixes:
    """Evaluation outputs of one model's frozen pre-trained prefixes, shared by the runs that start from it."""

    def __init__(self, loaded: LoadedModel) -> None:
        self.loaded = loaded
        self._reference: list[str] | None = None  # hashes of the pre-trained embeddings, layer 0, layer 1, ...
        self._caches: dict[tuple, tuple[Encoded, PrefixCache]] = {}
        # tower -> {prefix depth: is it the pre-trained prefix}: hashed once per tower and depth, as a frozen
        # prefix never changes while it is frozen (the hash costs ~65 ms on MiniLM, and a run evaluates 5 times)
        self._checked: weakref.WeakKeyDictionary[Tower, dict[int, bool]] = weakref.WeakKeyDictionary()

    def _pretrained(self) -> list[str]:
        if self._reference is None:
            encoder = self.loaded.encoder
            self._reference = [weights_hash(encoder.embeddings)] + [weights_hash(layer)
                                                                     for layer in encoder.encoder.layer]
        return self._reference

    def cache(self, tower: Tower, encoded: Encoded, batch_size: int) -> PrefixCache | None:
        """The shared cache for this tower's frozen prefix on these texts, or None when it has no frozen prefix
        or its prefix is not the pre-trained one (dropped bottom layers, adapters, layers frozen after training)."""
        modules = tower.cacheable_prefix()  # the embeddings, then each frozen layer
        depth = len(modules) - 1
        if depth <= 0:
            return None
        checked = self._checked.setdefault(tower, {})
        if depth not in checked:
            checked[depth] = [weights_hash(module) for module in modules] == self._pretrained()[: depth + 1]
        if not checked[depth]:
            return None
        key = (depth, tower.unpad, id(encoded), batch_size)
        if key not in self._caches:  # the Encoded is kept with its cache, so its id is never reused
            self._caches[key] = (encoded, PrefixCache(depth, whole_batches=True))
        return self._caches[key][1]


@torch.no_grad()
def embed(tower: Tower, encoded: Encoded, batch_size: int, device: torch.device,
          prefix: PrefixCache | None = None) -> torch.Tensor:
    """Unit-length embeddings; batches are length-sorted so padding is minimal, then the order is restored.
    With `prefix`, the frozen prefix's outputs come from (and go to) that shared cache."""
    order = torch.argsort(encoded.lengths, descending=True)
    out = torch.empty(len(encoded), tower.hidden_size)
    with tower.serving(prefix):
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            ids, mask = encoded.batch(index, device)
            out[index] = F.normalize(tower(ids, mask).float(), dim=-1).cpu()
    return out


@torch.no_grad()
def rank(model: BiEncoder, queries: RankingInputs, whitelist: Encoded, batch_size: int, device: torch.device,
         prefixes: SharedPrefixes | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(exact-match rank of the real reply for each query whose reply is on the whitelist, rank of the first
    same-intent reply for each query whose intent is). Each distinct message is encoded once. With `prefixes`
    (the model's pre-trained frozen prefixes), a frozen prefix's outputs are reused across runs."""
    was_training = model.training
    model.eval()

    def prefix(tower: Tower, encoded: Encoded) -> PrefixCache | None:
        return prefixes.cache(tower, encoded, batch_size) if prefixes is not None else None

    try:
        towers = model.tower("messages"), model.tower("replies")
        messages = embed(towers[0], queries.messages, batch_size, device, prefix(towers[0], queries.messages))
        replies = embed(towers[1], whitelist, batch_size, device, prefix(towers[1], whitelist))
    finally:
        model.train(was_training)
    scores = (messages @ replies.T).numpy()[queries.rows]
    exact = queries.gold >= 0
    return (gold_ranks(scores[exact], queries.gold[exact]),
            first_relevant_ranks(scores[queries.intent_counted], queries.relevant))
