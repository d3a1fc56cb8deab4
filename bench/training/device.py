"""Devices and clocks: CUDA is synchronized before every clock read, so time covers the work done; under several
ranks the timed region opens and closes with a barrier, so it spans every rank's work."""

from __future__ import annotations

import itertools
import platform
import resource
import time

import torch

from bench.errors import BenchError
from bench.results.identity import Hardware
from bench.training import distributed
from bench.training.energy import CpuTimeEstimate, EnergyGauge, Meter, nvml_meter, rapl_meter


def resolve_device(requested: str) -> torch.device:
    """The device to train on; a rank launched by torchrun or --nproc takes GPU LOCAL_RANK for `auto` and `cuda`."""
    device = _resolve(requested)
    if device.type == "cuda" and device.index is None and distributed.launched():
        device = torch.device("cuda", distributed.local_rank() % torch.cuda.device_count())
        torch.cuda.set_device(device)
    return device


def _resolve(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested not in ("cpu", "cuda") and not (requested.startswith("cuda:") and requested[5:].isdecimal()):
        raise BenchError(f"unknown device {requested!r}; use auto, cpu, cuda or cuda:N (--device or bench.toml "
                         "`device`)")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise BenchError(f"device {requested!r} was asked for (--device or bench.toml `device`) but no CUDA GPU "
                         "is visible; use --device cpu or auto")
    if requested.startswith("cuda:") and int(requested[5:]) >= torch.cuda.device_count():
        raise BenchError(f"device {requested!r} was asked for but only {torch.cuda.device_count()} CUDA GPU(s) "
                         "are visible (numbered from 0); use --device cuda or another index")
    return torch.device(requested)


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


def energy_meter(device: torch.device, watts_per_core: float) -> Meter | None:
    """The GPU's NVML counter; for a CPU run RAPL (one process only: ranks on one host share its packages), else
    the CPU-time estimate. None for a GPU without NVML: its power cannot be told from the CPU's time."""
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        uuid = getattr(torch.cuda.get_device_properties(index), "uuid", None)
        return nvml_meter(index, f"GPU-{uuid}" if uuid is not None else None)
    rapl = rapl_meter() if distributed.world_size() == 1 else None
    return rapl or CpuTimeEstimate(watts_per_core)


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> tuple[int, str]:
    """(bytes, what was measured): CUDA's peak allocation, or the process's peak resident set on CPU."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device)), "cuda_max_allocated"
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024, "process_max_rss"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(device: torch.device) -> Hardware:
    """What ran the job. `device_count` is the number of ranks (one device each), so a 2-rank run never shares a
    hardware fingerprint with a 1-rank one, and device-hours = wall hours x device_count."""
    cpu = cpu_model()
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else ""
    name = gpu if device.type == "cuda" else f"{cpu} ({torch.get_num_threads()} threads)"
    return Hardware(device.type, name, distributed.world_size(), cpu, gpu)
