"""The equal-time control, run side: the baseline cut short (warm-up and decay fitted, the same batches), to a
ladder rung's N steps or to the matched run's measured time, planned on the clock from the pace the host runs now
(the baseline's first steps timed just before; bench/training/budget.py, tests/test_time_budget.py), controls
after their matched run, workers waiting for them, and resume."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
import torch

from bench.cli.parser import build_parser
from bench.cli.run import suite_for_run
from bench.config import StrategySpec, TrainConfig, config_from_dict
from bench.errors import BenchError
from bench.model.encoder import BiEncoder
from bench.registry import REGISTRY, Composed, StepContext, Strategy
from bench.results.identity import Cell
from bench.results.store import Store
from bench.suite import cell as cell_module
from bench.suite import controls
from bench.suite.cells import BuiltStrategy, load_suite
from bench.suite.runner import SuiteRun, claim_each, run_suite
from bench.tasks.toy import write_task
from bench.training import pace
from bench.training.budget import TimeBudget
from bench.training.loop import batch_order, total_steps, train
from tests.support.models import TINY, encoded_pairs, tiny_bert
from tests.support.suites import small_suite

CONTROL = "equal-time(matches=layer-drop(count=1))"


def test_the_budget_is_the_baselines_leading_steps_closest_in_time():
    """Literal step times: the cumulative seconds 1, 2, 3.5, 4 against the matched run's seconds."""
    steps = [1.0, 1.0, 1.5, 0.5]
    assert controls.steps_matching(steps, 2.4) == 2
    assert controls.steps_matching(steps, 2.9) == 3
    assert controls.steps_matching(steps, 2.75) == 2  # a tie: the fewer steps
    assert controls.steps_matching(steps, 0.4) == 0  # less than half the first step: no step fits
    assert controls.steps_matching(steps, 60.0) == 4  # slower than the baseline: all of it
    assert controls.steps_of_share(0.5, 15) == 8 and controls.steps_of_share(0.25, 30) == 8
    assert controls.steps_of_share(0.04, 10) == 0


def test_the_priced_budget_reads_the_matched_runs_own_work():
    """The ledger prices the matched run's steps and each of its batches as the baseline would run it: the
    budget is the baseline's leading steps closest to the run's priced cost, whatever the host's speed was."""
    work = {"real_priced_seconds": 2.9, "baseline_real_priced_steps": [1.0, 1.0, 1.5, 0.5]}
    assert controls.steps_priced(work) == 3
    assert controls.steps_priced({**work, "real_priced_seconds": 2.4}) == 2
    assert controls.steps_priced({"real_priced_seconds": None, "baseline_real_priced_steps": None}) is None
    assert controls.steps_priced({}) is None and controls.steps_priced(None) is None


def test_the_paced_budget_matches_the_measured_time_at_the_pace_timed_now():
    """The baseline's batches are priced 1, 1, 1.5, 0.5 s; its first steps, timed now, took 2.5, 1.5 and 3 s, a
    total of 7 s for 3.5 priced, twice their price (the slow first step counts: the control's own first step is
    slow too), so its steps take 2, 2, 3, 1 s (cumulative 2, 4, 7, 8) and a matched run measured at 5.8 s gets 3
    steps, one of 4.6 s gets 2."""
    work = {"real_priced_seconds": 2.9, "baseline_real_priced_steps": [1.0, 1.0, 1.5, 0.5]}
    assert controls.steps_paced(work, 5.8, [2.5, 1.5, 3.0]) == 3
    assert controls.steps_paced(work, 4.6, [2.5, 1.5, 3.0]) == 2  # 4 s for two steps; 7 s for three
    assert controls.steps_paced(work, 5.8, [9.0, 2.0, 3.0]) == 1  # 14 s for 3.5 priced: 4, 8, 14, 16 s
    assert controls.steps_paced(work, 2.4, [1.0, 1.0]) == 2  # at the price: the stored-times rule
    assert controls.steps_paced(work, 3.0, [0.5, 0.5, 0.75, 0.25]) == 4  # a host twice as fast: all four
    assert controls.steps_paced(None, 5.8, [1.0]) is None and controls.steps_paced(work, 5.8, []) is None


def test_the_pace_times_the_baselines_first_steps_and_leaves_no_trace():
    """Real steps of a tiny BERT: one positive time per step (no more than the schedule has), on a model that
    really trained, and the RNG is where it was (the control's own run draws the same numbers)."""
    cfg = TrainConfig(batch_size=4, epochs=1, dev_eval_pairs=0)
    data = SimpleNamespace(train_messages=encoded_pairs(12, seed=1)[0], train_replies=encoded_pairs(12, seed=1)[1])
    torch.manual_seed(0)
    state = torch.get_rng_state()
    built = []
    seconds = pace.baseline_pace(lambda: built.append(BiEncoder(tiny_bert())) or built[-1], data, cfg, 3,
                            torch.device("cpu"), steps=5)
    assert len(seconds) == total_steps(12, cfg) == 3 and all(s > 0 for s in seconds)
    assert torch.equal(torch.get_rng_state(), state) and len(built) == 1
    trained = built[0].state_dict()  # the copy did train: the steps were real
    assert any(not torch.equal(trained[k], v) for k, v in BiEncoder(tiny_bert()).state_dict().items()
               if k in trained and "position_ids" not in k)


