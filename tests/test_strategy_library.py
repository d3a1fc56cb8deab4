"""The strategy library beyond the paper: each strategy really skips the work it claims to (forward calls, autograd,
optimizer contents), not just runs."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pytest
import torch

from bench.config import TrainConfig, parse_strategy
from bench.errors import BenchError
from bench.model.encoder import BiEncoder
from bench.registry import REGISTRY, Composed, StepContext, Strategy
from bench.tasks.batching import Encoded
from bench.training.loop import in_batch_loss, train
from tests.support.models import encoded_pairs, tiny_bert

CPU = torch.device("cpu")
CFG = TrainConfig(batch_size=8, epochs=2, learning_rate=1e-3)


def build(text: str) -> Strategy:
    spec = parse_strategy(text, "test")
    return REGISTRY.build(spec.name, spec.params)


@dataclass(frozen=True)
class Probe(Strategy):
    """Per step: the parameters in the optimizer, and which layers have gradients after backward."""

    held: list = field(default_factory=list, compare=False, hash=False)
    grads: list = field(default_factory=list, compare=False, hash=False)

    def after_backward(self, ctx: StepContext) -> None:
        self.grads.append([any(p.grad is not None for p in layer.parameters())
                           for layer in ctx.model.message_tower.layers])

    def after_step(self, ctx: StepContext) -> None:
        self.held.append({id(p) for group in ctx.optimizer.param_groups for p in group["params"]})


def layer_calls(model: BiEncoder) -> list[tuple[int, int, bool, bool, torch.dtype, int]]:
    """(tower, layer, grad enabled, training, output dtype, tokens) for every layer forward."""
    calls: list = []
    for t, tower in enumerate(model.towers):
        for i, layer in enumerate(tower.layers):
            layer.intermediate.register_forward_hook(lambda module, args, out, t=t, i=i: calls.append(
                (t, i, torch.is_grad_enabled(), module.training, out.dtype, args[0].shape[0])))
    return calls


def run(text: str, probe: Probe | None = None, shared: bool = True, seed: int = 0, pairs=None, cfg=CFG):
    strategy = build(text)
    model = BiEncoder(tiny_bert(), shared_towers=shared, unpad=True)
    strategy.prepare(model)
    calls = layer_calls(model)
    messages, replies = pairs or encoded_pairs(32)
    hooks = Composed((strategy, probe)) if probe else strategy
    result = train(model, messages, replies, cfg, seed, CPU, strategy=hooks)
    return model, result, calls


def layer_params(model: BiEncoder, layers) -> set[int]:
    tower = model.message_tower
    return {id(p) for i in layers for p in tower.layers[i].parameters()}


# progressive-freeze -------------------------------------------------------------------------------------------------

def test_progressive_freeze_schedule_is_freezeout_linear_from_t0():
    strategy = build("progressive-freeze:count=2,t0=0.5")
    assert [strategy.frozen_at(step, 8) for step in range(8)] == [0, 0, 0, 0, 1, 1, 2, 2]


def test_progressive_freeze_takes_frozen_layers_out_of_the_optimizer_and_autograd():
    probe = Probe()
    model, result, calls = run("progressive-freeze:count=2,t0=0.5", probe)
    tower = model.message_tower
    embeddings = {id(p) for p in tower.embeddings.parameters()}
    assert all(layer_params(model, [0, 1]) | embeddings <= held for held in probe.held[:3])
    assert not (layer_params(model, [0]) | embeddings) & probe.held[4] and layer_params(model, [1]) <= probe.held[4]
    assert not layer_params(model, [0, 1]) & probe.held[7]
    assert probe.grads[3] == [True] * 4 and probe.grads[4] == [False, True, True, True]
    assert probe.grads[7] == [False, False, True, True]
    for _, layer, grad, training, _, _ in calls[4 * 6:]:  # steps 6 and 7: two layers frozen
        assert grad == training == (layer >= 2)
    assert result.work["optimizer_params_last"] < result.work["optimizer_params_first"]


def test_progressive_freeze_parameters_are_checked():
    with pytest.raises(BenchError, match="t0 must lie"):
        build("progressive-freeze:t0=1.0")
    with pytest.raises(BenchError, match="would freeze every layer"):
        run("progressive-freeze:count=4")


# auto-freeze --------------------------------------------------------------------------------------------------------

def test_auto_freeze_freezes_converged_bottom_layers_at_an_interval():
    """A huge threshold calls every layer converged: at the second interval's end all but the top layer freeze."""
    probe = Probe()
    model, result, calls = run("auto-freeze:interval=2,threshold=1000", probe)
    bottom = layer_params(model, [0, 1, 2])
    assert all(bottom <= held for held in probe.held[:3]) and not any(bottom & held for held in probe.held[3:])
    assert probe.grads[3] == [True] * 4 and all(g == [False, False, False, True] for g in probe.grads[4:])
    assert all(grad == (layer == 3) for _, layer, grad, _, _, _ in calls[4 * 4:])
    assert result.work["layer_forwards_with_weight_grads"] == 4 * 4 + 4


