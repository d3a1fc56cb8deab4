"""`bench plan`: a pilot of two seeds is run and stored once, then plans come from the stored runs; each forecast
follows from the pilot's rows; bad flags are one-line errors."""

from __future__ import annotations

import pytest

from bench.analysis import leaderboard, power
from bench.analysis.planning import Schedule, plan_board
from bench.cli import main
from bench.config import StatsConfig
from bench.errors import BenchError
from bench.results.store import Store
from bench.tasks.toy import write_task
from tests.support.models import TINY
from tests.support.suites import small_suite, write_config


@pytest.fixture
def setup(tmp_path):
    task = write_task(tmp_path / "task", train=64, test=40, dev=10)
    document = small_suite(task, models=[TINY], strategies=["baseline", "layer-drop:count=1"], seeds=3,
                           train={"curve_points": 1, "dev_eval_pairs": 10})
    config = write_config(tmp_path / "bench.toml", {"stats": {"bootstrap_samples": 200}, **document})
    return config, f"sqlite:///{tmp_path}/plan.db"


def test_a_pilot_is_run_once_then_plans_come_from_the_store(setup, capsys):
    config, url = setup
    assert main(["--config", str(config), "plan", "--suite", "t", "--db", url, "--quiet", "--max-seeds", "6"]) == 0
    first = capsys.readouterr().out
    store = Store(url, read_only=True)
    assert sorted((run.label, run.seed) for run in store.runs()) == [
        ("baseline", 0), ("baseline", 1), ("layer-drop(count=1)", 0), ("layer-drop(count=1)", 1)]
    assert "planned from a pilot of 2 seeds" in first and "looks at 3..6 seeds" in first
    assert main(["--config", str(config), "plan", "--suite", "t", "--db", url, "--quiet"]) == 0
    second = capsys.readouterr().out
    assert "planned from stored runs" in second and "one look at 3 seeds" in second
    assert len(store.runs()) == 4  # nothing ran again
    row = next(r for r in leaderboard.build(store, StatsConfig(bootstrap_samples=200), suite="t").rows
               if r.strategy == "layer-drop(count=1)")
    (plan,) = plan_board([row], 0.01, Schedule(3, 0.95))
    noise = power.Noise(row.noise_seed, row.noise_query, row.noise_residual, row.noise_queries)
    assert plan.noise == noise and row.noise_queries == row.exact_pairs  # a folder task's headline is MRR
    assert plan.power == pytest.approx(power.power(noise, plan.delta, 0.01, 3))
    assert f"{plan.delta:+.4f}" in second and f"{plan.power:.0%} at 3" in second
    assert ("decided by" in second) == (plan.seeds_needed is not None)


@pytest.mark.parametrize(("argv", "message"), [
    (["--pilot-seeds", "1"], "expected 2 to 100 seeds"),
    (["--max-seeds", "2"], "--max-seeds (2) must be more than the suite's 3 starting seeds"),
    (["--suite", "nope"], "unknown suite 'nope'"),
])
def test_bad_plan_flags_are_one_line_errors(setup, argv, message):
    config, url = setup
    with pytest.raises(BenchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        main(["--config", str(config), "plan", "--db", url, *(["--suite", "t"] if "--suite" not in argv else []),
              *argv])
