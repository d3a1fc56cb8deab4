"""Energy per run: the RAPL reader on a fake powercap tree, the NVML reader against a fake NVML module, the
estimate's arithmetic, each with literal values; and a run stores its energy, flagged, or "not measured"."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from bench.errors import BenchError
from bench.measure.energy import CpuTimeEstimate, EnergyGauge, nvml_meter, rapl_meter


def _zone(root: Path, name: str, label: str, energy_uj: int, max_uj: int) -> Path:
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "name").write_text(label + "\n")
    (zone / "energy_uj").write_text(f"{energy_uj}\n")
    (zone / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return zone


def test_rapl_sums_the_packages_leaves_out_subzones_and_unwraps(tmp_path):
    package0 = _zone(tmp_path, "intel-rapl:0", "package-0", 1_000_000, 10_000_000)
    package1 = _zone(tmp_path, "intel-rapl:1", "package-1", 9_000_000, 10_000_000)
    _zone(tmp_path, "intel-rapl:0:0", "core", 5_000_000, 10_000_000)  # inside package-0: not counted again
    meter = rapl_meter(tmp_path)
    assert meter.name == "rapl:package-0+package-1" and meter.source == "counter"
    gauge = EnergyGauge(meter)
    gauge.start()
    (package0 / "energy_uj").write_text("3500000\n")  # +2.5 J
    (package1 / "energy_uj").write_text("500000\n")  # wrapped: 9.0 -> 10.0 -> 0.5, +1.5 J
    gauge.stop()
    (package0 / "energy_uj").write_text("4000000\n")  # between regions (a dev evaluation): not counted
    gauge.start()
    (package0 / "energy_uj").write_text("4250000\n")  # +0.25 J
    gauge.stop()
    energy = gauge.energy()
    assert energy.joules == pytest.approx(4.25) and energy.source == "counter"


def test_rapl_is_absent_when_there_is_no_tree_or_it_cannot_be_read(tmp_path):
    assert rapl_meter(tmp_path) is None
    zone = _zone(tmp_path, "intel-rapl:0", "package-0", 1, 10)
    (zone / "energy_uj").unlink()  # as if unreadable (root only)
    assert rapl_meter(tmp_path) is None


class FakeNvml:
    """The few NVML calls bench makes, like pynvml's: millijoule counters, an error class, UUID and index lookups."""

    class NVMLError(Exception):
        pass

    def __init__(self, counters: dict[str, int], supported: bool = True):
        self.counters = counters  # uuid -> millijoules
        self.supported = supported
        self.initialised = False

    def nvmlInit(self):
        self.initialised = True

    def nvmlDeviceGetHandleByUUID(self, uuid):
        if uuid not in self.counters:
            raise self.NVMLError("not found")
        return uuid

    def nvmlDeviceGetHandleByIndex(self, index):
        return sorted(self.counters)[index]

    def nvmlDeviceGetTotalEnergyConsumption(self, handle):
        if not self.supported:
            raise self.NVMLError("Not Supported")
        return self.counters[handle]

    def nvmlDeviceGetName(self, handle):
        return b"NVIDIA H200"


def test_nvml_reads_the_run_s_gpu_by_uuid_in_millijoules():
    nvml = FakeNvml({"GPU-a": 1_000_000, "GPU-b": 7_000_000})
    meter = nvml_meter(0, "GPU-b", nvml=nvml)
    assert nvml.initialised and meter.name == "nvml:NVIDIA H200" and meter.source == "counter"
    gauge = EnergyGauge(meter)
    gauge.start()
    nvml.counters["GPU-b"] += 123_456  # 123.456 J on the run's GPU
    nvml.counters["GPU-a"] += 999_000  # another GPU's work is not this run's
    gauge.stop()
    assert gauge.energy().joules == pytest.approx(123.456)


def test_nvml_falls_back_to_the_index_and_is_absent_without_a_counter():
    nvml = FakeNvml({"GPU-a": 5_000, "GPU-b": 0})
    assert nvml_meter(1, "GPU-unknown", nvml=nvml).handle == "GPU-b"
    assert nvml_meter(0, None, nvml=FakeNvml({"GPU-a": 0}, supported=False)) is None  # pre-Volta: no counter


def test_the_estimate_prices_cpu_seconds_at_the_watts_per_core(monkeypatch):
    times = iter([os.times_result((10.0, 2.0, 0, 0, 100.0)), os.times_result((40.0, 5.0, 0, 0, 120.0))])
    monkeypatch.setattr(os, "times", lambda: next(times))
    gauge = EnergyGauge(CpuTimeEstimate(watts_per_core=8.0))
    gauge.start()
    gauge.stop()  # 33 CPU seconds (2 cores busy for 16.5 s) x 8 W = 264 J
    energy = gauge.energy()
    assert energy.joules == pytest.approx(264.0)
    assert (energy.source, energy.meter) == ("estimated", "cpu-time x 8 W/core")


def test_no_meter_means_not_measured_rather_than_zero():
    gauge = EnergyGauge(None)
    gauge.start()
    gauge.stop()
    assert gauge.energy() is None


