"""Seeds until decided: rounds add one seed at a time to the strategies still open, decided ones stop, and adding
seeds to a database runs only the new ones."""

from __future__ import annotations

from collections import Counter

import pytest

from bench.config import config_from_dict
from bench.render.decisions import render
from bench.results.store import Store
from bench.suite.cells import load_suite
from bench.suite.rounds import run_until_decided
from bench.suite.runner import SuiteRun, run_suite
from bench.tasks.toy import write_task
from tests.support.cli import bench
from tests.support.models import TINY


def make_config(tmp_path, margin: float, seeds: list[int],
                strategies: tuple[str, ...] = ("baseline", "layer-drop:count=1", "layer-freeze:count=1")):
    task = write_task(tmp_path / "task", train=64, test=40, dev=10)
    return config_from_dict({
        "stats": {"margin": margin, "bootstrap_samples": 200},
        "suites": {"t": {"task": str(task), "models": [TINY], "seeds": seeds,
                         "strategies": list(strategies),
                         "until_decided": True, "max_seeds": 3,
                         "train": {"batch_size": 16, "curve_points": 1, "dev_eval_pairs": 10}}}})


def runs_per_strategy(store: Store) -> Counter:
    return Counter(run.label for run in store.runs())


def test_adding_seeds_runs_only_the_new_ones_and_compares_them_all(tmp_path):
    config = make_config(tmp_path, 0.01, [0, 1])
    store = Store(f"sqlite:///{tmp_path}/r.db")
    suite = config.suite("t")
    assert len(run_suite(SuiteRun(config, suite, store, show_progress=False))) == 6
    said: list[str] = []
    wider = suite.__class__(**{**suite.__dict__, "seeds": (0, 1, 2, 3), "until_decided": False})
    more = run_suite(SuiteRun(config, wider, store, show_progress=False, announce=said.append))
    assert len(more) == 6 and "6 of 12 cells already done; running 6" in said[-1]
    assert {run.seed for run in store.runs() if run.id in more} == {2, 3}
    from bench.analysis import leaderboard

    board = leaderboard.build(store, config.stats, suite=suite.name)
    assert [row.seeds for row in board.rows] == [[0, 1, 2, 3]] * 3


def test_a_wide_margin_decides_everything_at_the_first_look(tmp_path):
    config = make_config(tmp_path, 0.9, [0, 1])
    store = Store(f"sqlite:///{tmp_path}/r.db")
    suite = config.suite("t")
    decisions = run_until_decided(config, suite, store, load_suite(config, suite), max_seeds=5)
    assert [(d.strategy, d.verdict, d.seeds) for d in decisions] == [
        ("layer-drop(count=1)", "non-inferior", 2), ("layer-freeze(count=1)", "non-inferior", 2)]
    assert runs_per_strategy(store) == {"baseline": 2, "layer-drop(count=1)": 2, "layer-freeze(count=1)": 2}
    assert all(d.confidence > 0.99 for d in decisions)  # the first of 4 looks: a much wider interval than 95%
    assert "non-inferior" in render(decisions, 0.9, 5)


def test_open_strategies_get_seeds_up_to_the_maximum_and_a_rerun_replays_without_running(tmp_path):
    config = make_config(tmp_path, 0.0, [0, 1])  # margin 0: a difference near 0 rarely settles
    store = Store(f"sqlite:///{tmp_path}/r.db")
    suite = config.suite("t")
    loaded = load_suite(config, suite)
    decisions = run_until_decided(config, suite, store, loaded, max_seeds=3)
    counts = runs_per_strategy(store)
    for decision in decisions:
        assert counts[decision.strategy] == decision.seeds  # ran exactly the seeds it was judged on
        assert decision.decided or decision.seeds == 3 or decision.limit == "query"
        assert decision.decided or decision.limit in ("seed", "query")
    assert counts["baseline"] == max(d.seeds for d in decisions)
    before = len(store.runs())
    again = run_until_decided(config, suite, store, loaded, max_seeds=3)
    assert again == decisions and len(store.runs()) == before  # resumed: the same looks, nothing rerun


@pytest.mark.parametrize(("flags", "message"), [
    (["--max-seeds", "4"], "--max-seeds only applies with --until-decided"),
    (["--until-decided", "--rerun"], "does not combine with --rerun or --worker"),
    (["--until-decided", "--max-seeds", "2", "--seeds", "3"], "needs fewer starting seeds (3) than max_seeds (2)"),
])
@pytest.mark.slow
def test_bad_until_decided_flags_are_one_line_errors(tmp_path, flags, message):
    result = bench("run", "--suite", "smoke", "--db", f"sqlite:///{tmp_path}/x.db", *flags)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_futile_only_when_the_whole_interval_is_within_the_test_sets_half_width_of_the_margin():
    from bench.analysis.sequential import futile

    # margin 0.01, query half-width 0.008: a truth anywhere in (-0.018, -0.002) can never be decided
    assert futile(-0.015, -0.004, 0.01, 0.008)
    assert not futile(-0.020, -0.004, 0.01, 0.008)  # the truth may be below -0.018: inferior is still reachable
    assert not futile(-0.015, 0.001, 0.01, 0.008)  # or above -0.002: non-inferior is still reachable
    assert not futile(None, None, 0.01, 0.008) and not futile(-0.015, -0.004, 0.01, None)


def test_an_untrained_model_is_evaluated_once_across_rounds_and_resumes(tmp_path):
    """zero-shot's model is the same for every seed: one evaluation per model and data fraction, found in the store
    by later rounds and by a resumed suite (a new process's memory is empty), its ranks reused exactly."""
    config = make_config(tmp_path, 0.0, [0, 1], ("baseline", "zero-shot", "layer-drop:count=1"))
    suite = config.suite("t")
    store = Store(f"sqlite:///{tmp_path}/r.db")
    loaded = load_suite(config, suite)
    run_until_decided(config, suite, store, loaded, max_seeds=3)
    resumed = suite.__class__(**{**suite.__dict__, "seeds": (0, 1, 2, 3, 4), "until_decided": False})
    run_suite(SuiteRun(config, resumed, store, show_progress=False))  # a new suite run: nothing in memory from before
    zero = [run for run in store.runs() if run.strategy == "zero-shot"]
    evaluated = [run for run in zero if not run.environment.get("evaluation_of")]
    assert len(zero) == 5 and len(evaluated) == 1
    source = evaluated[0]
    ranks = store.ranks([run.id for run in zero])
    for run in zero:
        if run is not source:
            assert run.environment["evaluation_of"] == source.id and run.eval_seconds == 0.0
            assert all((a == b).all() for a, b in zip(ranks[run.id], ranks[source.id], strict=True))
            assert run.intent_recall_at_3 == source.intent_recall_at_3
