"""One shape for results: typed leaderboard rows still read and write the export that earlier versions wrote.

`tests/data/export_before_reshape.json` is `bench export --format json --suite smoke` from the code before rows
were typed. Files like it are what `check --against` reads back, so its keys, their order and its values are
a contract.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
import torch

from bench.analysis import gate, leaderboard
from bench.analysis.leaderboard import Leaderboard
from bench.analysis.rows import APPENDED_KEYS, JSON_KEYS, Row
from bench.config import StatsConfig, config_from_dict
from bench.errors import BenchError
from bench.render import checks as check_report
from bench.render import tables as report
from bench.results.store import Store
from bench.suite.runner import SuiteRun, run_suite
from bench.tasks.toy import write_task
from tests.support.suites import small_suite

EXPORT = Path(__file__).parent / "data" / "export_before_reshape.json"
OLD = json.loads(EXPORT.read_text(encoding="utf-8"))


def old_part(exported: dict) -> dict:
    """An export row without the keys appended after the old export (new keys go at the end only)."""
    return {key: value for key, value in exported.items() if key not in APPENDED_KEYS}


@pytest.fixture(scope="module")
def board(tmp_path_factory) -> Leaderboard:
    """A real tiny suite (one seed, baseline and one strategy) on today's code; one torch thread on 2 cores."""
    folder = tmp_path_factory.mktemp("shape")
    config = config_from_dict(small_suite(write_task(folder / "task", train=64, test=20, dev=10), seeds=1,
                                          strategies=["baseline", "layer-freeze:count=1"],
                                          train={"epochs": 1.0, "dev_eval_pairs": 10}))
    store = Store(f"sqlite:///{folder}/results.db")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False))
    finally:
        torch.set_num_threads(threads)
    return leaderboard.build(store, StatsConfig(bootstrap_samples=100), suite="t")


@pytest.mark.parametrize("index", range(len(OLD)), ids=[row["strategy"] for row in OLD])
def test_an_old_export_row_round_trips_exactly(index):
    """Exactly, then the keys appended since (APPENDED_KEYS), as None: an old file lacks them by design."""
    old = OLD[index]
    again = Row.from_json(old).to_json()
    assert list(again) == list(old) + list(APPENDED_KEYS)
    assert old_part(again) == old and all(again[key] is None for key in APPENDED_KEYS)
    assert json.dumps(old_part(again)) == json.dumps(old)  # the same types too (an int stays an int)
    assert not Row.from_json(old).missing


def test_todays_rows_have_the_old_exports_keys_in_order(board):
    assert [row.strategy for row in board.rows] == ["baseline", "layer-freeze(count=1)"]
    for row in board.rows:
        assert list(row.to_json()) == list(OLD[0]) + list(APPENDED_KEYS) == list(JSON_KEYS)
        assert Row.from_json(row.to_json()) == row
    exported = json.loads(report.render(board, "json"))
    assert [list(row) for row in exported] == [list(OLD[0]) + list(APPENDED_KEYS)] * len(board.rows)
    header = next(csv.reader(io.StringIO(report.render(board, "csv"))))
    assert header == list(OLD[0]) + list(APPENDED_KEYS)


def test_the_old_export_passes_check_against_itself():
    """Through the gate's reference loader and its --against rules: zero slowdown and zero drop everywhere."""
    reference = gate.load_reference(str(EXPORT))
    assert [old_part(row.to_json()) for row in reference] == OLD
    board = Leaderboard(rows=[Row.from_json(row) for row in OLD])
    config = config_from_dict({"suites": {"smoke": {
        "strategies": [{"name": row["name"], **row["params"]} for row in OLD],
        "check": {"max_slowdown": 0.0, "max_metric_drop": 0.0}}}})
    suite = config.suite("smoke")
    gate.validate(config, suite, {row.strategy for row in board.rows})
    checks, notes = gate.evaluate(config, suite, board, reference, str(EXPORT))
    assert len(checks) == len(OLD) * (1 + 6) and not notes  # a slowdown and six metric drops per row
    assert all(check.passed and check.observed == 0 for check in checks)
    assert {check.rule for check in checks} == {gate.SLOWDOWN, gate.METRIC_DROP}
    text = check_report.render("text", checks, notes, "check", gate.PASSED, {})
    assert f"all {len(checks)} checks passed" in text


def test_a_reference_row_without_a_key_is_named_when_a_check_needs_it(tmp_path):
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps([{k: v for k, v in OLD[0].items() if k != "samples_per_second"}]))
    reference = gate.load_reference(str(partial))
    assert reference[0].missing == {"samples_per_second"} and reference[0].samples_per_second is None
    config = config_from_dict({"suites": {"smoke": {"strategies": ["baseline"], "check": {"max_slowdown": 0.1}}}})
    board = Leaderboard(rows=[Row.from_json(OLD[0])])
    with pytest.raises(BenchError, match="the row for 'baseline' has no 'samples_per_second'"):
        gate.evaluate(config, config.suite("smoke"), board, reference, str(partial))
