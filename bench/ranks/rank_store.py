"""The results store as every rank of a multi-rank run sees it: rank 0 decides and writes, the others follow."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import numpy as np

from bench.ranks.distributed import (
    active,
    broadcast,
    check_same,
    counters,
    gather_objects,
    publish,
    rank,
    world_size,
)
from bench.results.identity import Cell, RunIdentity
from bench.results.store import Store


class RankStore:
    """The store calls a suite run makes, on every rank: rank 0's decisions (cell states, claims, the peak) are
    broadcast so all ranks run the same cells in the same order; only rank 0 writes (the others pass `None`
    and never open a store)."""

    def __init__(self, store: Store | None):
        self._store = store
        self._environment: dict[str, dict] = {}

    def cell_states(self, suite: str, stale_after: timedelta) -> dict[Cell, set[str]]:
        return broadcast(self._store.cell_states(suite, stale_after) if self._store is not None else None)

    def record_peak_flops(self, hardware_hash: str, dtype: str, device_name: str,
                          measure: Callable[[], float]) -> float:
        """Rank 0 measures (or reads) the peak; every rank gets its figure."""
        if self._store is None:
            return broadcast(None)
        return broadcast(self._store.record_peak_flops(hardware_hash, dtype, device_name, measure))

    def claim(self, identity: RunIdentity, stale_after: timedelta, rerun: bool = False) -> str | None:
        check_same("run plan (fingerprint, layers, trainable parameters)",
                   (identity.config_hash, identity.layers, identity.trainable_params))
        for key in counters:
            counters[key] = 0.0
        run_id = broadcast(self._store.claim(identity, stale_after, rerun) if self._store is not None else None)
        if self._store is not None and run_id is not None:
            self._environment[run_id] = identity.environment
        return run_id

    def heartbeat(self, run_id: str) -> None:
        if self._store is not None:
            self._store.heartbeat(run_id)

    def complete_run(self, run_id: str, results: dict[str, Any], curve: Sequence[dict], ranks: np.ndarray,
                     intent_ranks: np.ndarray, step_seconds: np.ndarray) -> None:
        """Rank 0 stores the run with every rank's times and peak memory (the column: the largest rank's)."""
        mine = {"rank": rank(), "train_seconds": results.get("train_seconds"),
                "busy_seconds": round(counters["busy_seconds"], 6),
                "collective_seconds": round(counters["collective_seconds"], 6),
                "peak_memory_bytes": results.get("peak_memory_bytes"), "mrr": results.get("mrr"),  # ranks agree
                "energy_joules": results.get("energy_joules"), "energy_source": results.get("energy_source")}
        every_rank = gather_objects(mine)
        if self._store is None:
            return
        peaks = [r["peak_memory_bytes"] for r in every_rank if r["peak_memory_bytes"] is not None]
        environment = {**self._environment.pop(run_id, {}), "world_size": world_size(), "ranks": every_rank}
        results = {**results, "environment": environment, **({"peak_memory_bytes": max(peaks)} if peaks else {}),
                   **energy_of_ranks(every_rank)}
        self._store.complete_run(run_id, results, curve, ranks, intent_ranks, step_seconds)

    def fail_run(self, run_id: str, error: str) -> None:
        if self._store is not None:
            self._store.fail_run(run_id, error)
        else:
            publish(error)

    def abandon_run(self, run_id: str, why: str) -> None:
        """Stopped from outside (every rank gets the scheduler's signal): rank 0 frees the cell."""
        if self._store is not None:
            self._store.abandon_run(run_id, why)


def energy_of_ranks(every_rank: list[dict]) -> dict[str, Any]:
    """The run's energy: every rank's own device summed, when every rank measured it from the same source."""
    sources = {r["energy_source"] for r in every_rank}
    if None in sources or len(sources) != 1:
        return {"energy_joules": None, "energy_source": None, "energy_meter": None}
    return {"energy_joules": sum(r["energy_joules"] for r in every_rank)}


def rank_store(store: Store | None) -> Store | RankStore | None:
    """`store` for a single process; under several ranks, the view above (rank 0's store, or None elsewhere)."""
    return RankStore(store) if active() else store
