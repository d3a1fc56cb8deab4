"""kill -9 trial: start `bench run` on one suite, kill it with SIGKILL at a random moment, start it again, and so
on, then let it finish; report what the database holds.

    python benchmarks/kill_trial.py --kills 20 [--seed 0] [--db sqlite:///trial.db]

Each restart must resume: skip what is done, take over what the killed process left running. At the end the
script checks that every cell has exactly one completed run, that no completed run is partial (every one has its
curve and per-query ranks), and that nothing is left `running`; it prints the counts.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.tasks.toy import write_task

ROOT = Path(__file__).resolve().parent.parent
TINY = "tiny-bert:layers=4,hidden=64,heads=4"
SEEDS, STRATEGIES = 10, 4  # 40 cells of a second or two each: long enough for every kill to land mid-suite


def write_config(folder: Path) -> Path:
    task = write_task(folder / "task")
    config = folder / "bench.toml"
    config.write_text(f'[suites.t]\ntask = "{task}"\nmodels = ["{TINY}"]\nseeds = {list(range(SEEDS))}\n'
                      'strategies = ["zero-shot", "baseline", "layer-drop:count=1", "layer-freeze:count=1"]\n'
                      "train = { batch_size = 16, epochs = 8.0, curve_points = 2, dev_eval_pairs = 20 }\n"
                      "[workers]\nheartbeat_seconds = 0.5\nstale_after_seconds = 30\n")
    return config


def query(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if "runs" not in conn.dialect.get_table_names(conn):
                return []
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--db", help="results database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="kill-trial-"))
    config, url = write_config(folder), args.db or f"sqlite:///{folder}/trial.db"
    command = [sys.executable, "-m", "bench", "--config", str(config), "run", "--suite", "t", "--quiet", "--db", url]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    rng = random.Random(args.seed)
    kills = 0
    while kills < args.kills:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(rng.uniform(1.0, 10.0))  # start-up, loading, training, evaluation or writing: anywhere
        if process.poll() is not None:
            print(f"the suite finished before kill {kills + 1}: stopping the trial early")
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        done = query(url, "select count(*) from runs where status = 'completed'")
        print(f"kill {kills}: {done[0][0] if done else 0} runs completed so far")
    final = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    print("final run:", final.stderr.strip().splitlines()[-1] if final.returncode else "exit 0",
          next((line for line in final.stderr.splitlines() if "cells already done" in line), ""))
    by_status = dict(query(url, "select status, count(*) from runs group by status"))
    per_cell = query(url, "select count(*) from runs where status = 'completed' group by suite, config_hash")
    partial = query(url, "select count(*) from runs r where status = 'completed' and (not exists (select 1 from "
                         "query_ranks q where q.run_id = r.id) or (r.steps > 0 and not exists (select 1 from "
                         "curve_points c where c.run_id = r.id)))")
    cells = SEEDS * STRATEGIES
    print(f"kills: {kills}; runs by status: {by_status}; cells: {len(per_cell)} (expected {cells}), completed runs "
          f"per cell: {sorted({n for (n,) in per_cell})}; partial completed runs: {partial[0][0]}; "
          f"left running: {by_status.get('running', 0)}")
    ok = len(per_cell) == cells and {n for (n,) in per_cell} == {1} and not partial[0][0] and "running" not in by_status
    return 0 if ok and final.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
