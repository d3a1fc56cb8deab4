"""Unpadded layers do BERT's maths on real tokens only: same embeddings, same gradients, no padding work."""

import copy

import pytest
import torch
import torch.nn.functional as F

from bench.config import TrainConfig
from bench.model import padded
from bench.model.encoder import BiEncoder
from bench.registry import REGISTRY
from bench.training.loop import train
from tests.support.models import encoded_pairs, tiny_bert


def _batch(rows: int, width: int, lengths: list[int], seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 200, (rows, width), generator=generator)
    mask = (torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]).long()
    return ids, mask


MESSAGES = _batch(6, 9, [9, 3, 5, 9, 2, 7], seed=0)
REPLIES = _batch(6, 4, [4, 2, 3, 1, 4, 2], seed=1)


def _pair(strategy: dict | None = None, shared: bool = True) -> tuple[BiEncoder, BiEncoder]:
    encoder = tiny_bert(layers=4).double()  # float64: a sum over every token (token-type rows) loses float32 digits
    padded = BiEncoder(copy.deepcopy(encoder), shared_towers=shared, unpad=False)
    unpadded = BiEncoder(copy.deepcopy(encoder), shared_towers=shared, unpad=True)
    for model in (padded, unpadded):
        if strategy:
            REGISTRY.build(strategy["name"], strategy["params"]).prepare(model)
        model.disable_dropout()  # dropout draws differ between layouts; everything else must match
    assert unpadded.message_tower.unpad and not padded.message_tower.unpad
    return padded, unpadded


@pytest.mark.parametrize("strategy", [None, {"name": "layer-drop", "params": {"count": 1}},
                                      {"name": "layer-freeze", "params": {"count": 2}},
                                      {"name": "drop-freeze", "params": {"drop": 1, "freeze": 1}}])
