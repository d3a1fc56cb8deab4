"""The prefix cache: a frozen prefix (embeddings and bottom layers, eval mode) gives a text the same hidden states
every step, and replies repeat, so its outputs are kept per distinct text (cached-prefix in training, the suite's
shared prefixes in evaluation)."""

from __future__ import annotations

from typing import Protocol

import torch


class RunsPrefix(Protocol):
    """What the cache asks of a tower (bench.model.tower.Tower): its prefix on the texts never seen before."""

    def run_prefix(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, count: int) -> torch.Tensor: ...


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

    def packed(self, tower: RunsPrefix, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
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


def stats(caches: list[PrefixCache]) -> dict[str, float]:
    """Caches' hits, misses and share of prefix work saved, summed (empty with no cache)."""
    if not caches:
        return {}
    served = sum(c.tokens_served for c in caches)
    total = served + sum(c.tokens_computed for c in caches)
    return {"cache_hits": sum(c.hits for c in caches), "cache_misses": sum(c.misses for c in caches),
            "cache_layers": caches[0].layers, "prefix_work_saved": served / total if total else 0.0}
