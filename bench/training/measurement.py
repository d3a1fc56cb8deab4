"""What one run measured: the values its caller stores."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.measure.energy import Energy
from bench.ranks import distributed


@dataclass(frozen=True)
class Measurement:
    """What one run measured: timings (per step too), memory, training size, test metrics, the dev curve and
    per-query ranks."""

    train_seconds: float
    eval_seconds: float
    peak_memory_bytes: int
    memory_kind: str
    steps: int
    pairs_trained: int
    """Pairs seen by training (steps x batch size), for throughput; 0 for a strategy that does not train."""
    train_pairs: int
    test_pairs: int
    test_left_out: int
    metrics: dict[str, float]
    curve: list[dict]
    ranks: np.ndarray
    intent_ranks: np.ndarray
    step_seconds: np.ndarray
    """Each training step's seconds (empty for a strategy that does not train); they sum to `train_seconds`."""
    energy: Energy | None = None
    """The training region's energy and its source; None where neither a counter nor the estimate applies."""

    @property
    def device_hours(self) -> float:
        return self.train_seconds / 3600 * distributed.world_size()  # one device per rank, busy for the wall time

    @property
    def samples_per_second(self) -> float | None:
        return self.pairs_trained / self.train_seconds if self.pairs_trained and self.train_seconds else None

    def results(self) -> dict:
        """The run's result columns (everything but the curve, the ranks and the step times)."""
        return {"train_seconds": self.train_seconds, "eval_seconds": self.eval_seconds,
                "device_hours": self.device_hours, "peak_memory_bytes": self.peak_memory_bytes,
                "memory_kind": self.memory_kind, "samples_per_second": self.samples_per_second,
                "steps": self.steps, "train_pairs": self.train_pairs, "test_pairs": self.test_pairs,
                "test_left_out": self.test_left_out, **self.metrics,
                "energy_joules": self.energy.joules if self.energy else None,
                "energy_source": self.energy.source if self.energy else None,
                "energy_meter": self.energy.meter if self.energy else None}
