"""The priced ideal: step pieces timed on this machine (bench.training.calibration), kept once per hardware and
setup, and the work ledger pricing what each step really ran with them (bench.model.prices)."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from bench.config import TrainConfig, config_from_dict
from bench.model.encoder import BiEncoder
from bench.model.ledger import WorkLedger
from bench.model.prices import StepPrices
from bench.results.store import Store
from bench.suite.runner import SuiteRun, run_suite
from bench.training import calibration
from bench.training.calibration import calibrate
from bench.training.loop import batch_order
from tests.support.models import encoded_pairs, tiny_bert
from tests.support.suites import small_suite
from tests.test_ledger import CFG, trained

CPU = torch.device("cpu")
# literal prices: seconds per token (layers, embeddings), per step (head), per parameter (optimizer)
FP32 = StepPrices(layer_trainable=10.0, layer_lowest=8.0, layer_frozen_pass=6.0, layer_no_grad=3.0,
                  embeddings_trainable=4.0, embeddings_no_grad=1.0, head=50.0, optimizer_param=0.5)
BF16 = dataclasses.replace(FP32, layer_trainable=5.0, layer_lowest=4.0, layer_frozen_pass=3.0, layer_no_grad=1.5)
SEQ = 5
NOMINAL = 2 * CFG.batch_size * SEQ  # 80 tokens a step


def priced(name: str, params: dict, prices=None, cfg: TrainConfig = CFG, unpad: bool = True):
    ledger = lambda model: WorkLedger(model.original_shape(), SEQ, NOMINAL,  # noqa: E731
                                      prices={"fp32": FP32} if prices is None else prices)
    return trained(name, params, unpad, ledger, cfg)


def test_a_layer_pass_is_priced_by_what_its_backward_does():
    assert FP32.layer(grad=True, input_grad=True, weight_share=1.0, any_trainable=True) == 10.0
    assert FP32.layer(grad=True, input_grad=False, weight_share=1.0, any_trainable=True) == 8.0  # lowest trainable
    assert FP32.layer(grad=True, input_grad=True, weight_share=0.0, any_trainable=False) == 6.0  # passes grads down
    assert FP32.layer(grad=True, input_grad=False, weight_share=0.0, any_trainable=True) == 6.0  # adapters only
    assert FP32.layer(grad=False, input_grad=False, weight_share=0.0, any_trainable=False) == 3.0  # frozen prefix
    assert FP32.layer(grad=True, input_grad=False, weight_share=0.0, any_trainable=False) == 3.0  # no backward
    assert FP32.layer(grad=True, input_grad=True, weight_share=0.25, any_trainable=True) == 7.0
    assert StepPrices.from_dict(FP32.to_dict()) == FP32


@pytest.mark.parametrize("unpad", [True, False])
def test_the_baseline_priced_against_itself_is_exactly_one(unpad):
    model, result = priced("baseline", {}, unpad=unpad)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    steps = result.work["steps"]
    # per step: 80 tokens x (embeddings 4 + 4 layers x 10), the head, and 0.5 s per trainable parameter
    assert result.work["priced_seconds"] == pytest.approx(steps * (NOMINAL * (4 + 4 * 10) + 50 + 0.5 * trainable))
    assert result.work["priced_ideal_speedup"] == pytest.approx(1.0, rel=1e-12)


def test_a_frozen_prefix_is_priced_at_its_no_grad_forward_and_the_lowest_trainable_layer_at_its_own_price():
    model, result = priced("layer-freeze", {"count": 2})
    full = sum(p.numel() for p in BiEncoder(tiny_bert()).parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    run = NOMINAL * (1 + 2 * 3 + 8 + 10) + 50 + 0.5 * trainable
    baseline = NOMINAL * (4 + 4 * 10) + 50 + 0.5 * full
    assert result.work["priced_ideal_speedup"] == pytest.approx(baseline / run, rel=1e-12)


def test_dropped_and_skipped_layers_cost_nothing():
    model, dropped = priced("layer-drop", {"count": 2})
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    full = sum(p.numel() for p in BiEncoder(tiny_bert()).parameters())
    expected = (NOMINAL * (4 + 4 * 10) + 50 + 0.5 * full) / (NOMINAL * (4 + 2 * 10) + 50 + 0.5 * trainable)
    assert dropped.work["priced_ideal_speedup"] == pytest.approx(expected, rel=1e-12)
    # at real token counts (what an equal-time control's budget reads): the steps' real tokens, not the nominal
    steps, tokens = dropped.work["steps"], dropped.work["tokens"]
    per_step = dropped.work["baseline_real_priced_steps"]
    assert len(per_step) == steps and len(set(per_step)) > 1  # the batches' real lengths differ
    assert sum(per_step) == pytest.approx(tokens * (4 + 4 * 10) + steps * (50 + 0.5 * full), rel=1e-12)
    assert dropped.work["real_priced_seconds"] == pytest.approx(tokens * (4 + 2 * 10) + steps * (50 + 0.5 * trainable),
                                                                rel=1e-12)
    _, skipping = priced("stochastic-depth", {"p": 0.5})
    assert skipping.work["skipped_layers"] > 0 and skipping.work["priced_ideal_speedup"] > 1.0


def test_a_bf16_step_is_priced_at_bf16_and_compared_with_the_fp32_baseline():
    model, result = priced("mixed-precision", {}, {"fp32": FP32, "bf16": BF16})
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    expected = (NOMINAL * (4 + 4 * 10) + 50 + 0.5 * trainable) / (NOMINAL * (4 + 4 * 5) + 50 + 0.5 * trainable)
    assert result.work["priced_ideal_speedup"] == pytest.approx(expected, rel=1e-12)
    _, unpriced = priced("mixed-precision", {}, {"fp32": FP32})  # no bf16 prices: no priced ideal, the FLOP one stays
    assert unpriced.work["priced_ideal_speedup"] is None and unpriced.work["ideal_speedup"] == pytest.approx(1.0)


def test_calibration_times_every_piece_of_a_real_step_and_leaves_the_random_state_alone():
    model = BiEncoder(tiny_bert(), unpad=True)
    messages, replies = encoded_pairs(32)
    batches = [(messages.batch(index, CPU), replies.batch(index, CPU)) for index in batch_order(32, 8, 3, 0)]
    state = torch.random.get_rng_state()
    prices = calibrate(model, batches, CFG, CPU, rounds=2)
    assert torch.equal(torch.random.get_rng_state(), state)
    values = prices.to_dict()
    assert all(value > 0 for value in values.values()), values
    assert prices.calibration_seconds >= prices.head
    with pytest.raises(ValueError, match="at least one round"):
        calibrate(model, [], CFG, CPU)


def test_prices_are_timed_once_per_hardware_and_setup_and_kept_in_the_store(tmp_path, monkeypatch):
    timed = []
    real = calibration.calibrate

    def counting(model, batches, cfg, device, rounds):
        timed.append(cfg.precision)
        return real(model, batches, cfg, device, 1)

    from bench.tasks.toy import write_task

    monkeypatch.setattr(calibration, "calibrate", counting)
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    config = config_from_dict(small_suite(write_task(tmp_path / "task"), strategies=[
        "zero-shot", "baseline", "layer-freeze:count=1", "mixed-precision"], seeds=2, train={"dev_eval_pairs": 10}))
    run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False))
    assert sorted(timed) == ["bf16", "fp32"]  # the suite's precision, and mixed-precision's own
    runs = {(r.strategy, r.seed): r for r in store.runs()}
    assert runs[("baseline", 0)].ideal_speedup == pytest.approx(1.0, rel=1e-9)
    assert runs[("zero-shot", 0)].ideal_speedup is None  # nothing trained, nothing timed for it
    for run in (run for run in runs.values() if run.strategy != "zero-shot"):
        assert run.ideal_speedup == run.work["priced_ideal_speedup"] > 0
        assert run.work["ideal_speedup"] > 0  # the FLOP model's, kept beside it
    run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False, rerun=True))
    assert sorted(timed) == ["bf16", "fp32"]  # read from the store: nothing timed again
