"""Where does a step's time go, and why can a measured speedup beat the FLOP model's "ideal"?

Profiles training steps of the baseline and of each strategy on `sgd` data with torch.profiler and splits the
steps' time into the work the FLOP model counts (matrix products: mm/addmm/bmm/linear, and fused attention) and
the work it does not (element-wise and memory-bound kernels: layer norms, GELU, dropout, softmax, adds, copies,
gathers, plus the optimizer and autograd bookkeeping). For each strategy it prints the measured step speedup over
the baseline, the speedup of the counted (matmul) part alone, of the uncounted part alone, and the FLOP model's
ideal: when the matmul part's speedup sits at or below the ideal and the uncounted part's above it, the excess is
the uncounted work the strategy also skips.

    python benchmarks/unmodelled_work.py [--steps 12] [--warm 3] [--pairs 1024]

Run it on an idle machine (it times). Needs the SGD pairs (../shared/data/sgd).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

from bench.config import load_config, parse_strategy
from bench.registry import REGISTRY, load_plugins
from bench.suite.cell import build_model, ideal_speedup
from bench.suite.cells import load_suite
from bench.tasks.tokenised import tokenise
from bench.training.loop import batch_order, make_optimizer, precision, total_steps, train_step

MATMUL = {"aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm", "aten::_scaled_dot_product_flash_attention_for_cpu",
          "aten::_scaled_dot_product_flash_attention_for_cpu_backward", "aten::_efficient_attention_forward",
          "aten::_scaled_dot_product_attention_math"}
OPTIMIZER = {"aten::_fused_adamw_", "aten::_foreach_mul_", "aten::_foreach_add_", "aten::_foreach_addcmul_",
             "aten::_foreach_addcdiv_", "aten::_foreach_sqrt", "aten::_foreach_div_", "aten::_foreach_lerp_"}


def categories(prof) -> dict[str, float]:
    """Self CPU seconds by category over the profiled steps."""
    out: dict[str, float] = defaultdict(float)
    for event in prof.key_averages():
        if not event.key.startswith("aten::"):
            continue
        kind = "matmul" if event.key in MATMUL else "optimizer" if event.key in OPTIMIZER else "other"
        out[kind] += event.self_cpu_time_total / 1e6
    return out


def measure(spec_text: str, loaded, data, cfg, device, steps: int, warm: int) -> dict:
    spec = parse_strategy(spec_text, "--strategy")
    strategy = REGISTRY.build(spec.name, spec.params)
    model = build_model(loaded.models[0], cfg, strategy, 0, device)
    model.train()
    n = total_steps(len(data.train_messages), cfg)
    order = batch_order(len(data.train_messages), cfg.batch_size, n, 0)
    optimizer, scheduler = make_optimizer(model, cfg, n)
    autocast = precision(cfg, device)

    def step(i: int) -> None:
        batch = (data.train_messages.batch(order[i % n], device), data.train_replies.batch(order[i % n], device))
        train_step(model, optimizer, scheduler, batch, cfg.symmetric_loss, autocast)

    for i in range(warm):
        step(i)
    times = []
    for i in range(warm, warm + steps):  # timed without the profiler: the profiler's own overhead is per op
        started = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - started)
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(warm, warm + steps):
            step(i)
    parts = categories(prof)
    return {"label": spec.label, "step": statistics.median(times), **{k: v / steps for k, v in parts.items()},
            "ideal": ideal_speedup(model, cfg, data.mean_tokens)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=1024)
    parser.add_argument("--strategies", nargs="+", default=["baseline", "layer-freeze:count=3", "layer-drop:count=3",
                                                             "drop-freeze:drop=2,freeze=2", "layer-freeze:count=5"])
    args = parser.parse_args()
    config = load_config("bench.toml")
    load_plugins(config.plugins)
    suite = config.suite("sgd")
    suite = dataclasses.replace(suite, train=dataclasses.replace(suite.train, max_train_pairs=args.pairs))
    loaded = load_suite(config, suite, "cpu")
    data = tokenise(loaded.task, loaded.models[0].tokenizer, suite.train, 1.0)
    rows = [measure(s, loaded, data, suite.train, loaded.device, args.steps, args.warm) for s in args.strategies]
    base = rows[0]
    print(f"per step, median of {args.steps} timed steps; categories: profiler self CPU time per step\n")
    print(f"{'strategy':<30} {'step s':>7} {'matmul s':>9} {'other s':>8} {'optim s':>8}  {'measured':>8} "
          f"{'matmul':>7} {'other':>7} {'ideal':>6}  measured/ideal")
    for row in rows:
        other = row.get("other", 0.0) + row.get("optimizer", 0.0)
        base_other = base.get("other", 0.0) + base.get("optimizer", 0.0)
        measured = base["step"] / row["step"]
        print(f"{row['label']:<30} {row['step']:>7.3f} {row.get('matmul', 0):>9.3f} {row.get('other', 0):>8.3f} "
              f"{row.get('optimizer', 0):>8.3f}  {measured:>8.2f} {base['matmul'] / row['matmul']:>7.2f} "
              f"{base_other / other:>7.2f} {row['ideal']:>6.2f}  {measured / row['ideal']:.2f}")
    share = (base.get("other", 0) + base.get("optimizer", 0)) / (base["matmul"] + base.get("other", 0)
                                                                  + base.get("optimizer", 0))
    print(f"\nbaseline: {share:.0%} of profiled op time is outside the matrix products the FLOP model counts")


if __name__ == "__main__":
    torch.manual_seed(0)
    main()
