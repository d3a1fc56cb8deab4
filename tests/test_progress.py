"""`bench status`'s arithmetic on literal runs: each cell's state, the median cell, the live workers and the ETA;
and the command on a real suite's database."""

from __future__ import annotations

import sqlite3
import subprocess
from datetime import datetime, timedelta

from bench.analysis.progress import CellKey, StoredRun, cell_state, format_seconds, progress
from bench.config import config_from_dict
from bench.results.store import Store
from bench.suite.cells import cell_keys
from bench.tasks.toy import write_task
from tests.support.cli import bench, bench_command, wait_for
from tests.support.models import TINY4
from tests.support.stored import add_run
from tests.support.suites import small_suite, write_config

T0 = datetime(2026, 12, 6, 12, 0, 0)


def key(label: str, seed: int = 0) -> CellKey:
    return CellKey("m", 1.0, seed, label)


def run(label: str, status: str, start: float, end: float | None = None, seed: int = 0, alive: bool = False,
        pid: int = 1, error: str | None = None) -> StoredRun:
    at = lambda s: None if s is None else T0 + timedelta(seconds=s)  # noqa: E731
    return StoredRun(key(label, seed), status, at(start), at(end), "h", pid, at(end if end else start), error,
                     alive)


def test_a_cells_state_is_done_then_live_then_its_newest_outcome():
    assert cell_state([]) == ("pending", None)
    done = run("a", "completed", 0, 10)
    assert cell_state([run("a", "failed", 0, 5), done]) == ("done", done)
    live = run("a", "running", 20, alive=True)
    assert cell_state([run("a", "abandoned", 0, 5), live]) == ("running", live)
    silent = run("a", "running", 20, alive=False)  # its process died: abandoned, whatever the row says
    assert cell_state([silent])[0] == "abandoned"
    assert cell_state([run("a", "abandoned", 0, 5), run("a", "failed", 10, 12)])[0] == "failed"
    assert cell_state([run("a", "failed", 0, 5), run("a", "abandoned", 10, 12)])[0] == "abandoned"


def test_counts_median_workers_and_eta_from_literal_runs():
    """5 cells: two done in 10 s and 30 s (median 20 s), two running on two processes, one pending: 3 cells left
    at 20 s over 2 workers = 30 s."""
    planned = [key("a"), key("b"), key("c"), key("d"), key("e")]
    runs = [run("a", "completed", 0, 10), run("b", "completed", 5, 35), run("c", "running", 40, alive=True, pid=7),
            run("d", "running", 41, alive=True, pid=8), run("zz", "completed", 0, 999)]  # not in the plan: ignored
    now = T0 + timedelta(seconds=50)
    found = progress(planned, runs, now)
    assert found.counts == {"done": 2, "running": 2, "pending": 1, "failed": 0, "abandoned": 0}
    assert found.median_cell_seconds == 20.0 and found.live_workers == 2
    assert found.remaining == 3 and found.eta_seconds == 30.0
    assert found.heartbeat_age(found.in_state("running")[0]) == 10.0
    stalled = progress(planned[:3], [run("a", "completed", 0, 10)], now)  # nobody holds a cell: no ETA
    assert stalled.live_workers == 0 and stalled.eta_seconds is None
    assert progress(planned[:1], [run("a", "completed", 0, 10)], now).eta_seconds == 0.0


def test_seconds_read_as_a_person_reads_them():
    assert format_seconds(None) == "-" and format_seconds(3.24) == "3.2 s"
    assert format_seconds(245) == "4 min 05 s" and format_seconds(7380) == "2 h 03 min"


def test_the_suites_cells_by_name_include_its_controls_and_ladder(tmp_path):
    document = small_suite(write_task(tmp_path / "task"), strategies=["zero-shot", "baseline", "layer-drop:count=1"],
                           seeds=2, controls=True, ladder=[0.5])
    config = config_from_dict(document)
    keys = cell_keys(config, config.suite("t"))
    labels = {k.label for k in keys}
    assert labels == {"zero-shot", "baseline", "layer-drop(count=1)", "equal-time(matches=layer-drop(count=1))",
                      "equal-time(fraction=0.5)"}
    assert len(keys) == 5 * 2 and {k.seed for k in keys} == {0, 1}


def test_bench_status_shows_a_suite_part_done(tmp_path):
    """A real database with one finished baseline run and one failed run: the command counts them, lists the
    failure with its error, and counts the rest as pending."""
    document = small_suite(write_task(tmp_path / "task"), strategies=["baseline", "layer-drop:count=2"], seeds=2,
                           models=[TINY4])
    config = write_config(tmp_path / "bench.toml", document)
    db = f"sqlite:///{tmp_path}/results.db"
    store = Store(db)
    add_run(store, "baseline", {}, 0, 30.0, 1.0)
    add_run(store, "layer-drop", {"count": 2}, 0, 19.0, 1.05, status="failed")
    shown = bench("status", "--suite", "t", "--db", db, config=config)
    assert shown.returncode == 0, shown.stderr
    first, second, *rest = shown.stdout.strip().splitlines()
    assert first == f"suite t in {db}: 4 cells: 1 done, 0 running, 2 pending, 1 failed, 0 abandoned"
    assert second.startswith("median cell ") and "no ETA yet for 3 cells (0 live workers)" in second
    assert len(rest) == 1 and rest[0].startswith("  failed     layer-drop(count=2) seed 0 (")
    assert rest[0].endswith("RuntimeError: out of memory")


def test_bench_status_watch_follows_a_database_bench_had_not_set_up_when_it_started(tmp_path):
    """`--watch` started before the suite's first process made bench's tables (a launch's jobs still queued)
    sees the runs once they come, not the empty database it first opened."""
    document = small_suite(write_task(tmp_path / "task"), strategies=["baseline"], seeds=2, models=[TINY4])
    config = write_config(tmp_path / "bench.toml", document)
    path = tmp_path / "results.db"
    sqlite3.connect(path).close()  # an empty file: no tables yet
    db = f"sqlite:///{path}"
    shown = tmp_path / "watch.out"
    with shown.open("w") as out:
        watch = subprocess.Popen(bench_command("status", "--suite", "t", "--db", db, "--watch", "0.3",
                                               config=config), stdout=out, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: "2 cells: 0 done" in shown.read_text(), timeout=60, what="the first frame")
        add_run(Store(db), "baseline", {}, 0, 30.0, 1.0)
        wait_for(lambda: "2 cells: 1 done, 0 running, 1 pending" in shown.read_text(), timeout=60,
                 what="a frame with the stored run")
    finally:
        watch.terminate()
        watch.wait(timeout=30)
