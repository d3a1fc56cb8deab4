"""The energy of a run's training region, in joules, from the best source the machine has, flagged:

- `counter`: a hardware energy counter read at the start and the end of each timed region (never per step, so
  the reading costs nothing on the hot path): NVIDIA's NVML total-energy counter of the run's GPU (millijoules
  since the driver loaded; Volta and later), or for a CPU run Linux RAPL's package counters
  (/sys/class/powercap/intel-rapl:N/energy_uj, wrap-around handled) where they are readable;
- `estimated`: where no counter is readable (most VMs, this project's CI): a power model, the process's CPU time
  (user + system, all threads) x `watts_per_core` (bench.toml `[energy]`, default 10 W: a server core's share of
  its package TDP). An estimate is never compared with a counter's figure.

Why the counters are read directly rather than through CodeCarbon or Zeus: both read these same counters (Zeus:
NVML's total-energy counter; CodeCarbon: RAPL, and NVML power samples) but add a sampling thread or a heavy
dependency; bench only needs two reads around a region it already delimits, and `nvidia-ml-py` (NVIDIA's own
bindings) is the one dependency for GPUs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

POWERCAP = Path("/sys/class/powercap")


@dataclass(frozen=True)
class Energy:
    """What a run's training consumed: joules, `counter` or `estimated`, and the meter that said so."""

    joules: float
    source: str
    meter: str


class Meter(Protocol):
    source: str
    name: str

    def read(self) -> float:
        """Joules consumed so far (a cumulative count; only differences mean anything)."""


class NvmlMeter:
    source = "counter"

    def __init__(self, nvml, handle, name: str):
        self.nvml, self.handle, self.name = nvml, handle, f"nvml:{name}"

    def read(self) -> float:
        return self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle) / 1000.0  # millijoules


class RaplMeter:
    """The sum of RAPL's package zones, each unwrapped at its `max_energy_range_uj`."""

    source = "counter"

    def __init__(self, zones: list[Path]):
        self.zones = zones
        self.name = "rapl:" + "+".join((zone / "name").read_text().strip() for zone in zones)
        self._ranges = [int((zone / "max_energy_range_uj").read_text()) for zone in zones]
        self._last = [self._raw(zone) for zone in zones]
        self._wraps = [0] * len(zones)

    @staticmethod
    def _raw(zone: Path) -> int:
        return int((zone / "energy_uj").read_text())

    def read(self) -> float:
        total = 0
        for i, zone in enumerate(self.zones):
            raw = self._raw(zone)
            if raw < self._last[i]:  # the counter wrapped since the last read
                self._wraps[i] += 1
            self._last[i] = raw
            total += raw + self._wraps[i] * self._ranges[i]
        return total / 1e6


class CpuTimeEstimate:
    """The power model: this process's CPU seconds x watts per busy core."""

    source = "estimated"

    def __init__(self, watts_per_core: float):
        self.watts_per_core = watts_per_core
        self.name = f"cpu-time x {watts_per_core:g} W/core"

    def read(self) -> float:
        times = os.times()
        return (times.user + times.system) * self.watts_per_core


def nvml_meter(index: int, uuid: str | None = None, nvml=None) -> NvmlMeter | None:
    """The NVML counter of GPU `index` (found by its UUID when given, which survives CUDA_VISIBLE_DEVICES
    renumbering), or None when NVML, the GPU or its energy counter is not there."""
    if nvml is None:
        try:
            import pynvml as nvml
        except ImportError:
            return None
    try:
        nvml.nvmlInit()
        try:
            handle = nvml.nvmlDeviceGetHandleByUUID(uuid) if uuid else nvml.nvmlDeviceGetHandleByIndex(index)
        except nvml.NVMLError:  # a UUID NVML does not know (a MIG slice, say): the index
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
        nvml.nvmlDeviceGetTotalEnergyConsumption(handle)  # not supported before Volta: raises
        name = nvml.nvmlDeviceGetName(handle)
    except nvml.NVMLError:
        return None
    return NvmlMeter(nvml, handle, name.decode() if isinstance(name, bytes) else name)


def rapl_meter(root: Path = POWERCAP) -> RaplMeter | None:
    """RAPL's package zones (`intel-rapl:N`, also AMD's on recent kernels; sub-zones left out: they are inside
    their package), or None when there are none or they are not readable (usually root only)."""
    zones = sorted(p for p in root.glob("intel-rapl:*") if p.name.count(":") == 1)
    if not zones:
        return None
    try:
        return RaplMeter(zones)
    except (OSError, ValueError):
        return None


class EnergyGauge:
    """Accumulates a meter's joules over start/stop regions, alongside the training clock."""

    def __init__(self, meter: Meter | None):
        self.meter = meter
        self.joules = 0.0
        self._started: float | None = None

    def start(self) -> None:
        if self.meter is not None:
            self._started = self.meter.read()

    def stop(self) -> None:
        if self.meter is not None and self._started is not None:
            self.joules += self.meter.read() - self._started
            self._started = None

    def so_far(self) -> float | None:
        """Joules over the regions closed so far (a dev-curve point's energy); None without a meter."""
        return None if self.meter is None else self.joules

    def energy(self) -> Energy | None:
        """None when nothing could be measured or estimated (a GPU without NVML)."""
        if self.meter is None:
            return None
        return Energy(self.joules, self.meter.source, self.meter.name)
