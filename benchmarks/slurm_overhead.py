"""What does launching through Slurm cost per cell? The smoke suite run locally, then launched on a single-node
Slurm cluster, each into its own fresh SQLite database, alternately, several times.

    python benchmarks/slurm_overhead.py [--trials 3] [--suite smoke]

Local: `python -m bench run --suite S --worker` (one worker, as each Slurm task runs it). Slurm: `python -m bench
launch --executor slurm --workers 1 --cpus-per-task 1 --wait` on the cluster tests/support/slurmcluster.py starts
(munge, MariaDB with slurmdbd, slurmctld, slurmd on loopback; needs root and Debian's slurm-wlm, munge, slurmdbd
and mariadb-server). Both with one torch thread. Each prints the command's wall time from start to exit, and the
sum of the cells' own times (each run's `ended_at - started_at` in the store), so the overhead splits into what
the launch adds around the cells (submission, scheduling, the job's Python start, the wait's polling) and
anything inside them. The figure is the median of the trials: (Slurm wall - local wall) / cells.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support import slurmcluster  # noqa: E402 - the same cluster the launch tests start


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def cells(db: Path) -> tuple[int, float]:
    """Completed cells and the sum of their own times, from the store."""
    with sqlite3.connect(db) as connection:
        n, seconds = connection.execute(
            "select count(*), sum((julianday(ended_at) - julianday(started_at)) * 86400) from runs "
            "where status = 'completed'").fetchone()
    return n, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--suite", default="smoke")
    args = parser.parse_args()
    reason = slurmcluster.unavailable()
    if reason:
        sys.exit(f"slurm_overhead: {reason}")
    cluster = slurmcluster.Cluster().start()
    env = {**cluster.env, "OMP_NUM_THREADS": "1"}
    work = Path(tempfile.mkdtemp(prefix="bench-overhead-"))
    rows = []
    try:
        for trial in range(args.trials):
            local_db, slurm_db = work / f"local-{trial}.db", work / f"slurm-{trial}.db"
            local = timed([sys.executable, "-m", "bench", "run", "--suite", args.suite, "--worker", "--quiet",
                           "--db", f"sqlite:///{local_db}"], env, ROOT)
            slurm = timed([sys.executable, "-m", "bench", "launch", "--executor", "slurm", "--workers", "1",
                           "--cpus-per-task", "1", "--time", "30", "--suite", args.suite, "--folder",
                           str(work / "jobs"), "--wait", "--db", f"sqlite:///{slurm_db}"], env, ROOT)
            (n, local_cells), (m, slurm_cells) = cells(local_db), cells(slurm_db)
            assert n == m, (n, m)
            rows.append((local, slurm, n, local_cells, slurm_cells))
            print(f"trial {trial + 1}: {n} cells; local {local:.1f} s (cells {local_cells:.1f} s), slurm "
                  f"{slurm:.1f} s (cells {slurm_cells:.1f} s); overhead {(slurm - local) / n:+.2f} s a cell",
                  flush=True)
    finally:
        cluster.stop()
    overheads = [(slurm - local) / n for local, slurm, n, _, _ in rows]
    inside = [(slurm_cells - local_cells) / n for _, _, n, local_cells, slurm_cells in rows]
    print(f"median over {len(rows)} trials: Slurm adds {statistics.median(overheads):+.2f} s a cell "
          f"({statistics.median(s / loc - 1 for loc, s, *_ in rows):+.1%} of the local wall time), "
          f"{statistics.median(inside):+.2f} s of it inside the cells; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
