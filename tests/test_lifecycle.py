"""The strategy lifecycle: hooks the training loop calls, mid-run freezing and skipping, composition, and plugins
written for `prepare` alone."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
import torch

from bench.config import TrainConfig, config_from_dict, parse_strategy
from bench.errors import BenchError
from bench.model.encoder import BiEncoder
from bench.registry import REGISTRY, Composed, Registry, StepContext, Strategy
from bench.training.loop import train
from tests.support.models import encoded_pairs, tiny_bert

CPU = torch.device("cpu")
CFG = TrainConfig(batch_size=8, epochs=1, learning_rate=1e-3)


def layer_calls(model: BiEncoder) -> list[tuple[int, int, bool, bool]]:
    """(tower, layer, grad enabled, training) for every layer forward (the FFN runs once per layer call)."""
    calls: list[tuple[int, int, bool, bool]] = []
    for t, tower in enumerate(model.towers):
        for i, layer in enumerate(tower.layers):
            layer.intermediate.register_forward_hook(
                lambda module, args, out, t=t, i=i: calls.append((t, i, torch.is_grad_enabled(), module.training)))
    return calls


@dataclass(frozen=True)
class Recorder(Strategy):
    """Logs every hook with what it saw."""

    log: list = field(default_factory=list, compare=False, hash=False)

    def begin(self, ctx: StepContext) -> None:
        self.log.append(("begin", ctx.step, ctx.total_steps))

    def before_step(self, ctx: StepContext) -> None:
        self.log.append(("before", ctx.step, ctx.total_steps))

    def after_backward(self, ctx: StepContext) -> None:
        top = ctx.model.message_tower.layers[-1].output.dense.weight
        state = ctx.optimizer.state.get(top, {}).get("step")
        self.log.append(("backward", ctx.step, top.grad is not None, float(state) if state is not None else 0.0,
                         ctx.layer_grad_norms()))

    def after_step(self, ctx: StepContext) -> None:
        top = ctx.model.message_tower.layers[-1].output.dense.weight
        self.log.append(("after", ctx.step, float(ctx.optimizer.state[top]["step"])))

    def end(self, ctx: StepContext) -> None:
        self.log.append(("end", ctx.step, ctx.total_steps))


def test_hooks_run_in_order_with_the_step_the_model_and_the_optimizer():
    recorder = Recorder()
    messages, replies = encoded_pairs(16)
    result = train(BiEncoder(tiny_bert(), unpad=True), messages, replies, CFG, 0, CPU, strategy=recorder)
    kinds = [entry[0] for entry in recorder.log]
    assert kinds == ["begin"] + ["before", "backward", "after"] * 2 + ["end"] and result.steps == 2
    backward = [e for e in recorder.log if e[0] == "backward"]
    assert [e[1] for e in backward] == [0, 1]
    # gradients are there and the optimizer has not stepped yet (its step count lags by one)
    assert all(e[2] for e in backward) and [e[3] for e in backward] == [0.0, 1.0]
    assert all(len(e[4]) == 4 and all(n is not None and n > 0 for n in e[4]) for e in backward)
    assert [e[2] for e in recorder.log if e[0] == "after"] == [1.0, 2.0]


def test_a_plugin_written_for_prepare_alone_still_works():
    registry = Registry()

    @registry.register("freeze-attention")
    @dataclass(frozen=True)
    class FreezeAttention(Strategy):
        """Freeze every attention block."""

        below: int = 4

        def prepare(self, model):
            for layer in model.message_tower.layers[: self.below]:
                layer.attention.requires_grad_(False)

    strategy = registry.build("freeze-attention", {"below": 2})
    model = BiEncoder(tiny_bert(), unpad=True)
    strategy.prepare(model)
    before = model.message_tower.layers[0].attention.self.query.weight.detach().clone()
    messages, replies = encoded_pairs(16)
    result = train(model, messages, replies, CFG, 0, CPU, strategy=strategy)
    assert torch.equal(model.message_tower.layers[0].attention.self.query.weight, before)
    assert result.work["steps"] == 2 and result.work["layer_forwards"] == 8


@dataclass(frozen=True)
class FreezeAt(Strategy):
    """Freezes `count` bottom layers before step `step`."""

    step: int = 1
    count: int = 2

    def before_step(self, ctx: StepContext) -> None:
        if ctx.step == self.step:
            ctx.freeze_prefix(self.count)


@dataclass(frozen=True)
class OptimizerProbe(Strategy):
    """Records which parameters the optimizer holds after each step."""

    held: list = field(default_factory=list, compare=False, hash=False)

    def after_step(self, ctx: StepContext) -> None:
        self.held.append({id(p) for group in ctx.optimizer.param_groups for p in group["params"]})


def test_freezing_mid_run_takes_layers_out_of_the_optimizer_into_eval_mode_and_no_grad():
    probe = OptimizerProbe()
    model = BiEncoder(tiny_bert(), unpad=True)
    calls = layer_calls(model)
    messages, replies = encoded_pairs(24)
    train(model, messages, replies, CFG, 0, CPU, strategy=Composed((FreezeAt(step=1, count=2), probe)))
    tower = model.message_tower
    frozen = {id(p) for module in (tower.embeddings, *tower.layers[:2]) for p in module.parameters()}
    assert frozen <= probe.held[0] and not frozen & probe.held[1] and not frozen & probe.held[2]
    assert all(p.grad is None for module in (tower.embeddings, *tower.layers[:2]) for p in module.parameters())
    step_of = [i // 4 for i in range(len(calls))]  # 4 layer calls per step
    for (_, layer, grad, training), step in zip(calls, step_of, strict=True):
        expected = not (step >= 1 and layer < 2)
        assert grad == expected and training == expected


@dataclass(frozen=True)
class SkipOnce(Strategy):
    def before_step(self, ctx: StepContext) -> None:
        if ctx.step == 0:
            ctx.skip([1, 3])


def test_a_skipped_layer_is_skipped_for_one_step_only_and_runs_at_evaluation():
    model = BiEncoder(tiny_bert(), unpad=True)
    calls = layer_calls(model)
    messages, replies = encoded_pairs(16)
    result = train(model, messages, replies, CFG, 0, CPU, strategy=SkipOnce())
    assert [c[1] for c in calls] == [0, 2, 0, 1, 2, 3]
    assert result.work["skipped_layers"] == 2 and result.work["layer_forwards"] == 6
    calls.clear()
    model.skip_layers([1])
    model.eval()
    model.encode_messages(*messages.batch(torch.arange(4), CPU))
    assert [c[1] for c in calls] == [0, 1, 2, 3]


def test_composition_syntax_on_the_command_line_and_in_bench_toml():
    spec = parse_strategy("layer-drop:count=1+mixed-precision", "--strategy")
    assert spec.name == spec.label == "layer-drop(count=1)+mixed-precision" and spec.params == ()
    table = parse_strategy({"compose": [{"name": "layer-drop", "count": 1}, "mixed-precision"]}, "suites.x")
    assert table == spec == parse_strategy({"name": "layer-drop:count=1+mixed-precision"}, "suites.x")
    assert parse_strategy(spec.label, "--strategy") == spec  # a printed label reads back
    built = REGISTRY.build(spec.name, spec.params)
    assert isinstance(built, Composed) and [type(p).__name__ for p in built.parts] == ["LayerDrop", "MixedPrecision"]
    assert built.configure(CFG).precision == "bf16" and CFG.precision == "fp32"
    model = BiEncoder(tiny_bert(), unpad=True)
    built.prepare(model)
    assert model.num_layers == 3
    config = config_from_dict({"suites": {"s": {"strategies": [
        "baseline", {"compose": [{"name": "layer-drop", "count": 2}, {"name": "cached-prefix", "count": 1}]}]}}})
    assert [s.label for s in config.suite("s").strategies] == ["baseline", "layer-drop(count=2)+cached-prefix(count=1)"]


@pytest.mark.parametrize("text, message", [
    ("zero-shot+baseline", "cannot be composed"),
    ("cached-prefix:count=1+cached-prefix:count=2", "only one"),
    ("layer-drop:count=1+layer-dorp", "did you mean 'layer-drop'"),
    ("stochastic-depth:p=2+mixed-precision", "p must lie"),
])
def test_bad_compositions_are_one_line_errors(text, message):
    spec = parse_strategy(text, "--strategy")
    with pytest.raises(BenchError, match=message):
        REGISTRY.build(spec.name, spec.params)


def test_bad_composition_tables_are_errors():
    with pytest.raises(BenchError, match="compose"):
        parse_strategy({"compose": ["baseline"], "count": 2}, "suites.x")
    with pytest.raises(BenchError, match="two or more"):
        parse_strategy({"compose": ["baseline"]}, "suites.x")
    with pytest.raises(BenchError, match="no parameters"):
        REGISTRY.build("baseline+mixed-precision", {"count": 1})


def test_a_registered_name_may_not_hold_the_composition_separator():
    registry = Registry()
    with pytest.raises(ValueError, match="may not hold"):
        @registry.register("a+b")
        @dataclass(frozen=True)
        class Bad(Strategy):
            """Bad."""


def test_the_command_line_takes_a_composition_and_a_printed_label():
    from bench.cli import build_parser, suite_for_run

    config = config_from_dict({"suites": {"s": {"strategies": ["baseline"]}}})
    args = build_parser().parse_args(["run", "--suite", "s", "--strategy", "layer-drop:count=2+mixed-precision",
                                      "layer-freeze(count=2)+mixed-precision"])
    suite = suite_for_run(config, args)
    assert [s.label for s in suite.strategies] == ["baseline", "layer-drop(count=2)+mixed-precision",
                                                   "layer-freeze(count=2)+mixed-precision"]
