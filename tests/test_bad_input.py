"""Bad input, fuzzed: hundreds of generated bad configs, data folders, flags and databases, each of which must end
in one line `bench: error: ...` on stderr, exit code 2, no traceback and nothing written anywhere.

The cases are built from lists and loops (every config field gets a wrong type, every range rule an out-of-range
value, every database spec every command that opens a database), run in-process through `bench.__main__.run` for
speed, and a handful again through a real `python -m bench` subprocess to prove the exit code and stderr for real.
Each case runs in its own folder holding a tiny task, a valid bench.toml (a 2-layer, 32-wide random BERT on 16
pairs, so even a case that wrongly gets through finishes in seconds) and a valid results database; afterwards
every file that was there must be byte-identical and a new file may only be an SQLite database without runs.
The case lists are generated in tests/support/bad_config.py (configs) and tests/support/bad_other.py (data, flags,
databases). The base config's validity is proven by `test_repeated_strategy_flag_runs_both`, which runs it.
"""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import bench.__main__ as bench_main
from bench.tasks.toy import write_task
from tests.support.bad_config import Case, Env, base_config, config_cases, mutated
from tests.support.bad_other import data_cases, db_cases, flag_cases
from tests.support.cli import bench_process
from tests.support.suites import toml_text

# --------------------------------------------------------------------------------------------------- environment


def make_env(tmp: Path, template_db: Path, pg_url: str = "") -> Env:
    env = Env(tmp, pg_url)
    write_task(env.task, train=48, test=16, dev=8)
    shutil.copyfile(template_db, env.valid_db)
    (tmp / "bench.toml").write_text(toml_text(base_config(env)))
    return env


@pytest.fixture(scope="session")
def template_db(tmp_path_factory) -> Path:
    from bench.results.store import Store

    path = tmp_path_factory.mktemp("template") / "valid.db"
    Store(f"sqlite:///{path}").engine.dispose()
    return path


CASES = config_cases() + data_cases() + flag_cases() + db_cases()
assert len({c.id for c in CASES}) == len(CASES), "case ids must be unique"

# Run again through a real `python -m bench`, a few of each kind (they start concurrently, see `subprocess_results`).
SUBPROCESS_CASES = ["toml-undecodable-list", "config-is-a-folder", "range-train.epochs=-1.0", "type-suites.s=5",
                    "data-train-latin1", "data-test-is-a-folder", "flag-dashboard--port='65536'",
                    "flag-run--seeds='0,-1'", "db-random-bytes-report", "db-unreachable-postgres-export",
                    "db-sqlite-unknown-argument-run"]


# ----------------------------------------------------------------------------------------------------- the checks


def snapshot(root: Path) -> dict[Path, bytes | None]:
    """Every path under `root`: file contents, or None for a folder or link."""
    return {p: (p.read_bytes() if p.is_file() and not p.is_symlink() else None) for p in root.rglob("*")}


