"""Ranking evaluation: encode the whitelist and the messages, rank the whole whitelist per message."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from bench.analysis.metrics import first_relevant_ranks, gold_ranks
from bench.model.encoder import BiEncoder, Tower
from bench.tasks.batching import Encoded


@torch.no_grad()
def embed(tower: Tower, encoded: Encoded, batch_size: int, device: torch.device) -> torch.Tensor:
    """Unit-length embeddings; batches are length-sorted so padding is minimal, then the order is restored."""
    order = torch.argsort(encoded.lengths, descending=True)
    out = torch.empty(len(encoded), tower.config.hidden_size)
    for start in range(0, len(order), batch_size):
        index = order[start : start + batch_size]
        ids, mask = encoded.batch(index, device)
        out[index] = F.normalize(tower(ids, mask).float(), dim=-1).cpu()
    return out


@torch.no_grad()
def rank(model: BiEncoder, messages: Encoded, whitelist: Encoded, gold: np.ndarray, relevant: np.ndarray,
         batch_size: int, device: torch.device) -> tuple[np.ndarray, np.ndarray]:
    """Per-query (exact-match rank of the real reply, rank of the first same-intent reply)."""
    was_training = model.training
    model.eval()
    try:
        scores = (embed(model.message_tower, messages, batch_size, device)
                  @ embed(model.reply_tower, whitelist, batch_size, device).T).numpy()
    finally:
        model.train(was_training)
    return gold_ranks(scores, gold), first_relevant_ranks(scores, relevant)
