"""The bi-encoder really drops and really freezes: proofs by hooks, autograd and bit-equality."""

import pytest
import torch
from transformers import BertModel

from bench.config import TrainConfig
from bench.model.encoder import BiEncoder
from bench.model.padded import additive_mask
from bench.registry import REGISTRY
from bench.training.loop import train
from tests.support.models import encoded_pairs, tiny_bert


@pytest.mark.parametrize("unpad", [False, True])
def test_tower_matches_hf_forward(tiny_encoder: BertModel, inputs, unpad):
    """Running the layers by hand (own 4-D mask, or packed real tokens) gives BertModel's own hidden states."""
    ids, mask = inputs
    tiny_encoder.eval()
    model = BiEncoder(tiny_encoder, unpad=unpad)
    model.eval()
    with torch.no_grad():
        reference = tiny_encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        weights = mask.unsqueeze(-1).float()
        expected = (reference * weights).sum(1) / weights.sum(1)
        got = model.encode_messages(ids, mask)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_padding_does_not_change_embeddings(tiny_encoder, inputs):
    ids, mask = inputs
    model = BiEncoder(tiny_encoder).eval()
    with torch.no_grad():
        full = model.encode_messages(ids[3:4], mask[3:4])
        trimmed = model.encode_messages(ids[3:4, :3], mask[3:4, :3])
    torch.testing.assert_close(full, trimmed, rtol=1e-5, atol=1e-5)


def test_additive_mask_shape_and_values():
    mask = torch.tensor([[1, 1, 0]])
    out = additive_mask(mask, torch.float32)
    assert out.shape == (1, 1, 1, 3)
    assert out[0, 0, 0, 0] == 0 and out[0, 0, 0, 2] == torch.finfo(torch.float32).min


@pytest.mark.parametrize("unpad", [False, True])
def test_dropped_layers_are_absent_from_the_forward_pass(tiny_encoder, inputs, unpad):
    original = list(tiny_encoder.encoder.layer)
    called: list[int] = []
    for index, layer in enumerate(original):  # a layer's last module runs on both the padded and unpadded path
        layer.output.register_forward_hook(lambda module, args, out, index=index: called.append(index))
    model = BiEncoder(tiny_encoder, unpad=unpad)
    assert model.message_tower.unpad == unpad
    REGISTRY.build("layer-drop", {"count": 2, "which": "top"}).prepare(model)
    model.encode_messages(*inputs)
    assert called == [0, 1]
    assert model.num_layers == 2 and model.message_tower.config.num_hidden_layers == 2
    kept = {id(p) for p in model.parameters()}
    assert all(id(p) not in kept for layer in original[2:] for p in layer.parameters())


def test_layer_drop_choices():
    from strategies.layer_drop import layers_to_drop

    assert layers_to_drop(6, 2, "top") == [4, 5]
    assert layers_to_drop(6, 2, "bottom") == [0, 1]
    assert layers_to_drop(6, 3, "alternate") == [1, 3, 5]
    assert layers_to_drop(6, 2, "symmetric") == [2, 3]
    assert layers_to_drop(12, 4, "symmetric") == [4, 5, 6, 7]


def test_a_depth_fraction_asks_the_same_share_of_models_of_any_depth():
    from bench.errors import BenchError

    for layers, dropped, frozen in ((6, 2, 3), (12, 4, 6), (3, 1, 2)):
        model = BiEncoder(tiny_bert(layers=layers))
        REGISTRY.build("layer-drop", {"fraction": 1 / 3}).prepare(model)
        assert model.num_layers == layers - dropped
        model = BiEncoder(tiny_bert(layers=layers))
        REGISTRY.build("layer-freeze", {"fraction": 0.5}).prepare(model)
        assert model.message_tower.frozen_prefix == frozen  # 1.5 of 3 layers rounds up, to 2
        model = BiEncoder(tiny_bert(layers=layers))
        REGISTRY.build("drop-freeze", {"drop_fraction": 1 / 3, "freeze_fraction": 1 / 3}).prepare(model)
        assert (model.num_layers, model.message_tower.frozen_prefix) == (layers - dropped, dropped)
    with pytest.raises(BenchError, match="fraction must be in"):
        REGISTRY.build("layer-freeze", {"fraction": 1.0})
    with pytest.raises(BenchError, match="fraction must be in"):
        REGISTRY.build("drop-freeze", {"freeze_fraction": -0.1})
    with pytest.raises(BenchError, match="fraction must be float"):
        REGISTRY.build("layer-drop", {"fraction": "third"})