def test_auto_freeze_keeps_training_layers_whose_gradients_still_change():
    probe = Probe()
    model, _, _ = run("auto-freeze:interval=2,threshold=1e-9", probe)
    assert all(layer_params(model, range(4)) <= held for held in probe.held)


def test_auto_freeze_compares_interval_means_of_gradient_norms():
    strategy = build("auto-freeze:threshold=0.1")
    assert strategy.converged(1.0, 1.05) and not strategy.converged(1.0, 1.2) and not strategy.converged(None, 1.0)


# stochastic-depth ---------------------------------------------------------------------------------------------------

def test_stochastic_depth_really_skips_layers_and_a_seed_fixes_the_choice():
    _, result, calls = run("stochastic-depth:p=0.5")
    assert result.work["skipped_layers"] > 0
    assert len(calls) == result.work["layer_forwards"] == 4 * result.work["steps"] - result.work["skipped_layers"]
    _, again, calls_again = run("stochastic-depth:p=0.5")
    assert [c[1] for c in calls_again] == [c[1] for c in calls]
    _, other, calls_other = run("stochastic-depth:p=0.5", seed=1)
    assert [c[1] for c in calls_other] != [c[1] for c in calls]


def test_stochastic_depth_skips_the_same_layers_in_both_towers_and_runs_every_layer_at_evaluation():
    model, result, calls = run("stochastic-depth:p=0.5", shared=False)
    message = [c[1] for c in calls if c[0] == 0]
    reply = [c[1] for c in calls if c[0] == 1]
    assert message == reply and len(message) < 4 * result.work["steps"]
    calls.clear()
    model.eval()
    messages, _ = encoded_pairs(8)
    model.encode_messages(*messages.batch(torch.arange(4), CPU))
    assert [c[1] for c in calls] == [0, 1, 2, 3]


def test_progressive_layer_dropping_schedule():
    strategy = build("stochastic-depth:p=0.5,schedule=pld,gamma=10")
    assert strategy.keep_probabilities(4, 0.0) == pytest.approx([1.0] * 4)
    late = strategy.keep_probabilities(4, 1.0)
    theta = 0.5 * math.exp(-10) + 0.5
    assert late == pytest.approx([1 - (i + 1) / 4 * (1 - theta) for i in range(4)])
    assert late[0] > late[-1] == pytest.approx(0.5, abs=1e-4)
    assert build("stochastic-depth:p=0.2").keep_probabilities(3, 0.7) == pytest.approx([0.8] * 3)


# cached-prefix ------------------------------------------------------------------------------------------------------

def losses_and_grads(text: str, unpad: bool) -> list[tuple[float, dict[str, torch.Tensor]]]:
    strategy = build(text)
    model = BiEncoder(tiny_bert(), unpad=unpad)
    strategy.prepare(model)
    strategy.begin(StepContext(0, 3, model, None))  # cached-prefix's hook sets the cache; layer-freeze's nothing
    model.train()
    messages, replies = encoded_pairs(16)
    out = []
    for step, index in enumerate([torch.arange(8), torch.arange(4, 12), torch.arange(8)]):  # repeats: cache hits
        torch.manual_seed(step)  # the same dropout masks for both strategies
        loss = in_batch_loss(model.similarity(*model.encode_pairs(messages.batch(index, CPU),
                                                                  replies.batch(index, CPU))), True)
        loss.backward()
        out.append((loss.item(), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}))
        model.zero_grad(set_to_none=True)
    return out


@pytest.mark.parametrize("unpad", [True, False])
@pytest.mark.parametrize("cached, reference", [
    ("cached-prefix:count=2", "layer-freeze:count=2"),
    ("layer-drop:count=1+cached-prefix:count=2", "drop-freeze:drop=1,freeze=2"),
    ("cached-prefix:count=0", "layer-freeze:count=0")])
