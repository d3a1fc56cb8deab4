"""Devices and clocks: CUDA is synchronized before every clock read, so time covers the work done."""

from __future__ import annotations

import platform
import resource
import time
from dataclasses import dataclass

import torch

from bench.errors import BenchError


def resolve_device(requested: str) -> torch.device:
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested not in ("cpu", "cuda") and not requested.startswith("cuda:"):
        raise BenchError(f"unknown device {requested!r}; use auto, cpu or cuda")
    if requested.startswith("cuda") and not torch.cuda.is_available():
        raise BenchError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu or auto")
    return torch.device(requested)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Stopwatch:
    """Accumulates time over several start/stop regions (training, with evaluation paused out)."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds = 0.0
        self._started: float | None = None

    def start(self) -> None:
        synchronize(self.device)
        self._started = time.perf_counter()

    def stop(self) -> float:
        synchronize(self.device)
        if self._started is not None:
            self.seconds += time.perf_counter() - self._started
            self._started = None
        return self.seconds


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def peak_memory(device: torch.device) -> tuple[int, str]:
    """(bytes, what was measured): CUDA's peak allocation, or the process's peak resident set on CPU."""
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device)), "cuda_max_allocated"
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024, "process_max_rss"


@dataclass(frozen=True)
class Hardware:
    device_type: str
    device_name: str
    device_count: int
    cpu_model: str
    gpu_model: str


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(device: torch.device) -> Hardware:
    """What ran the job. Training uses one device, so device-hours = wall hours x 1."""
    cpu = cpu_model()
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else ""
    name = gpu if device.type == "cuda" else f"{cpu} ({torch.get_num_threads()} threads)"
    return Hardware(device.type, name, 1, cpu, gpu)
