"""Each strategy's measured speedup against its priced ideal, with the host's drift cancelled.

    python benchmarks/ideal_bound.py [--suite sgd] [--steps 24] [--warm-up 2] [--threads 2]

A suite times each strategy in its own run, minutes after the baseline's; on a shared VM the host's speed drifts
by several percent over minutes, which three seeds do not average out. Here each of the suite's training
strategies (its first model, data fraction 1, seed 0) steps in turn with a fresh baseline on the same batches,
the order reversed every step, so a drift hits both alike; the strategy's hooks act as in the training loop. Two
models at a time, not all of them: with sixteen models in memory, every step would also pay for the others'
evictions, the baseline (the most weights and optimizer state) most. The measured speedup is the baseline's
summed step seconds over the strategy's (warm-up steps left out). The ideal is the one a
run stores: the work ledger's steps priced at this machine's step prices (timed here once, as a suite does on its
first run), and the FLOP ideal beside it.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

import torch

from bench.config import load_config
from bench.measure.clock import synchronize
from bench.model.ledger import WorkLedger
from bench.registry import StepContext, load_plugins
from bench.suite.cell import build_model
from bench.suite.cells import load_suite
from bench.tasks.tokenised import tokenise
from bench.training.calibration import measure_prices
from bench.training.loop import batch_order, make_optimizer, precision, strategy_step, total_steps

ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="sgd", help="a suite of bench.toml (default sgd)")
    parser.add_argument("--steps", type=int, default=24, help="timed steps per strategy")
    parser.add_argument("--warm-up", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    return parser.parse_args(argv)


class Stepper:
    """One strategy's model, optimizer and ledger, stepped as the training loop steps it, its hooks acting."""

    def __init__(self, built, loaded, cfg, device: torch.device, steps: int, seq_len: int, prices: dict):
        self.strategy, self.device = built.strategy, device
        self.model = build_model(loaded, cfg, built.strategy, 0, device)
        self.cfg = built.strategy.configure(cfg)
        self.optimizer, self.scheduler = make_optimizer(self.model, self.cfg, steps)
        self.ledger = WorkLedger(self.model.original_shape(), seq_len, 2 * cfg.batch_size * seq_len, prices,
                                 cfg.precision, device.type)
        self.context = StepContext(0, steps, self.model, self.optimizer, 0, self.ledger)
        self.seconds = 0.0
        self.model.train()
        self.strategy.begin(self.context)

    def step(self, step: int, batch, timed: bool) -> None:
        synchronize(self.device)
        began = time.perf_counter()
        strategy_step(self.strategy, self.context, step, self.ledger, self.scheduler, batch, self.cfg.symmetric_loss,
                      precision(self.cfg, self.device))
        synchronize(self.device)
        if timed:
            self.seconds += time.perf_counter() - began


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    load_plugins()
    config = load_config(ROOT / "bench.toml")
    suite = config.suite(args.suite)
    loaded = load_suite(config, suite, "cpu")
    cfg, device, model_source = suite.train, loaded.device, loaded.models[0]
    data = tokenise(loaded.task, model_source.tokenizer, cfg, 1.0)
    steps = args.warm_up + args.steps
    order = batch_order(len(data.train_messages), cfg.batch_size, max(steps, total_steps(len(data.train_messages),
                                                                                           cfg)), 0)
    batches = [(data.train_messages.batch(index, device), data.train_replies.batch(index, device))
               for index in order[:steps]]
    started = time.perf_counter()
    built = [b for b in loaded.strategies if b.strategy.trains]
    prices = {name: measure_prices(model_source, data, dataclasses.replace(cfg, precision=name), device)
              for name in sorted({b.strategy.configure(cfg).precision for b in built} | {cfg.precision})}
    calibration = time.perf_counter() - started
    seq_len = max(1, round(data.mean_tokens))
    print(f"suite {suite.name}: each strategy steps in turn with a fresh baseline, {args.warm_up} + {args.steps} "
          f"steps each, {args.threads} threads, load {os.getloadavg()[0]:.2f}; step prices timed in "
          f"{calibration:.1f} s")
    print(f"{'strategy':48s} {'measured':>8s} {'ideal':>6s} {'m/ideal':>7s} {'FLOP ideal':>10s} {'m/FLOP':>6s}")
    baseline = next(b for b in built if b.spec.name == suite.baseline)
    for b in built:
        if b is baseline:
            continue
        pair = [Stepper(side, model_source, cfg, device, steps, seq_len, prices) for side in (baseline, b)]
        for step, batch in enumerate(batches):
            for stepper in (pair if step % 2 == 0 else pair[::-1]):
                stepper.step(step, batch, timed=step >= args.warm_up)
        measured = pair[0].seconds / pair[1].seconds
        work = pair[1].ledger.totals()
        ideal, flop = work["priced_ideal_speedup"], work["ideal_speedup"]
        print(f"{b.spec.label:48s} {measured:8.2f} {ideal:6.2f} {measured / ideal:7.3f} {flop:10.2f} "
              f"{measured / flop:6.3f}")
    print(f"load now {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