@pytest.mark.parametrize("shared", [True, False])
def test_unpadded_embeddings_and_gradients_match_padded(strategy, shared):
    results = []
    for model in _pair(strategy, shared):
        model.train()
        messages, replies = model.encode_pairs(MESSAGES, REPLIES)
        loss = F.cross_entropy(model.similarity(messages, replies), torch.arange(6))
        loss.backward()
        grads = {name: p.grad for name, p in model.named_parameters() if p.grad is not None}
        results.append((messages.detach(), replies.detach(), loss.detach(), grads))
    (m0, r0, l0, g0), (m1, r1, l1, g1) = results
    torch.testing.assert_close(m1, m0, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(r1, r0, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(l1, l0, rtol=1e-5, atol=1e-6)
    assert g0 and set(g1) == set(g0)
    for name, grad in g0.items():
        torch.testing.assert_close(g1[name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_dense_layers_see_only_real_tokens():
    """The feed-forward input has one row per real token of the step, messages and replies in one matrix."""
    seen = {}
    for model in _pair():
        rows = []
        hook = model.message_tower.layers[0].intermediate.dense.register_forward_pre_hook(
            lambda module, args, rows=rows: rows.append(args[0].reshape(-1, args[0].shape[-1]).shape[0]))
        model.encode_pairs(MESSAGES, REPLIES)
        hook.remove()
        seen[model.message_tower.unpad] = rows
    real = int(MESSAGES[1].sum() + REPLIES[1].sum())
    assert seen[True] == [real]  # one pass, real tokens only
    assert seen[False] == [6 * 9, 6 * 4]  # two passes, every padded position
    assert real < 6 * 9 + 6 * 4


def test_unpadded_training_is_deterministic_and_learns():
    messages, replies = encoded_pairs(32)
    cfg = TrainConfig(batch_size=8, epochs=3, learning_rate=1e-3, unpad=True)
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = BiEncoder(tiny_bert(layers=2), unpad=True)
        train(model, messages, replies, cfg, seed=0, device=torch.device("cpu"))
        runs.append({name: p.detach().clone() for name, p in model.named_parameters()})
    assert all(torch.equal(runs[0][name], runs[1][name]) for name in runs[0])
    assert not torch.equal(runs[0]["message_tower.layers.1.output.dense.weight"],
                           tiny_bert(layers=2).encoder.layer[1].output.dense.weight)


def test_unsupported_layers_fall_back_to_padded_batches():
    model = BiEncoder(tiny_bert(layers=2, chunk_size_feed_forward=3), unpad=True)
    assert not model.message_tower.unpad
    with torch.no_grad():
        assert model.eval().encode_messages(*MESSAGES).shape == (6, 32)


@pytest.mark.parametrize("unpad", [False, True])
def test_bf16_autocast_trains_on_both_layouts(unpad):
    """precision = "bf16" runs the packed and the padded layers under CPU autocast and still learns."""
    messages, replies = encoded_pairs(16, seed=5)
    model = BiEncoder(tiny_bert(layers=2), unpad=unpad)
    before = model.message_tower.layers[1].output.dense.weight.detach().clone()
    result = train(model, messages, replies, TrainConfig(batch_size=8, epochs=2, precision="bf16", unpad=unpad),
                   seed=0, device=torch.device("cpu"))
    after = model.message_tower.layers[1].output.dense.weight
    assert result.steps == 4 and after.dtype == torch.float32
    assert torch.isfinite(after).all() and not torch.equal(after, before)


@pytest.mark.parametrize("buckets", [2, 3, 6, 10])
def test_length_buckets_give_the_padded_path_the_same_loss_and_gradients_with_less_padding(buckets):
    """`length_buckets` splits a padded training batch into length-sorted sub-batches: the same texts, the same
    embeddings and gradients (float64, to rounding), and fewer padded positions through the layers."""
    encoder = tiny_bert(layers=3).double()
    plain = BiEncoder(copy.deepcopy(encoder), unpad=False)
    bucketed = BiEncoder(copy.deepcopy(encoder), unpad=False, length_buckets=buckets)
    positions = {}
    for name, model in (("plain", plain), ("bucketed", bucketed)):
        model.disable_dropout()
        model.train()
        hook = model.message_tower.layers[0].register_forward_pre_hook(
            lambda module, args, name=name: positions.__setitem__(name, positions.get(name, 0) + args[0].shape[0]
                                                                  * args[0].shape[1]))
        scores = model.similarity(*model.encode_pairs(MESSAGES, REPLIES))
        F.cross_entropy(scores, torch.arange(6)).backward()
        hook.remove()
        positions[name + " loss"] = scores
    torch.testing.assert_close(positions["bucketed loss"], positions["plain loss"], rtol=0, atol=1e-12)
    for (name, mine), theirs in zip(bucketed.named_parameters(), plain.parameters(), strict=True):
        torch.testing.assert_close(mine.grad, theirs.grad, rtol=0, atol=1e-12, msg=name)
    assert positions["plain"] == 6 * 9 + 6 * 4
    assert positions["bucketed"] < positions["plain"]  # the short rows no longer pad to the longest
    bucketed.eval()
    with torch.no_grad():  # evaluation sorts its batches by length itself: one batch, as given
        positions.clear()
        bucketed.message_tower.layers[0].register_forward_pre_hook(
            lambda module, args: positions.__setitem__("eval", args[0].shape[0] * args[0].shape[1]))
        bucketed.encode_messages(*MESSAGES)
    assert positions["eval"] == 6 * 9


def test_length_buckets_leave_the_unpadded_path_alone():
    model = BiEncoder(tiny_bert(layers=2), unpad=True, length_buckets=4)
    model.train()
    parts, order = padded.sub_batches(*MESSAGES, model.message_tower.length_buckets)
    assert len(parts) == 4 and torch.equal(order.sort().values, torch.arange(6))  # the split itself is exact
    assert [int(mask.shape[1]) for _, mask in parts] == [9, 7, 3, 2]  # each part cut to its longest text
    embedded = model.encode_messages(*MESSAGES)  # the packed path has no padding to save: it never splits
    assert embedded.shape == (6, 32)


def test_length_buckets_at_their_default_leave_the_settings_fingerprint_as_it_was():
    """Runs stored before `length_buckets` existed hashed every other [train] field: at its default the new field is
    left out, so they still compare (and resume); any other value is a different setting."""
    import dataclasses
    import json

    from bench.config import StrategySpec, SuiteConfig, TrainConfig
    from bench.model.pretrained import LoadedModel
    from bench.results.identity import Fingerprints, Hardware, stable_hash

    task = type("Task", (), {"name": "t", "data_hash": "d", "headline_metric": "intent_recall_at_3"})()
    loaded = LoadedModel("m", None, None, "w")
    hardware = Hardware("cpu", "cpu", 1, "x", "")

    def prints(train: TrainConfig) -> Fingerprints:
        suite = SuiteConfig(name="s", task="t", models=("m",), seeds=(0,), train=train)
        return Fingerprints.of(suite, task, loaded, StrategySpec("baseline"), 0, 1.0, hardware)

    default = prints(TrainConfig())
    later = ("length_buckets", "max_steps")  # each left out at its default
    before = {key: value for key, value in dataclasses.asdict(TrainConfig()).items() if key not in later}
    assert default.settings["train"] == before  # what a bench without the field stored
    assert stable_hash(json.loads(json.dumps(default.settings))) == default.settings_hash
    assert prints(TrainConfig(length_buckets=4)).settings_hash != default.settings_hash


def test_attention_buckets_sort_texts_by_length_and_pool_them_back_in_batch_order():
    from bench.model import packed

    ids, mask = MESSAGES  # lengths 9, 3, 5, 9, 2, 7
    one, = packed.plan([mask])
    three, = packed.plan([mask], buckets=3)
    assert [(b.rows, b.width) for b in one.buckets] == [(6, 9)] and one.order is None and one.unsort is None
    assert [(b.rows, b.width) for b in three.buckets] == [(2, 9), (2, 7), (2, 3)]  # (9, 9), (7, 5), (3, 2)
    assert sum(b.rows * b.width for b in three.buckets) < 6 * 9
    # the same real tokens, bucket after bucket; `order` maps them back to row-major order
    assert sorted(three.positions.tolist()) == one.positions.tolist()
    assert torch.equal(one.positions[three.order], three.positions)
    assert torch.equal(packed.row_major([three]), three.order)
    hidden = torch.randn(int(mask.sum()), 4, dtype=torch.float64)  # token features in row-major order
    pooled_one, = packed.mean_pool(hidden, [one])
    pooled_three, = packed.mean_pool(hidden[three.order], [three])
    torch.testing.assert_close(pooled_three, pooled_one)
