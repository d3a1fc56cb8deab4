"""The work ledger: counts of what each step really ran, and an ideal speedup that equals the FLOP model's for a
static plan and follows a plan that changes from step to step."""

from __future__ import annotations

import pytest
import torch

from bench.config import TrainConfig, config_from_dict
from bench.model import costmodel
from bench.model.encoder import BiEncoder
from bench.model.ledger import WorkLedger
from bench.registry import REGISTRY
from bench.results.store import Store
from bench.suite.cell import ideal_speedup
from bench.suite.runner import SuiteRun, run_suite
from bench.training.loop import batch_order, train
from tests.support.models import TINY4, encoded_pairs, tiny_bert
from tests.support.suites import small_suite

CPU = torch.device("cpu")
CFG = TrainConfig(batch_size=8, epochs=2, learning_rate=1e-3)


def trained(name: str, params: dict, unpad: bool = True, ledger_for=None, cfg: TrainConfig = CFG):
    strategy = REGISTRY.build(name, params)
    model = BiEncoder(tiny_bert(), unpad=unpad)
    strategy.prepare(model)
    ledger = ledger_for(model) if ledger_for else None
    messages, replies = encoded_pairs(32)
    result = train(model, messages, replies, cfg, 0, CPU, strategy=strategy, ledger=ledger)
    return model, result


@pytest.mark.parametrize("unpad", [True, False])
@pytest.mark.parametrize("name, params", [("baseline", {}), ("layer-drop", {"count": 2}),
                                          ("layer-freeze", {"count": 2}), ("drop-freeze", {"drop": 1, "freeze": 2}),
                                          ("layer-freeze", {"count": 3})])
def test_a_static_plan_gets_exactly_the_flop_models_ideal(name, params, unpad):
    mean_tokens = 5.4
    seq_len = round(mean_tokens)
    model, result = trained(name, params, unpad, lambda m: WorkLedger(m.original_shape(), seq_len,
                                                                      2 * CFG.batch_size * seq_len))
    from_plan = ideal_speedup(model, CFG, mean_tokens)  # no work: the FLOP model of the model's static plan
    assert result.work["ideal_speedup"] == pytest.approx(from_plan, rel=1e-12)
    assert ideal_speedup(model, CFG, mean_tokens, result.work) == result.work["ideal_speedup"]
    assert result.work["flops"] * from_plan == pytest.approx(result.work["baseline_flops"], rel=1e-12)


def test_the_ledger_counts_real_tokens_layers_gradients_and_optimizer_parameters():
    model, result = trained("layer-freeze", {"count": 2})
    work = result.work
    messages, replies = encoded_pairs(32)
    order = batch_order(32, 8, work["steps"], 0)
    assert work["steps"] == 8
    assert work["tokens"] == int(messages.lengths[order].sum() + replies.lengths[order].sum())
    assert work["texts"] == 2 * 8 * 8
    assert work["layer_forwards"] == 4 * 8 and work["layer_forwards_with_weight_grads"] == 2 * 8
    assert work["layer_forwards_without_weight_grads"] == 2 * 8
    assert work["input_grad_passes"] == 8  # only layer 3: layer 2 is the lowest trainable layer
    assert work["skipped_layers"] == 0 and work["embedding_tokens"] == work["tokens"]
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert work["optimizer_params_first"] == work["optimizer_params_last"] == trainable
    assert work["optimizer_params"] == 8 * trainable


def test_a_plan_that_changes_per_step_is_priced_step_by_step():
    """progressive-freeze spends half its steps with nothing frozen and ends with 3 layers frozen: its ideal lies
    between the baseline's and layer-freeze(3)'s, and its FLOPs are the sum of its steps' plans."""
    seq_len = 5

    def ledger(model):
        return WorkLedger(model.original_shape(), seq_len, 2 * CFG.batch_size * seq_len)

    model, result = trained("progressive-freeze", {"count": 3, "t0": 0.5}, ledger_for=ledger)
    freeze_ideal = trained("layer-freeze", {"count": 3}, ledger_for=ledger)[1].work["ideal_speedup"]
    assert 1.0 < result.work["ideal_speedup"] < freeze_ideal
    shape, steps = model.original_shape(), result.work["steps"]
    schedule = REGISTRY.build("progressive-freeze", {"count": 3, "t0": 0.5})
    expected = sum(costmodel.step_flops(shape, costmodel.TrainPlan(4, n, n > 0), 2 * CFG.batch_size * seq_len,
                                        seq_len, optimizer_flops_per_param=0)
                   for n in (schedule.frozen_at(step, steps) for step in range(steps)))
    optimizer = costmodel.ADAMW_FLOPS_PER_PARAM * result.work["optimizer_params"]
    assert result.work["flops"] == pytest.approx(expected + optimizer, rel=1e-12)


