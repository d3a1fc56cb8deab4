"""The work ledger: what each training step really computed, added up from the towers' own reports.

A strategy whose plan changes from step to step (layers frozen mid-run, layers skipped for a step, a cached
prefix) has no single `TrainPlan`, so the FLOP model cannot price it up front. Instead every tower reports each
piece of work as it runs it (embeddings, each layer with its token count and whether gradients reach its input,
skipped layers, pooling), and the ledger prices each step with the FLOP model's per-layer costs
(`costmodel.layer_costs`) and counts the optimizer's parameters. The ideal speedup is then baseline-equivalent
FLOPs over ledger FLOPs, summed over the steps. Which of a layer's weights get gradients the tower says
(`Tower.layer_weights`): adapters are the parameters `BiEncoder.add_adapters` added, whatever their names.

With `prices` (bench.model.prices: each piece of a step timed on this machine, per precision) each step is also
priced in seconds, and the ideal speedup that the run reports is the baseline's priced step over the steps' priced
total: unlike FLOPs, it charges the element-wise work a frozen prefix skips, and the precision a step ran at.

With `nominal_tokens` each step's token counts are scaled to the FLOP model's nominal step (the share of a step's
tokens a layer saw stays real), so a static plan gets exactly the ideal `costmodel.ideal_speedup` gives it;
`real_flops` prices the real token counts, for the run's achieved FLOP/s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import torch

from bench.model import costmodel
from bench.model.costmodel import ADAMW_FLOPS_PER_PARAM, EncoderShape, TrainPlan
from bench.model.prices import StepPrices

if TYPE_CHECKING:
    from bench.model.encoder import BiEncoder
    from bench.model.tower import Tower

COUNTS = ("tokens", "texts", "embedding_tokens", "layer_forwards", "layer_forwards_with_weight_grads",
          "layer_forwards_without_weight_grads", "input_grad_passes", "skipped_layers", "layer_tokens",
          "optimizer_params")
"""Totals over the run's steps: real tokens and texts encoded, embedding tokens run (less with a cached prefix),
layer passes (each layer of each tower call), those with and without weight gradients, those that pass gradients
to their input, layers skipped, tokens through layers, and optimizer parameters (summed over steps)."""


def optimizer_params(optimizer: torch.optim.Optimizer) -> int:
    return sum(p.numel() for group in optimizer.param_groups for p in group["params"])


class WorkLedger:
    """Counts and prices the work of every training step; `totals()` is what a run stores in `runs.work`."""

    def __init__(self, shape: EncoderShape, seq_len: int | None = None, nominal_tokens: int | None = None,
                 prices: dict[str, StepPrices] | None = None, base_precision: str = "fp32", device_type: str = "cpu"):
        self.shape, self.seq_len, self.nominal_tokens = shape, seq_len, nominal_tokens
        self.prices, self.base_precision, self.device_type = prices or {}, base_precision, device_type
        """Prices per precision ("fp32", "bf16"); the baseline is priced at `base_precision`, the suite's."""
        self.seconds: float | None = 0.0 if prices else None  # priced seconds of the steps; None: not priced
        self.baseline_seconds = 0.0
        self.real_seconds = 0.0  # the steps priced at their real token counts (what a clock sees)
        self.baseline_real_steps: list[float] = []  # each step as the baseline would price it, at real tokens
        self.counts: Counter[str] = Counter({key: 0 for key in COUNTS})
        self.steps = 0
        self.flops = self.baseline_flops = self.real_flops = 0.0
        self.extras: dict[str, Any] = {}
        self.first_optimizer_params: int | None = None
        self.last_optimizer_params: int | None = None
        self._events: list[tuple] = []

    def record(self, tower: Tower, kind: str, index: int | None, tokens: int, input_grad: bool) -> None:
        """Called by a tower for each piece of work: kind is embeddings, layer, skip or pool (index = texts)."""
        self._events.append((tower, kind, index, tokens, input_grad, torch.is_grad_enabled(),
                             torch.is_autocast_enabled(self.device_type)))

    def note(self, **values: Any) -> None:
        """Strategy-specific totals (cache hits, ...) stored beside the counts."""
        self.extras.update(values)

    @contextmanager
    def step(self, model: BiEncoder, optimizer: torch.optim.Optimizer) -> Iterator[None]:
        """Record what the towers run inside this block as one step, then price it."""
        self._events = []
        model.report_to(self)
        try:
            yield
        finally:
            model.report_to(None)
        self._close(optimizer, len(model.towers))

    def _close(self, optimizer: torch.optim.Optimizer, towers: int) -> None:
        pools = [e for e in self._events if e[1] == "pool"]
        tokens, texts = sum(e[3] for e in pools), sum(e[2] for e in pools)
        if not tokens:
            return
        seq_len = min(self.seq_len or max(1, round(tokens / max(1, texts))), self.shape.max_position)
        costs = costmodel.layer_costs(self.shape, seq_len)
        prices = self.prices.get("bf16" if any(e[6] for e in self._events) else "fp32")
        scale = self.nominal_tokens / tokens if self.nominal_tokens else 1.0
        params = optimizer_params(optimizer)
        token_flops = token_seconds = 0.0  # this step's token-proportional work, at its real token counts
        for event in self._events:
            flops, seconds = self._piece(costs, prices, *event[:6])
            token_flops += flops * event[3]
            token_seconds += seconds * event[3]
        update = ADAMW_FLOPS_PER_PARAM * float(params)
        step_tokens = self.nominal_tokens or tokens
        full = TrainPlan(self.shape.layers, 0, embeddings_frozen=False)  # every tower's weights in the optimizer
        full_params = towers * (self.shape.embedding_params + self.shape.layers * self.shape.params_per_layer)
        self.baseline_flops += costmodel.step_flops(self.shape, full, step_tokens, seq_len, optimizer_flops_per_param=0)
        self.baseline_flops += ADAMW_FLOPS_PER_PARAM * float(full_params)
        self.flops += update + token_flops * scale
        self.real_flops += update + token_flops  # at real token counts: for achieved FLOP/s
        self._price(prices, token_seconds, scale, params, (step_tokens, tokens), full_params, any(e[4] for e in pools))
        self.steps += 1
        counts = self.counts
        counts["tokens"] += tokens
        counts["texts"] += texts
        counts["optimizer_params"] += params
        if self.first_optimizer_params is None:
            self.first_optimizer_params = params
        self.last_optimizer_params = params

    def _piece(self, costs: costmodel.LayerCosts, prices: StepPrices | None, tower: Tower, kind: str,
               index: int | None, count: int, input_grad: bool, grad: bool) -> tuple[float, float]:
        """(FLOPs, priced seconds) per token of one recorded piece of work; counts it too."""
        counts = self.counts
        if kind == "embeddings":
            counts["embedding_tokens"] += count
            trains = grad and tower.trains_embeddings()
            seconds = (prices.embeddings_trainable if trains else prices.embeddings_no_grad) if prices else 0.0
            return costs.embedding * (2 if trains else 1), seconds
        if kind == "pool":  # priced per step, with the head
            return costs.pooling * (2 if input_grad else 1), 0.0
        if kind == "skip":
            counts["skipped_layers"] += 1
            return 0.0, 0.0
        # the tower knows its layers' adapters (BiEncoder.add_adapters): their base weights are priced as frozen
        share, any_trainable = tower.layer_weights(index) if grad else (0.0, False)
        counts["layer_forwards"] += 1
        counts["layer_tokens"] += count
        counts["layer_forwards_with_weight_grads" if any_trainable else "layer_forwards_without_weight_grads"] += 1
        counts["input_grad_passes"] += int(grad and input_grad)
        backward = share * costs.weight_grads
        if grad and input_grad:
            backward += costs.input_grads
        elif any_trainable:  # the lowest trainable layer: no input gradient for Q/K/V to pass down
            backward += costs.input_grads - costs.qkv_input
        seconds = prices.layer(grad, grad and input_grad, share, any_trainable) if prices else 0.0
        return costs.forward + backward, seconds

    def _price(self, prices: StepPrices | None, token_seconds: float, scale: float, params: int,
               step_tokens: tuple[int, int], full_params: int, trains: bool) -> None:
        """Add this step's priced seconds and the baseline's (full fine-tuning at the suite's precision), at the
        nominal step's tokens (`step_tokens[0]`), and again at the step's real tokens (`step_tokens[1]`)."""
        base = self.prices.get(self.base_precision)
        if self.seconds is None or prices is None or base is None:
            self.seconds = None  # a step at a precision without prices: the run has no priced ideal
            return
        fixed = prices.optimizer_param * params + (prices.head if trains else 0.0)
        self.seconds += token_seconds * scale + fixed
        self.real_seconds += token_seconds + fixed
        per_token = base.embeddings_trainable + self.shape.layers * base.layer_trainable
        base_fixed = base.optimizer_param * full_params + base.head
        self.baseline_seconds += step_tokens[0] * per_token + base_fixed
        self.baseline_real_steps.append(step_tokens[1] * per_token + base_fixed)

    @property
    def ideal_speedup(self) -> float | None:
        """The FLOP model's: baseline-equivalent FLOPs over the steps' FLOPs."""
        return self.baseline_flops / self.flops if self.flops else None

    @property
    def priced_ideal_speedup(self) -> float | None:
        """At this machine's measured prices: the baseline's priced steps over the steps' priced total."""
        return self.baseline_seconds / self.seconds if self.seconds else None

    def totals(self) -> dict[str, Any]:
        """The run's totals: JSON-ready, stored in the `runs.work` column."""
        return {"steps": self.steps, **dict(self.counts), "optimizer_params_first": self.first_optimizer_params,
                "optimizer_params_last": self.last_optimizer_params, "flops": self.flops,
                "baseline_flops": self.baseline_flops, "ideal_speedup": self.ideal_speedup,
                "real_flops": self.real_flops, "priced_seconds": self.seconds,
                "baseline_priced_seconds": self.baseline_seconds if self.seconds is not None else None,
                "priced_ideal_speedup": self.priced_ideal_speedup,
                "real_priced_seconds": self.real_seconds if self.seconds is not None else None,
                "baseline_real_priced_steps": self.baseline_real_steps if self.seconds is not None else None,
                "seq_len": self.seq_len, "nominal_tokens": self.nominal_tokens, **self.extras}
