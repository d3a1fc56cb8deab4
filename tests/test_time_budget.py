"""An equal-time control's schedule runs on the clock: before each step it plans the baseline's steps that fit in
the time left at the pace of the latest steps, fits the warm-up and decay to them, and cuts its last batch to the
pairs that fill the rest (bench/training/budget.py). Literal plans, then the real training loop on a host whose
clock the test sets."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest
import torch

from bench.config import TrainConfig
from bench.model.encoder import BiEncoder
from bench.registry import REGISTRY, Composed, StepContext, Strategy
from bench.training import budget
from bench.training.budget import Plan, TimeBudget
from bench.training.loop import curve_due, make_optimizer, train
from tests.support.models import encoded_pairs, tiny_bert

STEADY = [1.0] * 16  # the baseline's 16 steps, priced 1 s each


def test_the_plan_fits_whole_steps_then_cuts_the_last_batch_to_the_time_left():
    assert budget.plan(5.5, STEADY, [], [], 4) == Plan(6, 4)  # 5 whole steps, then half a batch: 2 of 4 pairs
    assert budget.plan(0.5, STEADY, [], [], 4) == Plan(1, 2)  # half a step: its only step is cut
    assert budget.plan(5.3, STEADY, [], [], 4) == Plan(5, 4)  # 1.2 pairs left: fewer than MIN_PAIRS, not trained
    assert budget.plan(5.5, STEADY, [], [1.0] * 5, 4) == Plan(6, 2)  # after 5 steps of 1 s: the cut step now
    assert budget.plan(5.5, STEADY, [], [1.0] * 5 + [0.6], 4) == Plan(6, 0)  # spent: stop
    assert budget.plan(100.0, [1.0] * 4, [], [], 4) == Plan(4, 4)  # never past the baseline's schedule


def test_the_pace_is_the_latest_ten_timed_steps_against_their_prices():
    """The probe's steps first (the baseline's first batches, timed just before), then the run's own."""
    assert budget.pace(STEADY, [2.0] * 10, []) == 2.0
    assert budget.pace([1.0] * 20, [2.0] * 10, [1.0] * 5) == 1.5  # the last 10: 5 of the probe's, 5 own
    assert budget.pace([1.0] * 20, [2.0] * 10, [1.0] * 10) == 1.0
    assert budget.pace([0.5, 1.0], [], []) == 1.0  # nothing timed: the costs are seconds already
    # a host twice as slow as the prices, read by the probe: 2 whole steps (4 s), then 3 of 4 pairs for 1.5 s
    assert budget.plan(5.5, STEADY, [2.0, 2.0], [], 4) == Plan(3, 4)


def test_the_rates_are_the_baselines_schedule_over_the_planned_steps():
    assert budget.warmup_steps(0.25, 8) == 2 and budget.warmup_steps(0.1, 6) == 1
    assert [budget.rate_multiplier(k, 6, 1) for k in range(7)] == [1.0, 1.0, 0.8, 0.6, 0.4, 0.2, 0.0]
    assert [budget.rate_multiplier(k, 8, 2) for k in range(3)] == [0.5, 1.0, 1.0]


def test_curve_points_fall_at_shares_of_the_planned_steps():
    assert [curve_due(16, done, 3) for done in (4, 5, 10, 11, 16)] == [0, 1, 1, 2, 3]
    assert curve_due(6, 6, 3) == 3 and curve_due(2, 1, 5) == 3  # a short run: points share its steps


@dataclass(frozen=True)
class Host(Strategy):
    """The host's clock: each step takes `seconds(step)`, read by the run's stopwatch; records the rate each step
    trains at and the one left after the last."""

    seconds: object = None
    now: list = field(default_factory=lambda: [0.0])
    rates: list = field(default_factory=list)

    def before_step(self, ctx: StepContext) -> None:
        self.rates.append(ctx.optimizer.param_groups[0]["lr"])

    def after_step(self, ctx: StepContext) -> None:
        self.now[0] += self.seconds(ctx.step)

    def end(self, ctx: StepContext) -> None:
        self.rates.append(ctx.optimizer.param_groups[0]["lr"])


