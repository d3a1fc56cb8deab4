"""Does the time reduction survive a noisy machine? One strategy and the baseline on `sgd`, twice: once on a quiet
machine, once with CPU-burning processes this script starts for part of the run. Prints the wall-clock and the
robust (paired per-step) time reduction of both runs, and how many step pairs the robust one left out as bursts.

    python benchmarks/noise.py [--strategy layer-freeze:count=3] [--seeds 1] [--burn-after 25] [--burn-for 20]
        [--burners 2]

The burners start `--burn-after` seconds after the noisy run starts (past imports and loading, into the
baseline's training, which runs first) and stop `--burn-for` seconds later, so they slow part of one side's steps:
what a burst of background load on a shared box does. Needs the SGD pairs (../shared/data/sgd).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from bench.analysis.timing import kept_steps
from bench.results.store import Store

ROOT = Path(__file__).resolve().parent.parent


def burn(stop: float) -> None:
    while time.monotonic() < stop:
        pass


def run(strategy: str, seeds: str, db: str, burn_after: float | None, burn_for: float, burners: int) -> dict:
    """One `bench run` of the baseline and `strategy`; with `burn_after`, CPU burners for part of it."""
    command = [sys.executable, "-m", "bench", "run", "--suite", "sgd", "--strategy", strategy, "--seeds", seeds,
               "--db", db, "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    workers: list[multiprocessing.Process] = []
    if burn_after is not None:
        def start() -> None:
            stop = time.monotonic() + burn_for
            workers.extend(multiprocessing.Process(target=burn, args=(stop,)) for _ in range(burners))
            for worker in workers:
                worker.start()

        timer = threading.Timer(burn_after, start)
        timer.start()
    _, err = process.communicate()
    if burn_after is not None:
        timer.cancel()
        for worker in workers:
            worker.join()
    if process.returncode:
        raise SystemExit(f"bench run failed: {err.strip().splitlines()[-1]}")
    report = subprocess.run([sys.executable, "-m", "bench", "report", "--suite", "sgd", "--db", db, "--format",
                             "json"], cwd=ROOT, capture_output=True, text=True, check=True)
    row = next(row for row in json.loads(report.stdout) if row["verdict"] != "baseline")
    return {**row, "trimmed": trimmed(db)}


def trimmed(db: str) -> str:
    """How many of each seed's step pairs the robust estimator left out as bursts, e.g. "10/32"."""
    store = Store(db, read_only=True)
    runs = store.runs(suite="sgd")
    steps = store.step_times([run.id for run in runs])
    by_seed: dict[int, dict[str, np.ndarray]] = {}
    for run in runs:
        by_seed.setdefault(run.seed, {})["b" if run.strategy == "baseline" else "s"] = steps[run.id]
    counts = [f"{int((~kept_steps(pair['s'], pair['b'])).sum())}/{pair['b'].size}"
              for _, pair in sorted(by_seed.items()) if pair.keys() == {"s", "b"}]
    return ", ".join(counts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategy", default="layer-freeze:count=3")
    parser.add_argument("--seeds", default="1")
    parser.add_argument("--burn-after", type=float, default=25.0)
    parser.add_argument("--burn-for", type=float, default=20.0)
    parser.add_argument("--burners", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="noise-"))
    print(f"{args.strategy} vs baseline on sgd, seeds {args.seeds}; noisy run: {args.burners} CPU burners from "
          f"{args.burn_after:g} s for {args.burn_for:g} s")
    print(f"{'run':<7} {'wall-clock reduction':>22} {'robust reduction':>30}  steps trimmed")
    for name, burn_after in (("quiet", None), ("noisy", args.burn_after)):
        row = run(args.strategy, args.seeds, f"sqlite:///{folder}/{name}.db", burn_after, args.burn_for,
                  args.burners)
        ci = row["robust_time_reduction_ci"]
        robust = f"{row['robust_time_reduction']:.1%}" + (f" [{ci[0]:.1%}, {ci[1]:.1%}]" if ci else "")
        print(f"{name:<7} {row['time_reduction']:>22.1%} {robust:>30}  {row['trimmed']}")
    print(f"databases kept in {folder} (python -m bench report --suite sgd --db sqlite:///{folder}/noisy.db)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
