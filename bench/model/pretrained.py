"""Loading an encoder by name: a built-in (bench.model.catalog), a tiny random BERT built in code, a local
Hugging Face folder or a cached hub id; nothing is downloaded that was not asked for."""

from __future__ import annotations

import copy
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from bench.errors import BenchError
from bench.model.catalog import BUILTIN

DEFAULT_MODEL = "all-MiniLM-L6-v2"
TINY_PREFIX = "tiny-bert"


def builtin_model_path(name: str = DEFAULT_MODEL) -> Path:
    """The folder of a built-in model (installed packages; a multi-part one unpacked into the cache once)."""
    return BUILTIN[name].folder()


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
    """Load by built-in name, tiny spec, local folder or hub id (offline-safe errors)."""
    from transformers import AutoModel, AutoTokenizer

    tokenizer_source: str | Path
    if name.startswith(TINY_PREFIX):
        tokenizer_source = builtin_model_path()
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(0)  # a tiny model's weights are part of its identity, not of the run seed
        from transformers import BertModel
        encoder = BertModel(tiny_config(name), add_pooling_layer=False)
        torch.random.set_rng_state(generator_state)
    else:
        source: str | Path = builtin_model_path(name) if name in BUILTIN else name
        if isinstance(source, str) and (os.sep in source or source.startswith(".")) and not Path(source).exists():
            raise BenchError(f"model folder {source} not found; pass --model with an existing Hugging Face "
                             f"model folder, a hub id, or a built-in: {', '.join(BUILTIN)}")
        tokenizer_source = source
        try:
            encoder = AutoModel.from_pretrained(source)
        except (OSError, ValueError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BenchError(f"cannot load model {name!r}: {first}; pass --model with a local Hugging Face "
                             f"model folder, a cached hub id, or a built-in: {', '.join(BUILTIN)}") from None
    tokenizer = AutoTokenizer.from_pretrained(tokenizer_source)
    return LoadedModel(name, encoder, tokenizer, weights_hash(encoder))


def weights_hash(module: nn.Module) -> str:
    """A hash of every parameter and buffer, so a fingerprint names the exact starting weights."""
    digest = hashlib.sha256()
    for key, tensor in sorted(module.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


