"""Evaluation reuses a frozen pre-trained prefix's outputs across runs, exactly: the same ranks bit for bit, and
the prefix's layers do not run again. A message text that recurs is encoded once, with the same ranks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bench.config import config_from_dict
from bench.registry import REGISTRY
from bench.results.store import Store
from bench.suite.cell import build_model
from bench.suite.cells import load_suite
from bench.suite.runner import SuiteRun, run_suite
from bench.tasks.batching import encode_texts
from bench.tasks.tokenised import RankingInputs, ranking_inputs, tokenise
from bench.tasks.toy import write_task
from bench.training.evaluate import SharedPrefixes, rank
from tests.support.models import TINY4 as TINY
from tests.support.suites import small_suite


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    task = write_task(tmp_path_factory.mktemp("task"))
    config = config_from_dict(small_suite(task, models=[TINY], strategies=[
        "baseline", "layer-freeze:count=2", "drop-freeze:drop=1,freeze=2", "cached-prefix:count=2",
        "layer-drop:count=1,which=bottom"], train={"curve_points": 2, "dev_eval_pairs": 20, "eval_batch_size": 32}))
    suite = config.suite("t")
    loaded = load_suite(config, suite)
    data = tokenise(loaded.task, loaded.models[0].tokenizer, suite.train, 1.0)
    return config, suite, loaded, data


@pytest.mark.parametrize("unpad", [True, False])
def test_a_recurring_message_is_encoded_once_with_the_same_ranks(setup, unpad):
    config, suite, loaded, data = setup
    task, model_in = loaded.task, loaded.models[0]
    cfg = suite.train.__class__(**{**suite.train.__dict__, "unpad": unpad})
    n = len(task.test)
    twice = task.test.subset([*range(n), *reversed(range(n))])  # every message twice, in another batch
    deduplicated = ranking_inputs(task, twice, model_in.tokenizer, cfg.max_message_length)
    assert len(deduplicated.messages) == len({p.message for p in task.test.pairs}) <= n and len(deduplicated) == 2 * n
    every_text = RankingInputs(encode_texts(model_in.tokenizer, [p.message for p in twice.pairs],
                                            cfg.max_message_length), np.arange(2 * n), deduplicated.gold,
                               deduplicated.relevant, deduplicated.intent_counted)
    model = build_model(model_in, cfg, REGISTRY.build("baseline"), 0, torch.device("cpu"))
    once = rank(model, deduplicated, data.whitelist, cfg.eval_batch_size, torch.device("cpu"))
    each = rank(model, every_text, data.whitelist, cfg.eval_batch_size, torch.device("cpu"))
    assert all(np.array_equal(a, b) for a, b in zip(once, each, strict=True))
    assert [len(r) for r in once] == [2 * task.test.exact_count, 2 * task.test.intent_count]


@pytest.mark.parametrize("unpad", [True, False])
def test_a_frozen_pretrained_prefix_is_computed_once_and_gives_the_same_ranks(setup, unpad):
    config, suite, loaded, data = setup
    cfg = suite.train.__class__(**{**suite.train.__dict__, "unpad": unpad})
    shared = SharedPrefixes(loaded.models[0])
    strategy = REGISTRY.build("layer-freeze", {"count": 2})
    calls = {"prefix": 0, "above": 0}
    outputs = []
    for seed in (0, 1):
        model = build_model(loaded.models[0], cfg, strategy, seed, torch.device("cpu"))
        with torch.no_grad():  # a trained-looking model: layers above the prefix differ between the two seeds
            for p in model.message_tower.layers[2:].parameters():
                p.add_(0.01 * torch.randn_like(p))
        hooks = [model.message_tower.layers[1].intermediate.dense.register_forward_hook(lambda *a: calls.__setitem__(
            "prefix", calls["prefix"] + 1)),
                 model.message_tower.layers[3].intermediate.dense.register_forward_hook(lambda *a: calls.__setitem__(
                     "above", calls["above"] + 1))]
        counted = dict(calls)
        reused = rank(model, data.test, data.whitelist, cfg.eval_batch_size, torch.device("cpu"), shared)
        prefix_runs, above_runs = calls["prefix"] - counted["prefix"], calls["above"] - counted["above"]
        for hook in hooks:
            hook.remove()
        plain = rank(model, data.test, data.whitelist, cfg.eval_batch_size, torch.device("cpu"))
        assert all(np.array_equal(a, b) for a, b in zip(reused, plain, strict=True))  # bit for bit
        outputs.append(reused)
        if seed == 0:
            assert prefix_runs > 0 and above_runs > 0
        else:
            assert prefix_runs == 0 and above_runs > 0  # the second run starts above the prefix
    assert not all(np.array_equal(a, b) for a, b in zip(*outputs, strict=True))  # the models really differ


def test_only_an_unchanged_pretrained_prefix_is_shared(setup):
    config, suite, loaded, data = setup
    model_in = loaded.models[0]
    prefixes = SharedPrefixes(model_in)
    cpu = torch.device("cpu")
    frozen = build_model(model_in, suite.train, REGISTRY.build("layer-freeze", {"count": 2}), 0, cpu)
    assert prefixes.cache(frozen.message_tower, data.test.messages, 32) is not None
    bottom = build_model(model_in, suite.train, REGISTRY.build("drop-freeze", {"drop": 1, "freeze": 2}), 0, cpu)
    assert prefixes.cache(bottom.message_tower, data.test.messages, 32) is not None  # top layer dropped
    baseline = build_model(model_in, suite.train, REGISTRY.build("baseline"), 0, cpu)
    assert prefixes.cache(baseline.message_tower, data.test.messages, 32) is None
    changed = build_model(model_in, suite.train, REGISTRY.build("layer-freeze", {"count": 2}), 0, cpu)
    with torch.no_grad():
        changed.message_tower.layers[0].output.dense.weight.add_(1e-3)  # e.g. trained before it was frozen
    assert prefixes.cache(changed.message_tower, data.test.messages, 32) is None


@pytest.mark.slow
def test_a_suite_with_reuse_stores_the_same_metrics_as_runs_alone(setup, tmp_path):
    config, suite, loaded, _ = setup
    store = Store(f"sqlite:///{tmp_path}/all.db")
    run_suite(SuiteRun(config, suite, store, show_progress=False, loaded=loaded))
    together = {(r.label, r.seed): r for r in store.runs()}
    for label, spec in (("layer-freeze(count=2)", "layer-freeze:count=2"),
                        ("cached-prefix(count=2)", "cached-prefix:count=2")):
        alone = Store(f"sqlite:///{tmp_path}/{spec.split(':')[0]}.db")
        single = suite.__class__(**{**suite.__dict__, "seeds": (1,), "strategies": (
            next(s for s in suite.strategies if s.label == label),)})
        run_suite(SuiteRun(config, single, alone, show_progress=False, loaded=load_suite(config, single)))
        (own,) = alone.runs()
        other = together[(label, 1)]
        assert own.metrics() == other.metrics()
        assert all(np.array_equal(a, b) for a, b in zip(alone.ranks([own.id])[own.id],
                                                         store.ranks([other.id])[other.id], strict=True))


def test_fractions_of_one_model_share_its_evaluation_inputs(setup):
    """The test set, dev set and whitelist do not depend on the training fraction: a second fraction shares the
    first one's (so a frozen prefix's evaluation is reused across a data-size ablation) and trains on its own."""
    config, suite, loaded, data = setup
    half = tokenise(loaded.task, loaded.models[0].tokenizer, suite.train, 0.5, same_model=data)
    alone = tokenise(loaded.task, loaded.models[0].tokenizer, suite.train, 0.5)
    assert half.test is data.test and half.dev is data.dev and half.whitelist is data.whitelist
    assert len(half.train_messages) == len(alone.train_messages) < len(data.train_messages)
    assert torch.equal(half.train_messages.ids, alone.train_messages.ids)
    assert torch.equal(half.test.messages.ids, alone.test.messages.ids) and np.array_equal(half.test.rows,
                                                                                           alone.test.rows)
