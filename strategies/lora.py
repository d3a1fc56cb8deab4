"""LoRA (Hu et al. 2021) through the `peft` library: low-rank adapters on chosen projections, every base weight
frozen, so the optimizer holds the adapters only; optionally over a frozen prefix run under no_grad."""

from dataclasses import dataclass

from bench.errors import BenchError
from bench.model.encoder import BiEncoder
from bench.registry import Strategy, register


@register("lora")
@dataclass(frozen=True)
class Lora(Strategy):
    """Low-rank adapters (peft) on the `targets` projections above `freeze` frozen layers; only adapters train.

    `targets` joins module names with `/` (query/value)."""

    rank: int = 8
    alpha: float = 16.0
    targets: str = "query/value"
    freeze: int = 0

    def __post_init__(self) -> None:
        if self.rank < 1:
            raise ValueError(f"rank must be >= 1, got {self.rank}")
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0, got {self.alpha}")
        if self.freeze < 0:
            raise ValueError(f"freeze must be >= 0, got {self.freeze}")
        if not self.target_names:
            raise ValueError(f"targets names no module, got {self.targets!r}; write e.g. query/value")

    @property
    def target_names(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.targets.split("/") if name.strip())

    def prepare(self, model: BiEncoder) -> None:
        from peft import LoraConfig, inject_adapter_in_model

        if self.freeze >= model.num_layers:
            raise BenchError(f"lora: freeze {self.freeze} leaves no layer for adapters in a {model.num_layers}-layer "
                             f"model; use freeze <= {model.num_layers - 1}")
        model.freeze_prefix(max(self.freeze, model.frozen_prefix), embeddings=True)

        def inject(module, names: list[str]) -> None:
            inject_adapter_in_model(LoraConfig(r=self.rank, lora_alpha=self.alpha, target_modules=names,
                                               lora_dropout=0.0), module)

        try:
            model.add_adapters(inject, self.target_names, start=self.freeze)  # only the adapters train
        except BenchError as exc:
            raise BenchError(f"lora: {exc}") from None