def run_count(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        tables = {row[0] for row in conn.execute("select name from sqlite_master where type='table'")}
        count = conn.execute("select count(*) from runs").fetchone()[0] if "runs" in tables else 0
    conn.close()
    return count


def assert_nothing_written(before: dict[Path, bytes | None], root: Path) -> None:
    after = snapshot(root)
    for path, content in before.items():
        assert path in after, f"{path} was removed"
        assert after[path] == content, f"{path} was changed"
    for path in set(after) - set(before):
        if path.name.endswith("-shm"):  # SQLite's shared-memory index of a write-ahead log: no data
            continue
        if path.name.endswith(("-wal", "-journal")):  # a log that holds pages is a write
            assert path.stat().st_size == 0, f"{path} holds {path.stat().st_size} bytes of writes"
            continue
        assert path.suffix == ".db" and path.is_file() and run_count(path) == 0, f"{path} was written"


def assert_user_error(code: int, stderr: str, fragment: str) -> None:
    lines = stderr.strip().splitlines()
    assert code == 2, f"exit code {code}, stderr:\n{stderr}"
    assert "Traceback" not in stderr, stderr
    assert 1 <= len(lines) <= 2 and lines[0].startswith("bench: error: "), f"stderr:\n{stderr}"
    assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"


def _postgres_tables(url: str) -> list[str]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        return inspect(engine).get_table_names()
    finally:
        engine.dispose()


def run_in_process(argv: list[str], monkeypatch, capsys) -> tuple[int, str]:
    """`python -m bench ARGV` in this process: exit code and stderr, shown warnings counted as stderr lines."""
    import bench.cli.dashboard

    monkeypatch.setattr(sys, "argv", ["bench", *argv])
    monkeypatch.setattr(bench.cli.dashboard, "launch", lambda *a, **k: pytest.fail("the dashboard was started"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = bench_main.run()
    hidden = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)  # Python hides these
    shown = [f"{w.category.__name__}: {w.message}" for w in caught if not issubclass(w.category, hidden)]
    return code, capsys.readouterr().err + "".join(line + "\n" for line in shown)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, tmp_path, template_db, monkeypatch, capsys, request):
    env = make_env(tmp_path, template_db, request.getfixturevalue("pg_url") if case.needs_pg else "")
    monkeypatch.chdir(tmp_path)
    argv = case.build(env)
    before = snapshot(tmp_path)
    code, stderr = run_in_process(argv, monkeypatch, capsys)
    assert_user_error(code, stderr, case.fragment)
    assert_nothing_written(before, tmp_path)
    if case.needs_pg:
        assert _postgres_tables(env.pg_url) == []


@pytest.fixture(scope="module")
def subprocess_results(tmp_path_factory, template_db) -> dict[str, tuple[Env, dict, subprocess.Popen]]:
    """The chosen cases started at once as real `python -m bench` processes (their start-up dominates)."""
    by_id = {c.id: c for c in CASES}
    started = {}
    for case_id in SUBPROCESS_CASES:
        env = make_env(tmp_path_factory.mktemp("sub"), template_db)
        argv = by_id[case_id].build(env)
        before = snapshot(env.tmp)
        process = bench_process(*argv, cwd=env.tmp, threads=None, env={"PYTHONWARNINGS": ""})
        started[case_id] = (env, before, process)
    yield started
    for _, _, process in started.values():
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.slow
@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_bad_input_real_process(case_id: str, subprocess_results):
    env, before, process = subprocess_results[case_id]
    _, stderr = process.communicate(timeout=120)
    assert_user_error(process.returncode, stderr, next(c for c in CASES if c.id == case_id).fragment)
    assert_nothing_written(before, env.tmp)


# --------------------------------------------------------------------------------------------- --strategy, repeated


def test_repeated_strategy_flag_extends(tmp_path):
    from bench.cli import build_parser, suite_for_run
    from bench.config import load_config

    (tmp_path / "bench.toml").write_text(toml_text(base_config(Env(tmp_path))))
    config = load_config(tmp_path / "bench.toml")
    for argv, expected in ((["--strategy", "zero-shot", "--strategy", "baseline"], ["zero-shot", "baseline"]),
                           (["--strategy", "zero-shot", "layer-drop:count=1", "--strategy", "baseline"],
                            ["zero-shot", "layer-drop(count=1)", "baseline"]),
                           (["--strategy", "layer-freeze:count=1"], ["baseline", "layer-freeze(count=1)"])):
        args = build_parser().parse_args(["run", *argv])
        assert [s.label for s in suite_for_run(config, args).strategies] == expected


def test_repeated_strategy_flag_runs_both(tmp_path, template_db, monkeypatch, capsys):
    """A real (tiny) run: the base config is valid, and `--strategy A --strategy B` runs A and B."""
    env = make_env(tmp_path, template_db)
    monkeypatch.chdir(tmp_path)
    doc = mutated(base_config(env), "suites.s.strategies", ["baseline", "layer-freeze:count=1"])
    (tmp_path / "bench.toml").write_text(toml_text(doc))
    db = tmp_path / "fresh.db"
    code, stderr = run_in_process(["run", "--quiet", "--db", f"sqlite:///{db}", "--strategy", "zero-shot",
                                   "--strategy", "baseline"], monkeypatch, capsys)
    assert code == 0, stderr
    with sqlite3.connect(db) as conn:
        strategies = sorted(row[0] for row in conn.execute("select strategy from runs where status='completed'"))
    conn.close()
    assert strategies == ["baseline", "zero-shot"]
