"""Loading an encoder by name: a registered model (the built-ins of bench.model.catalog, a tiny random BERT built
in code, or a plugin's), else a local Hugging Face folder or a cached hub id; nothing is downloaded that was not
asked for."""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from bench.errors import BenchError, first_line
from bench.kinds import Kind
from bench.model.catalog import BUILTIN, Builtin
from bench.validate import did_you_mean

DEFAULT_MODEL = "all-MiniLM-L6-v2"
TINY_PREFIX = "tiny-bert"

ModelLoader = Callable[[str], "Path | tuple[nn.Module, object]"]
"""Given the whole spec (`name` or `name:key=value,...`): a Hugging Face model folder, or an (encoder, tokenizer)
pair built in code."""
MODELS: Kind[ModelLoader] = Kind("model", "bench.models", reserved=":")
"""Models by name: the built-ins below, and any a plugin registers; a name that is not here is a folder or hub id."""


def builtin_model_path(name: str = DEFAULT_MODEL) -> Path:
    """The folder of a built-in model (installed packages; a multi-part one unpacked into the cache once)."""
    return BUILTIN[name].folder()


def _catalogued(builtin: Builtin) -> ModelLoader:
    def folder(spec: str) -> Path:
        if spec != builtin.name:
            raise BenchError(f"model {builtin.name!r} takes no parameters; pass --model {builtin.name}")
        return builtin.folder()

    return folder


for _builtin in BUILTIN.values():
    MODELS.register(_builtin.name, _builtin.shape)(_catalogued(_builtin))


def tiny_config(spec: str = TINY_PREFIX):
    """A small random BERT built in code: `tiny-bert` or `tiny-bert:layers=4,hidden=64,heads=4`."""
    from transformers import BertConfig

    _, _, rest = spec.partition(":")
    sizes = {"layers": 4, "hidden": 64, "heads": 4}
    for part in filter(None, rest.split(",")):
        key, _, value = part.partition("=")
        if key not in sizes or not value.isdigit():
            raise BenchError(f"bad tiny model spec {spec!r}; write tiny-bert:layers=4,hidden=64,heads=4")
        sizes[key] = int(value)
    return BertConfig(vocab_size=30522, hidden_size=sizes["hidden"], num_hidden_layers=sizes["layers"],
                      num_attention_heads=sizes["heads"], intermediate_size=4 * sizes["hidden"],
                      max_position_embeddings=512)


@MODELS.register(TINY_PREFIX, "a small random BERT built in code (tests): tiny-bert:layers=4,hidden=64,heads=4")
def tiny_bert(spec: str) -> tuple[nn.Module, object]:
    """Fixed weights (seed 0) whatever the run seed: a tiny model's weights are part of its identity."""
    from transformers import AutoTokenizer, BertModel

    config = tiny_config(spec)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(0)
    encoder = BertModel(config, add_pooling_layer=False)
    torch.random.set_rng_state(generator_state)
    return encoder, AutoTokenizer.from_pretrained(builtin_model_path())


@dataclass
class LoadedModel:
    """A pre-trained encoder and its tokenizer, loaded once and copied for each run."""

    name: str
    encoder: nn.Module
    tokenizer: object
    weights_hash: str

    def fresh_copy(self) -> nn.Module:
        return copy.deepcopy(self.encoder)


def load_pretrained(name: str) -> LoadedModel:
    """Load by registered name (built-in, tiny spec or a plugin's), local folder or hub id (offline-safe errors)."""
    registered = name.partition(":")[0]
    loaded = MODELS.get(registered).obj(name) if registered in MODELS else _checked_folder(name)
    encoder, tokenizer = _from_folder(name, loaded) if isinstance(loaded, (str, Path)) else loaded
    return LoadedModel(name, encoder, tokenizer, weights_hash(encoder))


def _fix() -> str:
    return (f"pass --model with a local Hugging Face model folder, a cached hub id, or a registered model: "
            f"{', '.join(MODELS.names())}")


def _checked_folder(name: str) -> str:
    """An unregistered name: a folder that must exist when it looks like a path, else a hub id."""
    if (os.sep in name or name.startswith(".")) and not Path(name).exists():
        raise BenchError(f"model folder {name} not found; {_fix()}")
    return name


def _from_folder(name: str, source: str | Path) -> tuple[nn.Module, object]:
    from transformers import AutoModel, AutoTokenizer

    try:
        encoder = AutoModel.from_pretrained(source)
    except (OSError, ValueError) as exc:
        hint = did_you_mean(name, MODELS.names(), cutoff=0.5)
        raise BenchError(f"cannot load model {name!r}{hint}: {first_line(exc)}; {_fix()}") from None
    return encoder, AutoTokenizer.from_pretrained(source)


def weights_hash(module: nn.Module) -> str:
    """A hash of every parameter and buffer, so a fingerprint names the exact starting weights."""
    digest = hashlib.sha256()
    for key, tensor in sorted(module.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


