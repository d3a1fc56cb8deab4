"""`bench db copy`: results from several stores land in one, whole, once each, with the same leaderboard;
`running` runs stay behind."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select, update

from bench.analysis import leaderboard
from bench.errors import BenchError
from bench.results import transfer
from bench.results.models import CurvePoint, QueryRanks, Run, StepTimes
from bench.results.store import Store
from tests.support.cli import bench
from tests.support.stored import STATS, add_run, make_db

TABLES = ((Run, (Run.id,)), (CurvePoint, (CurvePoint.run_id, CurvePoint.step)), (QueryRanks, (QueryRanks.run_id,)),
          (StepTimes, (StepTimes.run_id,)))


def other_machine(path: Path) -> str:
    """A second machine's store: suite `u`, runs with step times, one abandoned and one running run."""
    url = f"sqlite:///{path}"
    store = Store(url)
    for seed in (0, 1):
        for name, params, seconds, worse in (("baseline", {}, 20.0, 1.0), ("layer-drop", {"count": 1}, 15.0, 1.1)):
            add_run(store, name, params, seed, seconds, worse, step_seconds=np.full(30, seconds / 30))
    abandoned = add_run(store, "layer-drop", {"count": 2}, 0, 0, 1, status="running")
    add_run(store, "layer-drop", {"count": 3}, 0, 0, 1, status="running")
    with store.session(write=True) as session:
        session.execute(update(Run).where(Run.suite == "t").values(suite="u"))
        session.execute(update(Run).where(Run.id == abandoned).values(status="abandoned", error="abandoned: gone"))
    store.engine.dispose()
    return url


def rows(url: str, model: type, order: tuple, where=None) -> list[tuple]:
    """Every row of a table (all columns, in order), optionally only those matching `where`."""
    store = Store(url, read_only=True)
    try:
        with store.session() as session:
            query = select(*model.__table__.c).order_by(*order)
            return [tuple(row) for row in session.execute(query if where is None else query.where(where))]
    finally:
        store.engine.dispose()


def board(url: str, suite: str) -> leaderboard.Leaderboard:
    store = Store(url, read_only=True)
    try:
        return leaderboard.build(store, STATS, "baseline", suite=suite)
    finally:
        store.engine.dispose()


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("copy")
    return make_db(folder / "a.db"), other_machine(folder / "b.db")


def assert_copied(sources: tuple[str, str], target: str) -> None:
    """The target holds exactly the sources' non-running runs, every column and child row equal."""
    first = transfer.copy(sources[0], target)
    second = transfer.copy(sources[1], target)
    assert (first.copied, first.already, first.running) == (15, 0, 1)  # 14 completed + 1 failed
    assert (second.copied, second.already, second.running) == (5, 0, 1)  # 4 completed + 1 abandoned
    assert first.summary() == f"copied 15 runs (0 already there, 1 running skipped) from {sources[0]} to {target}"
    copied = set()
    for url in sources:
        for model, order in TABLES:
            source_rows = rows(url, model, order, Run.status != "running" if model is Run else None)
            ids = {row[0] for row in source_rows}
            if model is Run:
                copied |= ids
            else:  # children of running runs stay behind too (they have none: they never finished)
                source_rows = [row for row in source_rows if row[0] in copied]
            target_rows = [row for row in rows(target, model, order) if row[0] in ids]
            assert target_rows == source_rows, model.__tablename__
    statuses = [row[list(Run.__table__.c.keys()).index("status")] for row in rows(target, Run, (Run.id,))]
    assert len(statuses) == 20 and set(statuses) == {"completed", "failed", "abandoned"}
    assert len(rows(target, StepTimes, (StepTimes.run_id,))) == 4
    again = [transfer.copy(url, target) for url in sources]
    assert [(c.copied, c.already, c.running) for c in again] == [(0, 15, 1), (0, 5, 1)]
    for url, suite in zip(sources, ("t", "u"), strict=True):
        expected = board(url, suite)
        assert expected.rows and board(target, suite) == expected


def test_two_sqlite_stores_copy_into_a_third_once(sources, tmp_path):
    assert_copied(sources, f"sqlite:///{tmp_path}/all.db")


def test_sqlite_stores_copy_into_postgresql(sources, pg_url):
    assert_copied(sources, pg_url)


def test_small_batches_copy_the_same(sources, tmp_path):
    target = f"sqlite:///{tmp_path}/batched.db"
    assert transfer.copy(sources[0], target, batch=3).copied == 15
    assert rows(target, CurvePoint, (CurvePoint.run_id, CurvePoint.step)) == rows(
        sources[0], CurvePoint, (CurvePoint.run_id, CurvePoint.step))


def test_bad_inputs_are_one_line_user_errors(sources, tmp_path):
    with pytest.raises(BenchError, match="does not exist"):
        transfer.copy(f"sqlite:///{tmp_path}/missing.db", f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(BenchError, match="bad database URL"):
        transfer.copy("nonsense://", f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(BenchError, match="same database"):  # another spelling of one file is the same file
        transfer.copy(sources[0], "sqlite:///" + os.path.relpath(sources[0].removeprefix("sqlite:///")))


@pytest.mark.slow
def test_cli_copies_and_refuses_the_same_database(sources, tmp_path):
    target = f"sqlite:///{tmp_path}/cli.db"
    done = bench("db", "copy", "--from", sources[1], "--to", target)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"copied 5 runs (0 already there, 1 running skipped) from {sources[1]} to {target}"
    same = bench("db", "copy", "--from", target, "--to", target)
    assert same.returncode == 2 and "Traceback" not in same.stderr
    assert same.stderr.startswith("bench: error: ") and len(same.stderr.strip().splitlines()) == 1
    assert "same database" in same.stderr and not same.stdout