@pytest.mark.slow
def test_runs_store_the_ledger_and_take_their_ideal_from_it(tmp_path):
    from bench.tasks.toy import write_task

    task = write_task(tmp_path / "task")
    config = config_from_dict(small_suite(task, models=[TINY4], seeds=1, strategies=[
        "zero-shot", "baseline", "layer-freeze:count=2", "mixed-precision", "progressive-freeze:count=2",
        "cached-prefix:count=2"], train={"epochs": 1.0, "dev_eval_pairs": 10}))
    store = Store(f"sqlite:///{tmp_path}/results.db")
    run_suite(SuiteRun(config, config.suite("t"), store, show_progress=False))
    runs = {run.label: run for run in store.runs()}
    assert runs["zero-shot"].work is None and runs["zero-shot"].ideal_speedup is None
    for label in ("baseline", "layer-freeze(count=2)", "mixed-precision", "progressive-freeze(count=2)"):
        work = runs[label].work
        assert work["steps"] == runs[label].steps and runs[label].ideal_speedup == work["priced_ideal_speedup"]
    assert runs["baseline"].ideal_speedup == pytest.approx(1.0, rel=1e-12)
    assert runs["mixed-precision"].work["ideal_speedup"] == pytest.approx(1.0, rel=1e-12)  # FLOPs: bf16 does as many
    # mixed precision changes its own run's precision, not the settings it is compared under
    assert runs["mixed-precision"].settings_hash == runs["baseline"].settings_hash
    assert runs["mixed-precision"].settings["train"]["precision"] == "fp32"
    flop_ideal = {label: run.work["ideal_speedup"] for label, run in runs.items() if run.work}
    assert flop_ideal["layer-freeze(count=2)"] > flop_ideal["progressive-freeze(count=2)"] > 1
    cached = runs["cached-prefix(count=2)"]
    assert cached.work["cache_hits"] + cached.work["cache_misses"] == cached.work["texts"]
    assert 0 < cached.work["prefix_work_saved"] < 1
    assert flop_ideal["cached-prefix(count=2)"] > flop_ideal["layer-freeze(count=2)"]


def test_layer_costs_add_up_to_the_flop_models_charges():
    shape = costmodel.EncoderShape(hidden=384, intermediate=1536, layers=6, vocab=30522)
    costs = costmodel.layer_costs(shape, 20)
    f = costmodel.layer_forward_flops(384, 1536, 20)
    attention = 2 * 2 * 20 * 384
    assert costs.forward == f
    assert costs.weight_grads + costs.input_grads == 2 * f  # a trainable layer with trainable layers below
    assert costs.input_grads == f + attention  # a frozen layer passing gradients down
    assert costs.qkv_input == 6 * 384 * 384
    with pytest.raises(ValueError, match="seq_len"):
        costmodel.layer_costs(shape, 0)


def test_unshared_towers_baseline_ideal_is_one():
    seq_len = 5
    strategy = REGISTRY.build("baseline", {})
    model = BiEncoder(tiny_bert(), shared_towers=False, unpad=True)
    strategy.prepare(model)
    messages, replies = encoded_pairs(32)
    result = train(model, messages, replies, CFG, 0, CPU, strategy=strategy,
                   ledger=WorkLedger(model.original_shape(), seq_len, 2 * CFG.batch_size * seq_len))
    assert result.work["ideal_speedup"] == pytest.approx(1.0, rel=1e-12)
    assert result.work["layer_forwards"] == 2 * 4 * result.work["steps"]  # each tower runs its own texts