@dataclass(frozen=True)
class Recorder(Strategy):
    """Notes the learning rate each step trains at and after the last one."""

    rates: list = field(default_factory=list)

    def before_step(self, ctx: StepContext) -> None:
        self.rates.append(ctx.optimizer.param_groups[0]["lr"])

    def end(self, ctx: StepContext) -> None:
        self.rates.append(ctx.optimizer.param_groups[0]["lr"])


def test_the_control_trains_n_steps_with_its_schedule_fitted_and_the_baselines_first_batches():
    messages, replies = encoded_pairs(32)
    cfg = TrainConfig(batch_size=4, epochs=2.0, learning_rate=1e-3, warmup_ratio=0.2, curve_points=1)
    full = total_steps(32, cfg)
    control = dataclasses.replace(REGISTRY.build("equal-time", {"fraction": 0.5}), steps=5)
    recorder = Recorder()
    result = train(BiEncoder(tiny_bert(layers=2)), messages, replies, cfg, 0, torch.device("cpu"),
                   strategy=Composed((control, recorder)))
    assert full == 16 and result.steps == 5 and len(result.step_seconds) == 5
    rates = recorder.rates
    assert rates[0] == pytest.approx(1e-3)  # warm-up of int(0.2 * 5) = 1 step
    assert rates[1:5] == pytest.approx([1e-3 * (5 - s) / 4 for s in range(1, 5)])  # linear decay over 5 steps
    assert rates[-1] == 0.0  # the end value, reached exactly after the control's last step
    # the same seed draws the same epochs: the control's 5 batches (and, over an epoch boundary, 10) are the
    # full baseline's first
    assert torch.equal(batch_order(32, 4, 5, 0), batch_order(32, 4, full, 0)[:5])
    assert torch.equal(batch_order(32, 4, 10, 0), batch_order(32, 4, full, 0)[:10])
    with pytest.raises(BenchError, match="resolved"):
        REGISTRY.build("equal-time", {"fraction": 0.5}).configure(cfg)  # never the full schedule by mistake


def test_a_control_waits_for_its_matched_run_and_the_baseline():
    matched, base, own = (Cell("t", name, "hw") for name in ("drop", "base", "ctl"))
    cell = SimpleNamespace(cell=own, needs=(matched, base))
    states: dict = {matched: {"completed"}, base: {"running"}}
    context = SimpleNamespace(suite=SimpleNamespace(name="t"), workers=SimpleNamespace(stale_after=None),
                              store=SimpleNamespace(cell_states=lambda suite, stale: states))
    ran: list = []
    assert claim_each(context, [cell], lambda c: ran.append(c) or "run-1", ran.append) == [cell] and not ran
    states[base] = {"failed", "completed"}
    assert controls.ready(cell.needs, states)
    assert claim_each(context, [cell], lambda c: "run-1", ran.append) == [] and ran == ["run-1"]


def test_the_budget_resolves_from_the_latest_stored_runs_and_refuses_less_than_a_step():
    matched, base = Cell("t", "drop", "hw"), Cell("t", "base", "hw")
    runs = {"drop": [SimpleNamespace(id="d0", train_seconds=9.0, work=None),
                     SimpleNamespace(id="d1", train_seconds=2.1, work=None)],
            "base": [SimpleNamespace(id="b1", train_seconds=4.0, work=None)]}
    store = SimpleNamespace(runs=lambda status, config_hash, **_: runs.get(config_hash, []),
                            step_times=lambda ids: {"b1": [1.0, 1.0, 1.0, 1.0]})
    built = BuiltStrategy(StrategySpec("equal-time", (("matches", "drop"),)),
                          REGISTRY.build("equal-time", {"matches": "drop"}))
    resolved = controls.resolve(store, built, 0, (matched, base), 4).strategy
    assert resolved.steps == 2  # planned before the run; the budget plans on the clock from the baseline's times
    assert resolved.budget == TimeBudget(2.1, (1.0, 1.0, 1.0, 1.0), (), 0.0)
    assert controls.resolve(store, built, 0, (matched, Cell("t", "none", "hw")), 4) is None  # not stored yet
    runs["drop"].append(SimpleNamespace(id="d2", train_seconds=0.3, work=None))
    with pytest.raises(BenchError, match="less than one"):
        controls.resolve(store, built, 0, (matched, base), 4)
    # with prices, the matched run's priced work decides, not its measured seconds (0.3 s above)
    priced = {"real_priced_seconds": 2.6, "baseline_real_priced_steps": [0.9, 0.9, 0.9, 0.9]}
    runs["drop"].append(SimpleNamespace(id="d3", train_seconds=0.3, work=priced))
    assert controls.resolve(store, built, 0, (matched, base), 4).strategy.steps == 3


