"""bench's model API (the one strategies use, bench.model.encoder.BiEncoder's) over a model a team trains with
its own trainer: every BERT-style encoder inside a Hugging Face `PreTrainedModel` or a `SentenceTransformer`.

The encoder keeps running its own forward, so each mechanic is done to its modules the way bench's towers do it:
a dropped layer is deleted from `encoder.layer`; a frozen prefix stops requiring gradients (no input to it does,
so autograd records nothing below the first trainable layer: no backward work) and stays in eval mode whatever the
trainer asks; a layer skipped for a step is taken out of `encoder.layer` for that step only, so it does not run.
What a strategy changed is kept on the encoder, so a callback finds what `bench.apply` did."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field

from torch import nn

from bench.errors import BenchError

SUPPORTED = "a BERT-style encoder with .embeddings and .encoder.layer (BERT, MiniLM, RoBERTa, ELECTRA, MPNet)"


def is_encoder(module: nn.Module) -> bool:
    return hasattr(module, "embeddings") and isinstance(getattr(getattr(module, "encoder", None), "layer", None),
                                                        nn.ModuleList)


def find_encoders(model: nn.Module) -> list[nn.Module]:
    """The BERT-style encoders inside `model` (one per tower; the model itself if it is one), outermost first."""
    if not isinstance(model, nn.Module):
        raise BenchError(f"bench.apply needs a torch model (a Hugging Face PreTrainedModel or a SentenceTransformer), "
                         f"got {type(model).__name__}")
    found: list[nn.Module] = []
    for module in model.modules():
        if is_encoder(module) and not any(module in set(outer.modules()) for outer in found):
            found.append(module)
    if not found:
        raise BenchError(f"unsupported model {type(model).__name__}: bench's strategies need {SUPPORTED}, or a "
                         "SentenceTransformer or task model around one")
    return found


@dataclass
class Applied:
    """What bench changed in one encoder, kept on it (`encoder.__dict__`, not a registered attribute)."""

    specs: list[str] = field(default_factory=list)  # labels applied by `bench.apply`, in order
    frozen_prefix: int = 0
    embeddings_frozen: bool = False
    skipped: frozenset[int] = frozenset()
    all_layers: nn.ModuleList | None = None  # every kept layer while some are skipped for a step
    kept_eval: set[int] = field(default_factory=set)  # ids of modules held in eval mode


def applied(encoder: nn.Module) -> Applied:
    return encoder.__dict__.setdefault("_bench_applied", Applied())


def _stay_in_eval(module: nn.Module, _args) -> None:
    """A frozen module runs without dropout even after the trainer calls `model.train()`."""
    if module.training:
        module.eval()


class ModelTarget:
    """The model API over `encoders` (each tower alike), as `Strategy.prepare` and `StepContext` use it."""

    def __init__(self, encoders: list[nn.Module]):
        self.encoders = encoders

    # --- reading -------------------------------------------------------------------------------------------------

    @property
    def _first(self) -> nn.Module:
        return self.encoders[0]

    @property
    def layers(self) -> nn.ModuleList:
        """The first encoder's kept layers, bottom first (every one of them, also during a step that skips some)."""
        state = applied(self._first)
        return state.all_layers if state.all_layers is not None else self._first.encoder.layer

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def frozen_prefix(self) -> int:
        return applied(self._first).frozen_prefix

    @property
    def embeddings_frozen(self) -> bool:
        return applied(self._first).embeddings_frozen

    @property
    def skipped_layers(self) -> frozenset[int]:
        return applied(self._first).skipped

    def trainable_layers(self) -> list[int]:
        return [i for i, layer in enumerate(self.layers) if any(p.requires_grad for p in layer.parameters())]

    # --- changing ------------------------------------------------------------------------------------------------

    def drop_layers(self, indices: list[int]) -> None:
        if any(i < 0 or i >= self.num_layers for i in indices):
            raise BenchError(f"cannot drop layers {indices} from a {self.num_layers}-layer model")
        if len(set(indices)) >= self.num_layers:
            raise BenchError("dropping every layer leaves no encoder; keep at least one layer")
        for encoder in self.encoders:
            encoder.encoder.layer = nn.ModuleList([layer for i, layer in enumerate(encoder.encoder.layer)
                                                   if i not in set(indices)])
            encoder.config.num_hidden_layers = len(encoder.encoder.layer)

    def freeze_prefix(self, count: int, embeddings: bool = True) -> None:
        if count > self.num_layers:
            raise BenchError(f"cannot freeze {count} layers of a {self.num_layers}-layer model")
        if count and not embeddings:
            raise BenchError("freezing layers above trainable embeddings is not a prefix; set embeddings = true")
        for encoder in self.encoders:
            state = applied(encoder)
            shared = [encoder.embeddings, getattr(encoder.encoder, "relative_attention_bias", None)]
            frozen = [m for m in shared if m is not None] if embeddings else []
            for module in frozen + list(encoder.encoder.layer[:count]):
                module.requires_grad_(False)
                module.eval()
                if id(module) not in state.kept_eval:
                    module.register_forward_pre_hook(_stay_in_eval)
                    state.kept_eval.add(id(module))
            state.frozen_prefix, state.embeddings_frozen = count, embeddings

    def skip_layers(self, indices) -> None:
        """Skip these layers in the forwards until changed: they are out of `encoder.layer`, so they do not run."""
        chosen = frozenset(int(i) for i in indices)
        if any(not 0 <= i < self.num_layers for i in chosen):
            raise BenchError(f"cannot skip layers {sorted(chosen)} of a {self.num_layers}-layer model")
        for encoder in self.encoders:
            state = applied(encoder)
            every = state.all_layers if state.all_layers is not None else encoder.encoder.layer
            state.all_layers = every if chosen else None
            encoder.encoder.layer = nn.ModuleList([layer for i, layer in enumerate(every) if i not in chosen]) \
                if chosen else every
            state.skipped = chosen

    def cache_prefix(self, layers: int | None) -> None:
        if layers is not None:
            raise BenchError("cached-prefix serves the frozen prefix from bench's own data path (a per-text cache), "
                             "which a trainer does not have; use layer-freeze:count=N, the same frozen prefix, "
                             "uncached")

    def prefix_cache_stats(self) -> dict[str, float]:
        return {}

    def add_adapters(self, inject: Callable[[nn.Module, list[str]], object], targets: Collection[str],
                     start: int = 0) -> None:
        """As `BiEncoder.add_adapters`: `inject(encoder, names)` adds adapters to the named modules of layers
        `start` up; they alone train from then on."""
        for encoder in self.encoders:
            names = [name for name, _ in encoder.named_modules() if name.startswith("encoder.layer.")
                     and name.split(".")[-1] in targets and int(name.split(".")[2]) >= start]
            if not names:
                raise BenchError(f"no module named {'/'.join(targets)!r} in the encoder layers; name projections "
                                 "such as query/key/value/dense, joined with /")
            before = {id(param) for param in encoder.parameters()}
            inject(encoder, names)
            for param in encoder.parameters():
                param.requires_grad_(id(param) not in before)
