"""Pre-tokenised text with dynamic padding: tokenise once, then slice each batch to its longest row."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Encoded:
    """Token ids padded to the longest text, plus each text's length."""

    ids: torch.Tensor
    lengths: torch.Tensor

    def __len__(self) -> int:
        return self.ids.shape[0]

    @classmethod
    def empty(cls) -> Encoded:
        return cls(torch.zeros(0, 1, dtype=torch.long), torch.zeros(0, dtype=torch.long))

    def batch(self, index: torch.Tensor, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
        width = int(self.lengths[index].max())
        ids = self.ids[index, :width]
        mask = (torch.arange(width)[None, :] < self.lengths[index][:, None]).long()
        return ids.to(device, non_blocking=True), mask.to(device, non_blocking=True)


def encode_texts(tokenizer, texts: list[str], max_length: int) -> Encoded:
    tokens = tokenizer(list(texts), truncation=True, max_length=max_length, padding=True, return_tensors="pt")
    return Encoded(tokens["input_ids"], tokens["attention_mask"].sum(1))
