"""Is the first timed run of a process slower than later ones? Train the same baseline run N times in a row.

A suite always runs the baseline first, so any one-off cost of a process's first training steps (allocator
growth, thread-pool and kernel start-up, lazy imports) is charged to the baseline alone and inflates every
strategy's measured speedup. This script builds each run exactly as the runner does (bench.suite.cell's
build_model, same seed, bench.toml's [train] settings) on a small slice of the email task, in one process, and
prints each run's training seconds (the value a run stores) and its first steps' seconds. With --warm-up, one
untimed step on a throwaway copy (bench.training.warmup.warm_up) runs before the first timed run, to compare.

    python benchmarks/first_run.py [--model tiny-bert|all-MiniLM-L6-v2] [--runs 5] [--pairs 512]
        [--steps-shown 5] [--threads N] [--device cpu|cuda] [--warm-up]

Per-step seconds are read at each step's end (after a device sync); step 1 is measured from the start of the
training clock, recovered as the last step's end minus the run's training seconds. Take timings on an idle
machine: on a busy one the noise is larger than the effect looked for.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from pathlib import Path

import torch

from bench.config import TaskConfig, load_config
from bench.measure.clock import synchronize
from bench.measure.device import resolve_device
from bench.model.pretrained import load_pretrained
from bench.registry import REGISTRY, load_plugins
from bench.suite.cell import build_model
from bench.tasks.task import load_task
from bench.tasks.tokenised import tokenise
from bench.training.loop import train
from bench.training.warmup import warm_up

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny-bert", help="tiny-bert (default) or all-MiniLM-L6-v2, or any model")
    parser.add_argument("--runs", type=int, default=5, help="baseline runs in a row (default 5)")
    parser.add_argument("--pairs", type=int, default=None,
                        help="email training pairs per run (default: the default suite's, 512)")
    parser.add_argument("--epochs", type=float, default=None, help="default: the default suite's")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps-shown", type=int, default=5, help="first steps printed per run (default 5)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto")
    parser.add_argument("--warm-up", action="store_true", help="one untimed step on a throwaway copy first")
    return parser.parse_args(argv)


def timed_run(loaded, data, cfg, seed: int, device: torch.device) -> tuple[float, list[float]]:
    """(training seconds as stored, seconds of each step) of one baseline run built as the runner builds it."""
    model = build_model(loaded, cfg, REGISTRY.build("baseline"), seed, device)
    ends: list[float] = []

    def step_done() -> None:
        synchronize(device)
        ends.append(time.perf_counter())

    result = train(model, data.train_messages, data.train_replies, cfg, seed, device, on_step=step_done)
    clock_started = ends[-1] - result.seconds
    return result.seconds, [b - a for a, b in zip([clock_started, *ends[:-1]], ends, strict=True)]


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    load_plugins()
    config = load_config(ROOT / "bench.toml")
    cfg = config.suite(config.default_suite).train
    cfg = dataclasses.replace(cfg, max_train_pairs=args.pairs or cfg.max_train_pairs, epochs=args.epochs or cfg.epochs)
    device = resolve_device(args.device)
    task = load_task(TaskConfig(name="email", kind="email"), cfg.dev_eval_pairs)
    loaded = load_pretrained(args.model)
    data = tokenise(task, loaded.tokenizer, cfg, 1.0)
    print(f"model {args.model}, {len(data.train_messages)} pairs, batch {cfg.batch_size}, seed {args.seed}, "
          f"device {device}, {torch.get_num_threads()} threads, torch {torch.__version__}")
    if args.warm_up:
        print(f"warm-up: {warm_up(loaded, data, cfg, device):.3f}s (untimed, throwaway copy)")
    shown = args.steps_shown
    print(f"{'run':>3} {'train s':>8} {'s/step':>7} {'median later':>12}  first {shown} steps (s)")
    for number in range(1, args.runs + 1):
        seconds, steps = timed_run(loaded, data, cfg, args.seed, device)
        later = f"{statistics.median(steps[shown:]):.4f}" if len(steps) > shown else "-"
        print(f"{number:>3} {seconds:>8.3f} {seconds / len(steps):>7.4f} {later:>12}  "
              + " ".join(f"{s:.4f}" for s in steps[:shown]))


if __name__ == "__main__":
    main()
