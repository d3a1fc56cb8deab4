"""What one run measured, and finding an untrained model's measurement in the store instead of measuring again."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.metrics import CURVE_METRICS, summarise
from bench.results.identity import RunIdentity
from bench.results.store import Store
from bench.training import distributed
from bench.training.energy import Energy
from bench.training.rank_store import RankStore


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



def stored_evaluation(store: Store | RankStore, identity: RunIdentity) -> tuple[str, Measurement] | None:
    """A completed, untrained run of the same model weights, task data, settings, fraction and hardware, and its
    measurement rebuilt from the store (ranks, curve, energy): exact, since an untrained model is the same for every
    seed. None under several ranks (rank 0's store decides alone there) or when there is none."""
    if not isinstance(store, Store):
        return None
    found = [run for run in store.runs(status="completed", label=identity.label, model_hash=identity.model_hash,
                                       task_hash=identity.task_hash, settings_hash=identity.settings_hash,
                                       train_fraction=identity.train_fraction, hardware_hash=identity.hardware_hash,
                                       steps=0)
             if not (run.environment or {}).get("evaluation_of")]
    if not found:
        return None
    run = found[0]
    ranks, intent_ranks = store.ranks([run.id])[run.id]
    curve = [{"seconds": p.seconds, "step": p.step, "joules": p.joules, "headline": p.headline,
              **{name: getattr(p, name) for name in CURVE_METRICS}} for p in store.curves([run.id]).get(run.id, [])]
    energy = Energy(0.0, run.energy_source, run.energy_meter or "") if run.energy_source else None
    return run.id, Measurement(
        train_seconds=0.0, eval_seconds=run.eval_seconds or 0.0, peak_memory_bytes=run.peak_memory_bytes or 0,
        memory_kind=run.memory_kind or "", steps=0, pairs_trained=0, train_pairs=run.train_pairs or 0,
        test_pairs=run.test_pairs or 0, test_left_out=run.test_left_out or 0,
        metrics=summarise(ranks, intent_ranks), curve=curve, ranks=ranks, intent_ranks=intent_ranks,
        step_seconds=np.zeros(0), energy=energy)
