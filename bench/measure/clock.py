"""The training-region clock: CUDA is synchronized before every clock read, so time covers the work done; under
several ranks the timed region opens and closes with a barrier, so it spans every rank's work."""

from __future__ import annotations

import itertools
import time

import torch

from bench.measure.energy import EnergyGauge
from bench.ranks import distributed


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Stopwatch:
    """Accumulates time over several start/stop regions (training, with evaluation paused out), and splits it
    into steps at each `lap`, so the per-step seconds tile the timed regions and sum to `seconds`.

    CPU: perf_counter at each step end. CUDA: a timing event queued at each step end, no host sync per step
    (a sync would stall the pipeline and change what is measured); the events are read once, by
    `step_seconds`, after training. A step's start is the previous step's end (or the region's start), so the
    time between two steps (loading the next batch) belongs to the step that follows, as on the wall clock.

    Under several ranks, `start` and `stop` wait at a barrier, so `seconds` spans all ranks' work (the slowest
    rank's), and `busy_seconds` is this rank's own share: up to its last step, before the closing barrier."""

    def __init__(self, device: torch.device, energy: EnergyGauge | None = None):
        self.device = device
        self.energy = energy or EnergyGauge(None)  # read at each region's start and stop, never per step
        self.seconds = 0.0
        self.busy_seconds = 0.0
        self._started: float | None = None
        self._regions: list[list] = []  # per start/stop region: its start mark, then each step's end mark

    def _mark(self, now: float | None = None):
        if self.device.type == "cuda":
            event = torch.cuda.Event(enable_timing=True)
            event.record(torch.cuda.current_stream(self.device))
            return event
        return time.perf_counter() if now is None else now

    def start(self) -> None:
        synchronize(self.device)
        distributed.barrier()
        self.energy.start()
        self._started = time.perf_counter()
        self._regions.append([self._mark(self._started)])

    def lap(self) -> None:
        """A step ended (outside a region, nothing: that time is not timed)."""
        if self._started is not None:
            self._regions[-1].append(self._mark())

    def stop(self) -> float:
        if self._started is None:
            return self.seconds
        end = self._mark() if self.device.type == "cuda" else None
        synchronize(self.device)
        now = time.perf_counter()
        self.energy.stop()
        busy = now - self._started
        self.busy_seconds += busy
        distributed.counters["busy_seconds"] += busy
        if distributed.active():  # the region ends when the slowest rank is done
            distributed.barrier()
            now = time.perf_counter()
        self.seconds += now - self._started
        self._started = None
        region = self._regions[-1]
        if len(region) > 1:  # the tail between the last step's end and the stop belongs to that step
            region[-1] = self._mark(now) if end is None else end
        return self.seconds

    def step_seconds(self) -> list[float]:
        """Each step's seconds, in step order (read once after training: on CUDA, one sync for all events)."""
        pairs = [(a, b) for region in self._regions for a, b in itertools.pairwise(region)]
        if self.device.type == "cuda":
            synchronize(self.device)
            return [a.elapsed_time(b) / 1000 for a, b in pairs]  # milliseconds
        return [b - a for a, b in pairs]