def test_a_run_on_this_cpu_stores_its_energy_flagged(tmp_path):
    from bench.config import config_from_dict
    from bench.results.store import Store
    from bench.suite.runner import SuiteRun, run_suite
    from bench.tasks.toy import write_task
    from tests.support.models import TINY
    from tests.support.suites import small_suite

    document = small_suite(write_task(tmp_path / "task"), models=[TINY], strategies=["zero-shot", "baseline"],
                           seeds=1)
    document["energy"] = {"watts_per_core": 12.5}
    config = config_from_dict(document)
    store = Store(f"sqlite:///{tmp_path}/results.db")
    run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False))
    runs = {r.strategy: r for r in store.runs()}
    base, zero = runs["baseline"], runs["zero-shot"]
    expected = ("counter", "rapl:") if rapl_meter() else ("estimated", "cpu-time x 12.5 W/core")
    assert base.energy_source == expected[0] and base.energy_meter.startswith(expected[1])
    assert base.energy_joules > 0 and zero.energy_joules == 0.0  # nothing trained, nothing spent
    if base.energy_source == "estimated":  # no more than every core busy for the whole region
        assert base.energy_joules <= 12.5 * torch.get_num_threads() * base.train_seconds * 1.05 + 0.5


def _board(tmp_path, runs):
    from bench.analysis import leaderboard
    from bench.results.store import Store
    from tests.support.stored import STATS, add_run

    store = Store(f"sqlite:///{tmp_path}/e.db")
    for name, params, seconds, worse, energies in runs:
        for seed, energy in enumerate(energies):
            add_run(store, name, params, seed, seconds, worse, energy=energy)
    return leaderboard.build(store, STATS)


def test_the_leaderboard_pairs_energy_over_seeds_and_never_mixes_sources(tmp_path):
    board = _board(tmp_path, [
        ("baseline", {}, 30.0, 1.0, [(100.0, "counter"), (110.0, "counter")]),
        ("layer-drop", {"count": 2}, 19.0, 1.05, [(60.0, "counter"), (77.0, "counter")]),  # saves 40% and 30%
        ("layer-freeze", {"count": 2}, 24.0, 1.2, [(80.0, "estimated"), (88.0, "estimated")]),
        ("layer-freeze", {"count": 1}, 27.0, 1.1, [None, None]),  # stored before energy was kept
    ])
    rows = {row.strategy: row for row in board.rows}
    drop = rows["layer-drop(count=2)"]
    assert drop.energy_joules == pytest.approx(68.5) and drop.energy_source == "counter"
    assert drop.energy_reduction == pytest.approx(0.35)
    assert drop.energy_reduction_ci.lo == pytest.approx(0.35 - 12.706205 * 0.05, abs=1e-5)  # t(1 df), sd/sqrt 2
    assert (drop.energy_to_target_joules is None) == (drop.time_to_target_seconds is None)
    assert rows["baseline"].energy_to_target_joules == pytest.approx(105.0)  # its last curve point hits the target
    estimated = rows["layer-freeze(count=2)"]
    assert estimated.energy_source == "estimated" and estimated.energy_reduction is None  # a counter baseline
    old = rows["layer-freeze(count=1)"]
    assert old.energy_joules is None and old.energy_reduction is None

    from bench.render.tables import display_rows, render

    cells = {cell["strategy"]: cell for cell in display_rows(board)}
    assert cells["layer-drop(count=2)"]["energy"] == "68 J ctr"
    assert cells["layer-drop(count=2)"]["energy red."].startswith("35.0% [")
    freeze = cells["layer-freeze(count=2)"]
    assert freeze["energy"] == "84 J est" and freeze["energy red."] == "-"
    assert cells["layer-freeze(count=1)"]["energy"] == "not measured"
    text = render(board, "table")
    assert "energy est: ESTIMATED, not measured" in text and "energy ctr: a hardware counter" in text
    exported = {row["strategy"]: row for row in json.loads(render(board, "json"))}
    assert exported["layer-drop(count=2)"]["energy_reduction"] == pytest.approx(0.35)
    assert exported["layer-freeze(count=1)"]["energy_joules"] is None


def test_check_gates_on_the_energy_reduction(tmp_path):
    from bench.analysis.gate import evaluate, validate
    from bench.config import config_from_dict

    board = _board(tmp_path, [
        ("baseline", {}, 30.0, 1.0, [(100.0, "counter"), (110.0, "counter")]),
        ("layer-drop", {"count": 2}, 19.0, 1.05, [(60.0, "counter"), (77.0, "counter")]),
        ("layer-freeze", {"count": 2}, 24.0, 1.2, [(80.0, "estimated"), (88.0, "estimated")]),
    ])
    for limit, passed in ((0.30, True), (0.40, False)):
        config = config_from_dict({"suites": {"t": {"task": "email", "strategies": [
            "baseline", "layer-drop:count=2", "layer-freeze:count=2"]}}, "check": {"min_energy_reduction": limit}})
        checks, notes = evaluate(config, config.suite("t"), board, None)
        energy = [c for c in checks if c.check == "energy reduction vs baseline"]
        assert [(c.strategy, c.passed) for c in energy] == [("layer-drop(count=2)", passed)]
        assert any("layer-freeze(count=2): no energy reduction" in note for note in notes)
    config = config_from_dict({"suites": {"t": {"task": "email"}}, "check": {"min_energy_reduction": 1.5}})
    with pytest.raises(BenchError, match=r"check.min_energy_reduction = 1.5 must be below 1"):
        validate(config, config.suite("t"), set())
