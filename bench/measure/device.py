"""Devices: which one a run uses, its energy meter, its peak memory, and what it is (for the hardware
fingerprint)."""

from __future__ import annotations

import platform
import resource

import torch

from bench.errors import BenchError
from bench.measure.energy import CpuTimeEstimate, Meter, nvml_meter, rapl_meter
from bench.ranks import distributed


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


def describe(device: torch.device) -> dict[str, str | int]:
    """What ran the job, as the fields of `bench.results.identity.Hardware`. `device_count` is the number of ranks
    (one device each), so a 2-rank run never shares a hardware fingerprint with a 1-rank one, and device-hours =
    wall hours x device_count."""
    cpu = cpu_model()
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else ""
    name = gpu if device.type == "cuda" else f"{cpu} ({torch.get_num_threads()} threads)"
    return {"device_type": device.type, "device_name": name, "device_count": distributed.world_size(),
            "cpu_model": cpu, "gpu_model": gpu}
