"""The regression gate: planted regressions exit 1, a clean run 0, an empty database 3, bad usage 2 (one line)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import sys
from pathlib import Path

import pytest
import torch

from bench.__main__ import run as bench_main
from bench.analysis.gate import evaluate
from bench.analysis.leaderboard import Leaderboard
from bench.analysis.rows import Row
from bench.config import config_from_dict, load_config
from bench.errors import BenchError
from bench.metrics import METRICS
from bench.results.store import Store
from bench.suite.runner import SuiteRun, run_suite
from bench.tasks.toy import write_task
from tests.support.cli import bench
from tests.support.models import TINY4 as TINY
from tests.support.suites import small_suite
from tests.support.suites import write_config as write_config_file

STRATEGIES = ["baseline", "layer-drop:count=3"]  # the drop keeps one layer of four


def write_config(folder: Path, task_dir: Path, check: str = "", name: str = "bench.toml") -> Path:
    """A bench.toml with suite `t` (two seeds, tiny model, toy task) plus the given check tables."""
    document = small_suite(task_dir, models=[TINY], strategies=STRATEGIES,
                           train={"epochs": 1.0, "dev_eval_pairs": 20})
    return write_config_file(folder / name, document, "\n" + check)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """The suite run once (one torch thread: two contend on a shared 2-core box), plus its JSON export."""
    folder = tmp_path_factory.mktemp("check")
    task_dir = write_task(folder / "task")
    config_path = write_config(folder, task_dir)
    config = load_config(config_path)
    db = f"sqlite:///{folder}/results.db"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_suite(SuiteRun(config, config.suite("t"), Store(db), show_progress=False))
    finally:
        torch.set_num_threads(threads)
    export = folder / "reference.json"
    assert cli("--config", config_path, "export", "--suite", "t", "--db", db, "--out", export)[0] == 0
    return folder, task_dir, db, export


def cli(*args) -> tuple[int, str, str]:
    """`python -m bench ARGS` in process (fast); returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    argv = sys.argv
    sys.argv = ["bench", *map(str, args)]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = bench_main()
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue()


def gate(results, check: str, *extra) -> tuple[int, str, str]:
    folder, task_dir, db, _ = results
    config = write_config(folder, task_dir, check, name=f"check{abs(hash((check, extra)))}.toml")
    return cli("--config", config, "check", "--suite", "t", "--db", db, *extra)


def test_clean_results_pass_with_exit_0(results):
    *_, export = results
    code, out, err = gate(results, "[check]\nmax_relevance_loss = 0.5\nmin_time_reduction = -1.0\n"
                          "max_slowdown = 0.0\nmax_metric_drop = 0.0\n", "--against", export)
    assert code == 0, out + err
    assert "all 16 checks passed" in out  # 2 vs baseline + 2 x (1 slowdown + 6 metrics) vs the reference


def test_relevance_loss_a_one_layer_model_cannot_meet_exits_1(results):
    """Zero loss allowed: with two seeds the drop must show non-inferiority at margin 0, and it cannot."""
    check = ("[check]\nmax_relevance_loss = 0.5\n\n"
             '[suites.t.check.strategies."layer-drop(count=3)"]\nmax_relevance_loss = 0.0\n')
    code, out, _ = gate(results, check, "--format", "json")
    assert code == 1
    report = json.loads(out)
    failed = [c for c in report["checks"] if not c["passed"]]
    assert report["exit_code"] == 1 and len(failed) == 1
    assert failed[0]["strategy"] == "layer-drop(count=3)" and failed[0]["check"] == "relevance loss (mrr)"
    assert failed[0]["allowed"] == 0.0 and failed[0]["observed"] >= 0.0
    assert failed[0]["detail"].rsplit(": ", 1)[1] in {"inferior", "inconclusive"}


@pytest.mark.slow
def test_reference_with_far_higher_throughput_exits_1_in_a_real_process(results):
    folder, task_dir, db, export = results
    rows = json.loads(export.read_text())
    for row in rows:
        row["samples_per_second"] *= 10
    faster = folder / "faster.json"
    faster.write_text(json.dumps(rows))
    config = write_config(folder, task_dir, "[suites.t.check]\nmax_slowdown = 0.25\n", name="slow.toml")
    done = bench("check", "--suite", "t", "--db", db, "--against", str(faster), "--format", "markdown",
                 config=config, timeout=120)
    assert done.returncode == 1, done.stderr
    assert "| strategy | check | observed | allowed | result |" in done.stdout
    failures = [line for line in done.stdout.splitlines() if "slowdown vs reference" in line and "**FAIL**" in line]
    assert len(failures) == 2 and all("90.0%" in line and "<= 25.0%" in line for line in failures)


def test_empty_database_exits_3(tmp_path, results):
    _, task_dir, _, _ = results
    db = f"sqlite:///{tmp_path}/empty.db"
    Store(db)
    config = write_config(tmp_path, task_dir, "[check]\nmax_relevance_loss = 0.1\n")
    code, out, _ = cli("--config", config, "check", "--suite", "t", "--db", db)
    assert code == 3 and "nothing to check" in out


