"""The dashboard's frontier of training less: the baseline at several budgets as a line, each strategy against it
(literal leaderboard rows for the shaping, stored runs and Streamlit's AppTest for the page)."""

from __future__ import annotations

import pytest

from bench.analysis import leaderboard
from bench.analysis.rows import Interval, MetricResult, Row
from bench.metrics import METRICS
from bench.results.store import Store
from dashboard import frontier
from tests.support.stored import MODEL, STATS, add_run, make_db


def row(label: str, name: str, params: dict, share: float, relevance: float, *, half: float = 0.02,
        time_half: float | None = 0.03, fraction: float = 1.0, seconds: float = 100.0, **extra) -> Row:
    """A literal row: `share` of the baseline's time (1 − time reduction), headline MRR `relevance` ± `half`."""
    metrics = {metric: MetricResult() for metric in METRICS}
    metrics["mrr"] = MetricResult(relevance, Interval(relevance - half, relevance + half))
    reduction = 1.0 - share
    made = Row(strategy=label, name=name, params=params, suite="s", task="toy", model="m", train_fraction=fraction,
               device="cpu", device_name="cpu", runs=3, seeds=[0, 1, 2], time_reduction=reduction,
               time_reduction_ci=None if time_half is None else Interval(reduction - time_half, reduction + time_half),
               headline_metric="mrr", measured_speedup=None, efficiency=None, metrics=metrics,
               verdict="baseline" if label == "baseline" else "non-inferior", target_reached="",
               time_to_target_seconds=None, time_to_target_reduction=None, train_seconds=seconds * share)
    for key, value in extra.items():  # set, not passed: the frontier reads the equal-time fields with getattr
        setattr(made, key, value)
    return made


ROWS = [row("baseline", "baseline", {}, 1.0, 0.60, time_half=0.0),
        row("zero-shot", "zero-shot", {}, 0.0, 0.20, time_half=0.0),
        row("equal-time(fraction=0.5)", "equal-time", {"fraction": 0.5}, 0.5, 0.50),
        row("equal-time(matches=layer-drop(count=3))", "equal-time", {"matches": "layer-drop(count=3)"}, 0.7, 0.56),
        row("layer-drop(count=3)", "layer-drop", {"count": 3}, 0.7, 0.58, equal_time_delta=0.02,
            equal_time_verdict="better than training less"),
        row("layer-freeze(count=2)", "layer-freeze", {"count": 2}, 0.5, 0.45, time_half=None),
        row("lora(rank=8)", "lora", {"rank": 8}, 1.2, 0.61)]


def test_the_line_is_the_baseline_at_each_budget_and_strategies_are_judged_against_it():
    frame = frontier.frontier_frame(ROWS)
    line = frame[frame["on_line"]]
    assert line["strategy"].tolist() == ["zero-shot", "equal-time(fraction=0.5)",
                                         "equal-time(matches=layer-drop(count=3))", "baseline"]  # in time order
    assert line["role"].tolist() == ["zero-shot", "equal-time control", "equal-time control", "full baseline"]
    assert line["tag"].tolist() == ["zero-shot", "baseline × 0.5", "baseline at layer-drop(count=3)'s time",
                                    "baseline (full)"]
    assert line["share"].tolist() == pytest.approx([0.0, 0.5, 0.7, 1.0])
    assert line["matches"].tolist()[2] == "layer-drop(count=3)"
    assert line["side"].isna().all() and line["above"].isna().all()  # the line is not judged against itself
    judged = frame[~frame["on_line"]].set_index("strategy")
    # layer-drop sits at its control's time, 0.02 above it: worth using
    assert judged.loc["layer-drop(count=3)", "line_at"] == pytest.approx(0.56)
    assert judged.loc["layer-drop(count=3)", "above"] == pytest.approx(0.02)
    assert judged.loc["layer-drop(count=3)", "side"] == "above the line"
    assert judged.loc["layer-drop(count=3)", "equal_time_verdict"] == "better than training less"
    # layer-freeze at half the time is below the baseline at half its steps: train less instead
    assert judged.loc["layer-freeze(count=2)", "above"] == pytest.approx(-0.05)
    assert judged.loc["layer-freeze(count=2)", "side"] == "below the line"
    # slower than the full baseline: beyond what the line says
    assert judged.loc["lora(rank=8)", "side"] == "beyond the line" and judged["line_at"].isna().sum() == 1