def run_control(seconds: float, host_seconds, monkeypatch) -> tuple[object, Host]:
    host = Host(host_seconds)
    monkeypatch.setattr("bench.measure.clock.time", SimpleNamespace(perf_counter=lambda: host.now[0]))
    control = REGISTRY.build("equal-time", {"matches": "layer-drop(count=1)"})
    control = type(control)(matches=control.matches, steps=1, budget=TimeBudget(seconds, tuple(STEADY), (), 0.25))
    messages, replies = encoded_pairs(64)
    cfg = TrainConfig(batch_size=4, epochs=1.0, learning_rate=1e-3, warmup_ratio=0.25, curve_points=1)
    result = train(BiEncoder(tiny_bert(layers=2)), messages, replies, cfg, 0, torch.device("cpu"),
                   strategy=Composed((control, host)))
    return result, host


def test_on_a_steady_host_the_control_is_the_step_schedule_cut_short(monkeypatch):
    """Steps of 1 s against 5.5 s: 5 whole steps and a last of 2 pairs, at exactly the rates the baseline's own
    schedule gives 6 steps, ending at 0 after the last."""
    result, host = run_control(5.5, lambda step: 1.0, monkeypatch)
    assert result.steps == 6 and result.pairs == 5 * 4 + 2 and result.step_seconds == [1.0] * 6
    optimizer, scheduler = make_optimizer(BiEncoder(tiny_bert(layers=2)), TrainConfig(learning_rate=1e-3,
                                                                                      warmup_ratio=0.25), 6)
    steps = []
    for _ in range(7):
        steps.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert host.rates == pytest.approx(steps) and host.rates[-1] == 0.0


def test_when_the_host_slows_the_control_plans_fewer_steps_and_still_ends_at_its_time(monkeypatch):
    """8 s at 1 s a step plans 8 steps; from the 4th step on the host takes 2 s a step: the pace of the steps
    timed so far (5 s for 4, then 7 s for 5) plans 7, then 6 steps with a last of 3 pairs; the warm-up stays the
    2 steps first planned, the decay refits to each plan, and the rate ends at 0."""
    result, host = run_control(8.0, lambda step: 1.0 if step < 3 else 2.0, monkeypatch)
    assert result.steps == 6 and result.pairs == 5 * 4 + 3
    assert result.step_seconds == [1.0, 1.0, 1.0, 2.0, 2.0, 2.0]
    assert host.rates == pytest.approx([1e-3 * m for m in (0.5, 1.0, 1.0, 5 / 6, 3 / 5, 1 / 4)] + [0.0])
    plans = TimeBudget(8.0, tuple(STEADY), (), 0.25).replay(result.step_seconds, 4)
    assert [p.total for p in plans] == [8, 8, 8, 8, 7, 6, 6] and plans[-2].pairs == 3  # replayed from its clock


def test_a_cut_step_trains_the_batchs_first_pairs_and_compositions_take_the_fewest():
    control = REGISTRY.build("equal-time", {"matches": "layer-drop(count=1)"})
    cut = type(control)(matches="x", steps=1, budget=TimeBudget(0.5, tuple(STEADY)))
    context = StepContext(0, 16, BiEncoder(tiny_bert(layers=2)), None, clock=SimpleNamespace(step_seconds=list))
    assert Composed((Strategy(), cut)).pairs(context, 4) == 2 and context.total_steps == 1
    assert Strategy().pairs(context, 4) == 4


def test_the_planner_imports_nothing_of_bench():
    """Strategies may use it (pyproject.toml's import contracts allow this one module): it must stay pure."""
    import ast
    from pathlib import Path

    tree = ast.parse(Path(budget.__file__).read_text())
    imported = [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert imported and not [name for name in imported if name.startswith("bench")]