@pytest.fixture(scope="module")
def controlled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("controls")
    document = small_suite(write_task(folder / "task"), strategies=["zero-shot", "baseline", "layer-drop:count=1"],
                           models=[TINY], train={"dev_eval_pairs": 20}, controls=True, ladder=[0.5])
    config = config_from_dict(document)
    store = Store(f"sqlite:///{folder}/results.db")
    paces = {}  # the seconds each control's pace really measured, by seed (a spy, the real function runs)

    def spy(build, data, cfg, seed, device):
        paces[seed] = pace.baseline_pace(build, data, cfg, seed, device)
        return paces[seed]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cell_module, "baseline_pace", spy)
        new = run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False))
    return config, store, new, paces


def test_a_suite_with_controls_stores_one_per_training_strategy_and_seed(controlled):
    config, store, new, paces = controlled
    runs = store.runs()
    assert len(new) == len(runs) == 2 * 5  # zero-shot, baseline, layer-drop, its control, the 0.5 rung
    times = store.step_times([r.id for r in runs])
    for seed in (0, 1):
        by_label = {r.label: r for r in runs if r.seed == seed}
        assert set(by_label) == {"zero-shot", "baseline", "layer-drop(count=1)", CONTROL, "equal-time(fraction=0.5)"}
        control, drop, base = by_label[CONTROL], by_label["layer-drop(count=1)"], by_label["baseline"]
        assert control.strategy == "equal-time" and control.params == {"matches": "layer-drop(count=1)"}
        # the budget: the matched run's measured seconds, planned before each step from the baseline's first
        # steps timed just before and then the control's own: replayed from its stored step times, the plans
        # ran exactly its steps, and it ended within its last step of the time it matches
        assert len(paces[seed]) == pace.PACE_STEPS
        priced = drop.work["baseline_real_priced_steps"]
        stored = control.work["time_budget"]  # the budget and the plans made, kept with the run
        assert stored["seconds"] == drop.train_seconds and stored["costs"] == priced
        assert stored["probe"] == paces[seed] and stored["warmup_ratio"] == config.suite("t").train.warmup_ratio
        plans = TimeBudget(drop.train_seconds, tuple(priced), tuple(paces[seed])).replay(times[control.id], 16)
        assert [[p.total, p.pairs] for p in plans[:len(stored["plans"])]] == stored["plans"]
        assert all(plan.pairs for plan in plans[:-1]) and (plans[-2].total == control.steps or not plans[-1].pairs)
        assert control.train_seconds <= drop.train_seconds + times[control.id][-1]
        assert len(priced) == drop.steps == base.steps and drop.work["real_priced_seconds"] < sum(priced)
        assert len(times[control.id]) == control.steps and control.started_at > drop.ended_at
        assert control.settings_hash == base.settings_hash  # compared with the baseline like any strategy
        rung = by_label["equal-time(fraction=0.5)"]
        assert rung.params == {"fraction": 0.5} and rung.steps == controls.steps_of_share(0.5, base.steps) == 8


def test_a_second_run_of_the_suite_runs_nothing_new(controlled):
    config, store, _, _ = controlled
    assert run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False)) == []


def test_no_controls_turns_them_off_and_controls_turns_them_on(controlled, tmp_path):
    config, _, _, _ = controlled
    parser = build_parser()

    def labels(*flags: str) -> list[str]:
        suite = suite_for_run(config, parser.parse_args(["run", "--suite", "t", *flags]))
        return [b.spec.label for b in load_suite(config, suite, "cpu").strategies]

    assert labels() == ["baseline", "equal-time(fraction=0.5)", "zero-shot", "layer-drop(count=1)", CONTROL]
    assert labels("--no-controls") == ["baseline", "zero-shot", "layer-drop(count=1)"]
    off = config_from_dict(small_suite(write_task(tmp_path / "task"), strategies=["baseline", "layer-drop:count=1"]))
    on = suite_for_run(off, parser.parse_args(["run", "--suite", "t", "--controls"]))
    assert [b.spec.label for b in load_suite(off, on, "cpu").strategies][-1] == CONTROL
    with pytest.raises(BenchError, match="one process"):
        from bench.cli.run import cmd_run

        cmd_run(config, parser.parse_args(["run", "--suite", "t", "--nproc", "2"]))