def test_cached_prefix_loss_and_gradients_equal_layer_freeze(cached, reference, unpad):
    ours, theirs = losses_and_grads(cached, unpad), losses_and_grads(reference, unpad)
    for (loss, grads), (want_loss, want_grads) in zip(ours, theirs, strict=True):
        assert loss == pytest.approx(want_loss, rel=1e-5)
        assert grads.keys() == want_grads.keys() and grads
        for name, grad in grads.items():
            torch.testing.assert_close(grad, want_grads[name], rtol=1e-4, atol=1e-6)


def repeated_replies(n: int = 32, distinct: int = 4) -> tuple[Encoded, Encoded]:
    messages, replies = encoded_pairs(n)
    pick = torch.arange(n) % distinct
    return messages, Encoded(replies.ids[pick], replies.lengths[pick])


def test_cached_prefix_runs_the_prefix_once_per_distinct_text_and_trains_like_layer_freeze():
    pairs = repeated_replies()
    cfg = TrainConfig(batch_size=8, epochs=1, learning_rate=1e-3)
    model, result, calls = run("cached-prefix:count=2", pairs=pairs, cfg=cfg)
    reference, _, _ = run("layer-freeze:count=2", pairs=pairs, cfg=cfg)
    messages, replies = pairs
    distinct_tokens = int(messages.lengths.sum() + replies.lengths[:4].sum())
    assert sum(tokens for _, layer, _, _, _, tokens in calls if layer == 0) == distinct_tokens
    assert all(not grad and not training for _, layer, grad, training, _, _ in calls if layer < 2)
    work = result.work
    assert work["cache_misses"] == 32 + 4 and work["cache_hits"] == 28 and work["cache_layers"] == 2
    assert work["prefix_work_saved"] == pytest.approx(1 - distinct_tokens / work["tokens"])
    assert work["embedding_tokens"] == distinct_tokens
    for (name, param), want in zip(model.named_parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(param, want, rtol=1e-4, atol=1e-5, msg=name)
    assert all(tower.prefix_cache is None for tower in model.towers)  # dropped after training


def test_only_a_frozen_prefix_may_be_cached():
    model = BiEncoder(tiny_bert(), unpad=True)
    with pytest.raises(BenchError, match="only the frozen prefix"):
        model.cache_prefix(1)


# lora ---------------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("freeze", [0, 2])
def test_lora_trains_only_the_adapters(freeze):
    probe = Probe()
    strategy = build(f"lora:rank=2,alpha=4,freeze={freeze}")
    model = BiEncoder(tiny_bert(), unpad=True)
    strategy.prepare(model)
    base = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}
    adapters = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_B" in n}
    calls = layer_calls(model)
    messages, replies = encoded_pairs(32)
    train(model, messages, replies, CFG, 0, CPU, strategy=Composed((strategy, probe)))
    params = dict(model.named_parameters())
    lora_ids = {id(p) for n, p in params.items() if "lora_" in n}
    assert all(held == lora_ids for held in probe.held) and lora_ids
    assert len(adapters) == 2 * (4 - freeze)  # query and value of every layer above the frozen prefix
    assert all(torch.equal(params[n], value) for n, value in base.items())
    assert all(not torch.equal(params[n], value) for n, value in adapters.items())
    assert all(p.grad is None for n, p in params.items() if "lora_" not in n)
    assert all(grad == (layer >= freeze) for _, layer, grad, _, _, _ in calls)


def test_lora_parameters_are_checked():
    with pytest.raises(BenchError, match="rank must be"):
        build("lora:rank=0")
    with pytest.raises(BenchError, match="no module named"):
        build("lora:targets=nothing").prepare(BiEncoder(tiny_bert(), unpad=True))


# mixed-precision ----------------------------------------------------------------------------------------------------

def test_mixed_precision_trains_under_bf16_and_evaluates_in_fp32():
    model, result, calls = run("layer-drop:count=1+mixed-precision")
    assert calls and all(c[4] == torch.bfloat16 for c in calls)
    assert model.num_layers == 3 and result.work["layer_forwards"] == 3 * result.work["steps"]
    calls.clear()
    model.eval()
    messages, _ = encoded_pairs(8)
    with torch.no_grad():
        model.encode_messages(*messages.batch(torch.arange(4), CPU))
    assert all(c[4] == torch.float32 for c in calls)


def test_stochastic_depth_never_skips_every_trainable_layer_of_a_step():
    """Over a frozen prefix, a step that skipped every trainable layer would train nothing; the top one runs."""
    _, result, calls = run("layer-freeze:count=3+stochastic-depth:p=0.9")
    assert sum(1 for c in calls if c[1] == 3) == result.work["steps"]
    assert result.work["skipped_layers"] > 0