@pytest.mark.parametrize("unpad", [False, True])
def test_frozen_parameters_are_bit_identical_after_training(unpad):
    model = BiEncoder(tiny_bert(layers=4), unpad=unpad)
    REGISTRY.build("layer-freeze", {"count": 2}).prepare(model)
    tower = model.message_tower
    frozen_before = {n: p.detach().clone() for n, p in tower.named_parameters()
                     if n.startswith(("embeddings", "layers.0.", "layers.1."))}
    trainable_before = {n: p.detach().clone() for n, p in tower.named_parameters() if n.startswith("layers.3.")}
    messages, replies = encoded_pairs()
    train(model, messages, replies, TrainConfig(batch_size=8, epochs=2, learning_rate=1e-3, unpad=unpad), seed=0,
          device=torch.device("cpu"))
    params = dict(tower.named_parameters())
    assert frozen_before and all(torch.equal(params[n], value) for n, value in frozen_before.items())
    assert any(not torch.equal(params[n], value) for n, value in trainable_before.items())
    assert all(not p.requires_grad for n, p in params.items() if n in frozen_before)


@pytest.mark.parametrize("unpad", [False, True])
def test_no_autograd_graph_runs_through_the_frozen_prefix(inputs, unpad):
    model = BiEncoder(tiny_bert(layers=4), unpad=unpad)
    REGISTRY.build("layer-freeze", {"count": 2}).prepare(model)
    model.train()
    outputs: dict[int, torch.Tensor] = {}
    for index, layer in enumerate(model.message_tower.layers):
        layer.output.register_forward_hook(lambda module, args, out, index=index: outputs.__setitem__(index, out))
    embedded = {}
    model.message_tower.embeddings.register_forward_hook(lambda m, a, out: embedded.setdefault("out", out))
    loss = model.encode_messages(*inputs).sum()
    assert embedded["out"].grad_fn is None and not embedded["out"].requires_grad
    assert outputs[0].grad_fn is None and outputs[1].grad_fn is None
    assert outputs[2].grad_fn is not None
    loss.backward()
    assert all(p.grad is None for p in model.message_tower.embeddings.parameters())
    assert all(p.grad is None for p in model.message_tower.layers[1].parameters())
    assert all(p.grad is not None for p in model.message_tower.layers[2].parameters())


def test_frozen_modules_stay_in_eval_mode():
    model = BiEncoder(tiny_bert(layers=4))
    REGISTRY.build("layer-freeze", {"count": 2}).prepare(model)
    model.train()
    tower = model.message_tower
    assert not tower.embeddings.training and not tower.layers[1].training
    assert tower.layers[2].training


def test_optimizer_holds_only_trainable_parameters():
    from bench.training.loop import make_optimizer

    model = BiEncoder(tiny_bert(layers=4))
    REGISTRY.build("drop-freeze", {"drop": 1, "freeze": 2}).prepare(model)
    optimizer, _ = make_optimizer(model, TrainConfig(), total_steps=10)
    in_optimizer = {id(p) for group in optimizer.param_groups for p in group["params"]}
    assert in_optimizer == {id(p) for p in model.parameters() if p.requires_grad}
    assert optimizer.defaults["fused"] is True  # train.fused_optimizer defaults to torch's fused AdamW kernel
    assert not make_optimizer(model, TrainConfig(fused_optimizer=False), total_steps=10)[0].defaults["fused"]
    total, trainable = model.count_parameters()
    assert trainable == sum(p.numel() for p in model.message_tower.layers[2].parameters())
    assert model.num_layers == 3 and total > trainable


def test_shared_towers_share_weights_and_separate_do_not(tiny_encoder):
    shared = BiEncoder(tiny_encoder)
    assert shared.reply_tower is shared.message_tower
    separate = BiEncoder(tiny_bert(), shared_towers=False)
    assert separate.reply_tower is not separate.message_tower
    total, _ = separate.count_parameters()
    assert total == 2 * sum(p.numel() for p in separate.message_tower.parameters())
