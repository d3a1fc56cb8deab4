"""The model API strategies act through (bench.model.encoder.BiEncoder): each call acts on both towers alike, and
no strategy, nor the registry's StepContext, reaches into a tower."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from bench.errors import BenchError
from bench.model.encoder import BiEncoder
from bench.model.ledger import WorkLedger
from tests.support.models import encoded_pairs, tiny_bert

ROOT = Path(__file__).resolve().parent.parent
TOWER_INTERNALS = re.compile(r"message_tower|reply_tower|\.towers?\b")


def test_no_strategy_reaches_into_a_tower():
    reaches = {f"{path.name}:{number}": line.strip() for path in sorted((ROOT / "strategies").glob("*.py"))
               for number, line in enumerate(path.read_text().splitlines(), 1) if TOWER_INTERNALS.search(line)}
    assert reaches == {}


def test_the_step_context_uses_the_model_api_only():
    source = (ROOT / "bench" / "registry.py").read_text()
    assert not TOWER_INTERNALS.search(source)


def test_the_guard_catches_a_reach():
    assert TOWER_INTERNALS.search("ctx.model.message_tower.frozen_prefix")
    assert TOWER_INTERNALS.search("for tower in model.towers:")
    assert not TOWER_INTERNALS.search("ctx.model.frozen_prefix")


@pytest.mark.parametrize("shared", [True, False])
def test_freezing_reads_back_through_the_api(shared):
    model = BiEncoder(tiny_bert(), shared_towers=shared)
    assert (model.frozen_prefix, model.embeddings_frozen, model.trainable_layers()) == (0, False, [0, 1, 2, 3])
    model.freeze_prefix(2)
    assert (model.frozen_prefix, model.embeddings_frozen, model.trainable_layers()) == (2, True, [2, 3])
    assert all(t.frozen_prefix == 2 and t.embeddings_frozen for t in model.towers)
    assert model.layers is model.message_tower.layers and len(model.layers) == model.num_layers == 4


@pytest.mark.parametrize("shared", [True, False])
def test_skipping_and_dropping_act_on_both_towers(shared):
    model = BiEncoder(tiny_bert(), shared_towers=shared)
    assert model.skipped_layers == frozenset()
    model.skip_layers([1, 3])
    assert model.skipped_layers == {1, 3} and all(t.skipped == {1, 3} for t in model.towers)
    model.skip_layers(())
    assert model.skipped_layers == frozenset()
    with pytest.raises(BenchError, match="cannot skip"):
        model.skip_layers([4])
    model.drop_layers([0])
    assert model.num_layers == 3 and all(len(t.layers) == 3 for t in model.towers)


def _side_weights(module: nn.Module, names: list[str]) -> None:
    """An adapter without a peft name: an extra zero matrix beside each named projection."""
    for name in names:
        target = module.get_submodule(name)
        target.register_parameter("side", nn.Parameter(torch.zeros_like(target.weight)))


def test_adapters_are_what_the_injection_added_whatever_their_names():
    model = BiEncoder(tiny_bert(), shared_towers=False)
    model.freeze_prefix(1)
    model.add_adapters(_side_weights, ("query", "value"), start=1)
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all(name.endswith(".side") for name in trainable)
    assert len(trainable) == 2 * 2 * 3  # query and value of layers 1-3, in each tower
    assert model.trainable_layers() == [1, 2, 3]
    tower = model.message_tower
    assert tower.layer_weights(0) == (0.0, False)  # frozen
    assert tower.layer_weights(1) == (0.0, True)  # adapted: its own weights frozen, its adapters train


def test_adapters_need_a_named_module():
    with pytest.raises(BenchError, match="no module named 'nothing'"):
        BiEncoder(tiny_bert()).add_adapters(_side_weights, ("nothing",))


def test_the_ledger_prices_an_adapted_layer_from_the_tower_not_from_parameter_names():
    model = BiEncoder(tiny_bert(), unpad=True)
    model.add_adapters(_side_weights, ("query",))
    model.message_tower.layers[0].requires_grad_(True)  # layer 0 trains its own weights as well
    ledger = WorkLedger(model.original_shape())
    optimizer = torch.optim.SGD(model.trainable_parameters(), lr=0.0)
    messages, replies = encoded_pairs(4)
    batch = messages.batch(torch.arange(4), torch.device("cpu")), replies.batch(torch.arange(4), torch.device("cpu"))
    with ledger.step(model, optimizer):
        loss = model.similarity(*model.encode_pairs(*batch)).sum()
        loss.backward()
    assert all(tower.recorder is None for tower in model.towers)  # report_to(None) after the step
    work = ledger.totals()
    assert work["layer_forwards"] == work["layer_forwards_with_weight_grads"] == 4
    assert model.message_tower.layer_weights(0) == (1.0, True) and model.message_tower.layer_weights(3)[0] == 0.0


def test_step_calls_are_the_tower_calls_a_step_makes():
    messages, replies = encoded_pairs(6)
    batch = messages.batch(torch.arange(6), torch.device("cpu")), replies.batch(torch.arange(6), torch.device("cpu"))
    assert len(BiEncoder(tiny_bert(), unpad=True).step_calls(*batch)) == 1  # both packed into one matrix
    assert len(BiEncoder(tiny_bert(), shared_towers=False, unpad=True).step_calls(*batch)) == 2
    bucketed = BiEncoder(tiny_bert(), length_buckets=2).train()
    calls = bucketed.step_calls(*batch)
    assert len(calls) == 4 and sum(call.texts for call in calls) == 12
    model = BiEncoder(tiny_bert(), shared_towers=False)
    assert model.tower("messages") is model.message_tower and model.tower("replies") is model.reply_tower