def test_intervals_and_the_two_time_axes():
    frame = frontier.frontier_frame(ROWS).set_index("strategy")
    drop = frame.loc["layer-drop(count=3)"]
    assert (drop["relevance"], drop["relevance_lo"], drop["relevance_hi"]) == pytest.approx((0.58, 0.56, 0.60))
    assert (drop["share_lo"], drop["share_hi"]) == pytest.approx((0.67, 0.73))  # 1 − the reduction's interval
    # seconds: the same paired share times the full baseline's mean training seconds (100 s here)
    assert (drop["seconds"], drop["seconds_lo"], drop["seconds_hi"]) == pytest.approx((70.0, 67.0, 73.0))
    assert drop["measured_seconds"] == pytest.approx(70.0)
    freeze = frame.loc["layer-freeze(count=2)"]
    assert freeze["share_lo"] != freeze["share_lo"]  # no time interval: NaN, and the chart draws no bar
    assert frame.loc["zero-shot", "seconds"] == 0.0
    assert frame.loc["baseline", "equal_time_delta"] != frame.loc["baseline", "equal_time_delta"]  # no control


def test_rows_without_the_equal_time_fields_or_a_time_still_shape():
    """A row with no time reduction has no place on either axis; a line of zero-shot and the full baseline alone
    (no equal-time run) is no frontier."""
    untimed = row("odd", "odd", {}, 0.4, 0.3)
    untimed.time_reduction = untimed.time_reduction_ci = None
    frame = frontier.frontier_frame([ROWS[0], ROWS[2], untimed])
    assert frame["strategy"].tolist() == ["equal-time(fraction=0.5)", "baseline"]
    assert not frontier.has_controls(frontier.frontier_frame([ROWS[0], ROWS[1], ROWS[4]]))
    assert frontier.has_controls(frame)


def test_the_robust_time_reduction_places_a_point_where_there_is_one():
    robust = row("layer-drop(count=3)", "layer-drop", {"count": 3}, 0.7, 0.58, robust_time_reduction=0.4,
                 robust_time_reduction_ci=Interval(0.38, 0.42))
    point = frontier.frontier_frame([ROWS[0], robust]).set_index("strategy").loc["layer-drop(count=3)"]
    assert (point["share"], point["share_lo"], point["share_hi"]) == pytest.approx((0.6, 0.58, 0.62))


def test_each_cell_has_its_own_line_and_the_chart_is_valid_vega_lite():
    half = [row(r.strategy, r.name, r.params, 1.0 - r.time_reduction, r.headline.mean - 0.1, fraction=0.5)
            for r in ROWS]
    frame = frontier.frontier_frame(ROWS + half)
    assert frame["cell"].nunique() == 2
    small = frame[frame["cell"] == "s · m · data 0.5"].set_index("strategy")
    assert small.loc["layer-drop(count=3)", "line_at"] == pytest.approx(0.46)  # its own cell's line, not the other
    for axis in frontier.AXES:
        spec = frontier.frontier_chart(frame, axis).to_dict()
        assert "facet" in spec and spec["spec"]["layer"][0]["encoding"]["x"]["field"] == axis
    one = frontier.frontier_chart(frontier.frontier_frame(ROWS), "seconds").to_dict()
    assert [layer["mark"]["type"] for layer in one["layer"]] == ["rule", "line", "text", "rule", "rule", "point",
                                                                "text"]
    values = next(iter(one["datasets"].values()))
    assert {v["strategy"] for v in values if v["on_line"]} == {"zero-shot", "baseline", "equal-time(fraction=0.5)",
                                                               "equal-time(matches=layer-drop(count=3))"}


def test_the_page_shows_the_frontier_only_where_equal_time_runs_exist(app, tmp_path):
    url = make_db(tmp_path / "results.db")
    assert "Better than training less?" not in [h.value for h in app(url).header]
    store = Store(url)
    for seed in (0, 1):
        add_run(store, "equal-time", {"fraction": 0.5}, seed, 15.0, 1.15)
        add_run(store, "equal-time", {"matches": "layer-drop(count=2)"}, seed, 19.0 * (1 + 0.03 * seed), 1.1)
    at = app(url)
    headers = [h.value for h in at.header]
    assert headers.index("Better than training less?") == headers.index("Time saved against relevance lost") + 1
    board = leaderboard.build(Store(url, read_only=True), STATS, "baseline", suite="t", task="toy", model=MODEL,
                              train_fraction=1.0, device_type="cpu")
    frame = frontier.frontier_frame(board.rows)
    assert frame.loc[frame["on_line"], "strategy"].tolist() == [
        "zero-shot", "equal-time(fraction=0.5)", "equal-time(matches=layer-drop(count=2))", "baseline"]
    radio = next(r for r in at.radio if r.label == "Time axis")
    radio.set_value("seconds").run()
    assert not at.exception
