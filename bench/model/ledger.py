"""The work ledger: what each training step really computed, added up from the towers' own reports.

A strategy whose plan changes from step to step (layers frozen mid-run, layers skipped for a step, a cached
prefix) has no single `TrainPlan`, so the FLOP model cannot price it up front. Instead every tower reports each
piece of work as it runs it (embeddings, each layer with its token count and whether gradients reach its input,
skipped layers, pooling), and the ledger prices each step with the FLOP model's per-layer costs
(`costmodel.layer_costs`) and counts the optimizer's parameters. The ideal speedup is then baseline-equivalent
FLOPs over ledger FLOPs, summed over the steps.

With `nominal_tokens` each step's token counts are scaled to the FLOP model's nominal step (the share of a step's
tokens a layer saw stays real), so a static plan gets exactly the ideal `costmodel.ideal_speedup` gives it;
`real_flops` prices the real token counts, for the run's achieved FLOP/s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from bench.model import costmodel
from bench.model.costmodel import ADAMW_FLOPS_PER_PARAM, EncoderShape, TrainPlan

COUNTS = ("tokens", "texts", "embedding_tokens", "layer_forwards", "layer_forwards_with_weight_grads",
          "layer_forwards_without_weight_grads", "input_grad_passes", "skipped_layers", "layer_tokens",
          "optimizer_params")
"""Totals over the run's steps: real tokens and texts encoded, embedding tokens run (less with a cached prefix),
layer passes (each layer of each tower call), those with and without weight gradients, those that pass gradients
to their input, layers skipped, tokens through layers, and optimizer parameters (summed over steps)."""


def _is_adapter(name: str) -> bool:
    return "lora_" in name


def weight_share(module: nn.Module) -> float:
    """Share of a module's own (non-adapter) weights that get gradients: 1 trainable, 0 frozen or adapted."""
    total = trainable = 0
    for name, param in module.named_parameters():
        if not _is_adapter(name):
            total += param.numel()
            trainable += param.numel() if param.requires_grad else 0
    return trainable / total if total else 0.0


def optimizer_params(optimizer: torch.optim.Optimizer) -> int:
    return sum(p.numel() for group in optimizer.param_groups for p in group["params"])


class WorkLedger:
    """Counts and prices the work of every training step; `totals()` is what a run stores in `runs.work`."""

    def __init__(self, shape: EncoderShape, seq_len: int | None = None, nominal_tokens: int | None = None):
        self.shape, self.seq_len, self.nominal_tokens = shape, seq_len, nominal_tokens
        self.counts: Counter[str] = Counter({key: 0 for key in COUNTS})
        self.steps = 0
        self.flops = self.baseline_flops = self.real_flops = 0.0
        self.extras: dict[str, Any] = {}
        self.first_optimizer_params: int | None = None
        self.last_optimizer_params: int | None = None
        self._events: list[tuple] = []

    def record(self, tower: nn.Module, kind: str, index: int | None, tokens: int, input_grad: bool) -> None:
        """Called by a tower for each piece of work: kind is embeddings, layer, skip or pool (index = texts)."""
        self._events.append((tower, kind, index, tokens, input_grad, torch.is_grad_enabled()))

    def note(self, **values: Any) -> None:
        """Strategy-specific totals (cache hits, ...) stored beside the counts."""
        self.extras.update(values)

    @contextmanager
    def step(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> Iterator[None]:
        """Record what the towers run inside this block as one step, then price it."""
        self._events = []
        for tower in model.towers:
            tower.recorder = self
        try:
            yield
        finally:
            for tower in model.towers:
                tower.recorder = None
        self._close(optimizer, len(model.towers))

    def _close(self, optimizer: torch.optim.Optimizer, towers: int) -> None:
        pools = [e for e in self._events if e[1] == "pool"]
        tokens, texts = sum(e[3] for e in pools), sum(e[2] for e in pools)
        if not tokens:
            return
        seq_len = min(self.seq_len or max(1, round(tokens / max(1, texts))), self.shape.max_position)
        costs = costmodel.layer_costs(self.shape, seq_len)
        scale = self.nominal_tokens / tokens if self.nominal_tokens else 1.0
        params = optimizer_params(optimizer)
        token_flops = 0.0  # FLOPs of this step's token-proportional work, at its real token counts
        counts = self.counts
        for tower, kind, index, count, input_grad, grad in self._events:
            if kind == "embeddings":
                counts["embedding_tokens"] += count
                trains = grad and any(p.requires_grad for p in tower.embeddings.parameters())
                token_flops += costs.embedding * count * (2 if trains else 1)
            elif kind == "pool":
                token_flops += costs.pooling * count * (2 if input_grad else 1)
            elif kind == "skip":
                counts["skipped_layers"] += 1
            else:
                layer = tower.layers[index]
                share = weight_share(layer) if grad else 0.0
                any_trainable = grad and any(p.requires_grad for p in layer.parameters())
                counts["layer_forwards"] += 1
                counts["layer_tokens"] += count
                counts["layer_forwards_with_weight_grads" if any_trainable else
                       "layer_forwards_without_weight_grads"] += 1
                counts["input_grad_passes"] += int(grad and input_grad)
                backward = share * costs.weight_grads
                if grad and input_grad:
                    backward += costs.input_grads
                elif any_trainable:  # the lowest trainable layer: no input gradient for Q/K/V to pass down
                    backward += costs.input_grads - costs.qkv_input
                token_flops += (costs.forward + backward) * count
        update = ADAMW_FLOPS_PER_PARAM * float(params)
        flops = update + token_flops * scale
        step_tokens = self.nominal_tokens or tokens
        full = TrainPlan(self.shape.layers, 0, embeddings_frozen=False)  # every tower's weights in the optimizer
        full_params = towers * (self.shape.embedding_params + self.shape.layers * self.shape.params_per_layer)
        self.baseline_flops += costmodel.step_flops(self.shape, full, step_tokens, seq_len, optimizer_flops_per_param=0)
        self.baseline_flops += ADAMW_FLOPS_PER_PARAM * float(full_params)
        self.flops += flops
        self.real_flops += update + token_flops  # at real token counts: for achieved FLOP/s
        self.steps += 1
        counts["tokens"] += tokens
        counts["texts"] += texts
        counts["optimizer_params"] += params
        if self.first_optimizer_params is None:
            self.first_optimizer_params = params
        self.last_optimizer_params = params

    @property
    def ideal_speedup(self) -> float | None:
        return self.baseline_flops / self.flops if self.flops else None

    def totals(self) -> dict[str, Any]:
        """The run's totals: JSON-ready, stored in the `runs.work` column."""
        return {"steps": self.steps, **dict(self.counts), "optimizer_params_first": self.first_optimizer_params,
                "optimizer_params_last": self.last_optimizer_params, "flops": self.flops,
                "baseline_flops": self.baseline_flops, "ideal_speedup": self.ideal_speedup,
                "real_flops": self.real_flops,
                "seq_len": self.seq_len, "nominal_tokens": self.nominal_tokens, **self.extras}