@pytest.mark.parametrize("check, extra, message", [
    ("[check]\nmax_slowdown = 2\n", (), "check.max_slowdown = 2.0 must be between 0 and 1"),
    ("[check]\nmax_slowdon = 0.1\n", (), "unknown key 'max_slowdon' in check"),
    ('[check.strategies."layer-dorp"]\nmax_slowdown = 0.1\n', (), "names no strategy"),
    ("", (), "no check is configured for suite 't'"),
    ("[check]\nmax_relevance_loss = 0.1\n", ("--against", "missing.json"), "--against file missing.json not found"),
    ("[check]\nmax_relevance_loss = 0.1\n", ("--against", "{bad}"), "is not JSON"),
    ("[check]\nmax_relevance_loss = 0.1\n", ("--against", "{shape}"), "must be a JSON list of leaderboard rows"),
    ("[check]\nmax_relevance_loss = 0.1\n", ("--format", "xml"), "argument --format: invalid choice"),
    ("[check]\nmax_relevance_loss = 0.1\n", ("--suite", "nope"), "unknown suite 'nope'"),
])
def test_bad_config_or_flag_exits_2_with_one_line(results, tmp_path, check, extra, message):
    (tmp_path / "bad.json").write_text("not json")
    (tmp_path / "shape.json").write_text('{"strategy": "baseline"}')
    extra = [e.format(bad=tmp_path / "bad.json", shape=tmp_path / "shape.json") for e in extra]
    code, out, err = gate(results, check, *extra)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and err.startswith("bench: error: ") and message in err


def row(strategy: str, runs: int = 2, delta: float = -0.02, ci=(-0.05, 0.01), reduction: float = 0.4,
        trains: bool = True) -> Row:
    """A leaderboard row with just what the gate reads (the rest None)."""
    out = {"strategy": strategy, "name": strategy.split("(")[0], "verdict": "non-inferior", "runs": runs,
           "samples_per_second": 100.0 if trains else None, "time_reduction": reduction if trains else 1.0,
           "time_reduction_ci": None, "headline_metric": "mrr", "task": "t", "model": "m", "train_fraction": 1.0,
           "device": "cpu"}
    for metric in METRICS:
        out[metric], out[f"{metric}_delta"], out[f"{metric}_delta_ci"] = 0.5, delta, list(ci)
    return Row.from_json(out)


def baseline() -> Row:
    return dataclasses.replace(row("baseline"), verdict="baseline")


def checks_for(config: dict, *rows: Row) -> dict[tuple[str, str], bool]:
    cfg = config_from_dict({"suites": {"s": {"strategies": ["baseline", *[r.strategy for r in rows]]}},
                            **config})
    found, _ = evaluate(cfg, cfg.suite("s"), Leaderboard(rows=[baseline(), *rows]), None)
    return {(c.strategy, c.check.split(" (")[0]): c.passed for c in found}


def test_one_seed_uses_the_point_estimate_several_seeds_the_verdict():
    limits = {"check": {"max_relevance_loss": 0.03}}
    assert checks_for(limits, row("a", runs=1, delta=-0.02))[("a", "relevance loss")] is True
    assert checks_for(limits, row("a", runs=1, delta=-0.04))[("a", "relevance loss")] is False
    assert checks_for(limits, row("a", delta=-0.02, ci=(-0.025, 0.0)))[("a", "relevance loss")] is True
    assert checks_for(limits, row("a", delta=-0.02, ci=(-0.05, 0.01)))[("a", "relevance loss")] is False  # inconcl.


def test_suite_and_per_strategy_limits_override_the_global_ones():
    config = {"check": {"min_time_reduction": 0.5, "strategies": {"b": {"min_time_reduction": 0.1}}},
              "suites": {"s": {"strategies": ["baseline", "a", "b"], "check": {"min_time_reduction": 0.3}}}}
    cfg = config_from_dict(config)
    found, _ = evaluate(cfg, cfg.suite("s"), Leaderboard(rows=[baseline(), row("a", reduction=0.35),
                                                                row("b", reduction=0.2)]), None)
    allowed = {c.strategy: c.allowed for c in found}
    assert allowed == {"a": 0.3, "b": 0.3}  # the suite table wins over global per-strategy entries
    config["suites"]["s"]["check"]["strategies"] = {"b": {"min_time_reduction": 0.15}}
    cfg = config_from_dict(config)
    found, _ = evaluate(cfg, cfg.suite("s"), Leaderboard(rows=[baseline(), row("a", reduction=0.35),
                                                                row("b", reduction=0.2)]), None)
    assert {c.strategy: c.allowed for c in found} == {"a": 0.3, "b": 0.15}


def test_zero_shot_has_no_time_check_and_relevance_only_when_asked():
    limits = {"check": {"min_time_reduction": 0.2, "max_relevance_loss": 0.01}}
    assert set(checks_for(limits, row("zero-shot", trains=False))) == set()
    limits["check"]["strategies"] = {"zero-shot": {"max_relevance_loss": 0.3}}
    assert checks_for(limits, row("zero-shot", trains=False, delta=-0.2, ci=(-0.25, -0.15))) == {
        ("zero-shot", "relevance loss"): True}


def test_a_configured_strategy_without_results_fails():
    cfg = config_from_dict({"suites": {"s": {"strategies": ["baseline", "a"], "check": {"max_relevance_loss": 0.1}}}})
    found, _ = evaluate(cfg, cfg.suite("s"), Leaderboard(rows=[baseline()]), None)
    assert [(c.strategy, c.check, c.passed) for c in found] == [("a", "has a result", False)]
    unset = config_from_dict({"suites": {"s": {"strategies": ["baseline", "a"]}}})
    with pytest.raises(BenchError, match="no check is configured"):
        evaluate(unset, unset.suite("s"), Leaderboard(rows=[row("a")]), None)
