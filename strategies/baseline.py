"""The reference points: no training at all, and full fine-tuning."""

from dataclasses import dataclass
from typing import ClassVar

from bench.registry import Strategy, register


@register("zero-shot")
@dataclass(frozen=True)
class ZeroShot(Strategy):
    """The pre-trained model with no training: the relevance floor."""

    trains: ClassVar[bool] = False


@register("baseline")
@dataclass(frozen=True)
class Baseline(Strategy):
    """Full fine-tuning of every layer: the reference for time and relevance."""
