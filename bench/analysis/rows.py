"""The leaderboard's row shape: one typed record per strategy, read by the report, the gate and the dashboard.

Typed so that a renamed or missing field is an AttributeError at the reader, not a KeyError in one format
of one command. `Row.to_json` is the export's format (the keys and their order are a contract with files
written by earlier versions, which `check --against` reads back through `Row.from_json`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, make_dataclass
from typing import Any

from bench.metrics import METRICS
from bench.results import columns as result_columns


@dataclass(frozen=True)
class Interval:
    """A confidence interval; exported as a two-element list."""

    lo: float
    hi: float

    def to_json(self) -> list[float]:
        return [self.lo, self.hi]

    @classmethod
    def from_json(cls, value: Any) -> Interval | None:
        return cls(value[0], value[1]) if isinstance(value, (list, tuple)) and len(value) == 2 else None


def bounds(interval: Interval | None) -> tuple[float | None, float | None]:
    """(lo, hi), or (None, None) where there is no interval: for readers that treat both alike."""
    return (None, None) if interval is None else (interval.lo, interval.hi)


@dataclass(frozen=True)
class Recommendation:
    """A cell's answer to "what should I use?": `kind` is "strategy" (non-inferior to the full baseline and better
    than training less), "equal-time" (none is: the cheapest cut-short baseline that is non-inferior) or "none";
    `strategy` the row it names, `time_reduction` its time saved vs the full baseline, `text` the sentence."""

    kind: str
    strategy: str | None
    time_reduction: float | None
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "strategy": self.strategy, "time_reduction": self.time_reduction, "text": self.text}

    @classmethod
    def from_json(cls, value: Any) -> Recommendation | None:
        if not isinstance(value, dict) or not isinstance(value.get("text"), str):
            return None
        return cls(str(value.get("kind")), value.get("strategy"), value.get("time_reduction"), value["text"])


@dataclass
class MetricResult:
    """One metric of one row: mean over seeds and queries, and the paired difference from the baseline."""

    mean: float | None = None
    ci: Interval | None = None
    delta: float | None = None
    delta_ci: Interval | None = None

    def to_json(self, name: str) -> dict[str, Any]:
        return {name: self.mean, f"{name}_ci": _json(self.ci), f"{name}_delta": self.delta,
                f"{name}_delta_ci": _json(self.delta_ci)}

    @classmethod
    def from_json(cls, name: str, data: dict[str, Any]) -> MetricResult:
        return cls(data.get(name), Interval.from_json(data.get(f"{name}_ci")), data.get(f"{name}_delta"),
                   Interval.from_json(data.get(f"{name}_delta_ci")))


@dataclass(kw_only=True)
class Analysed:
    """The fields of a row that the analysis computes; `Row` adds the catalogue's quantities to them
    (bench.results.columns: those with a `row` aggregate), so a new result column reaches the row by itself."""

    strategy: str  # the label: name plus parameters, e.g. "layer-drop(count=2)"
    name: str
    params: dict[str, Any]
    suite: str
    task: str
    model: str
    train_fraction: float
    device: str
    device_name: str | None
    runs: int
    seeds: list[int]
    time_reduction: float | None
    time_reduction_ci: Interval | None
    headline_metric: str
    measured_speedup: float | None
    efficiency: float | None
    metrics: dict[str, MetricResult]  # keyed by metric name, in METRICS order
    verdict: str | None
    target_reached: str
    time_to_target_seconds: float | None
    time_to_target_reduction: float | None
    # Added after the first export (appended to it, so older files lack them, which `missing` does not count):
    # the time reduction from paired per-step seconds with bursts trimmed (bench.analysis.timing); None where
    # either side has no step times (runs stored before bench kept them, or a strategy that does not train).
    robust_time_reduction: float | None = None
    robust_time_reduction_ci: Interval | None = None
    # Why an inconclusive verdict is still open: "seed" (more seeds would settle it, `seeds_needed` in all, an
    # estimate) or "query" (the fixed test set's noise alone reaches the margin: more test queries or a wider
    # margin, not more seeds); None for a decided verdict (bench.analysis.sequential).
    limit: str | None = None
    seeds_needed: int | None = None
    query_half_width: float | None = None  # the headline interval's part that no number of seeds shrinks
    # Training throughput from the FLOP model and real token counts, and this machine's measured dense-matmul
    # peak (once per hardware fingerprint): their ratio is how close the loop runs to the physical limit.
    achieved_flops: float | None = None
    peak_flops: float | None = None
    # Devices (ranks) each run trained on: a cell holds one count, so runs on 2 ranks are never compared with a
    # 1-rank baseline; `scaling` compares the counts.
    devices: int | None = None
    # Test pairs behind the exact-match metrics (real reply on the whitelist) and the intent metrics (intent on the
    # whitelist).
    exact_pairs: int | None = None
    intent_pairs: int | None = None
    # The headline difference's variance parts (seed, query, seed-by-query; bench.analysis.power plans from them).
    noise_seed: float | None = None
    noise_query: float | None = None
    noise_residual: float | None = None
    noise_queries: int | None = None
    # The training energy's (`energy_joules`, `energy_source`: mean over seeds, None where a seed has none or the
    # seeds' sources differ) paired reduction vs the baseline, only where both sides share one source (an estimate
    # is never compared with a counter); and the joules spent until the dev headline reached the target.
    energy_reduction: float | None = None
    energy_reduction_ci: Interval | None = None
    energy_to_target_joules: float | None = None
    # The FLOP model's ideal speedup (mean over seeds of each run's ledger figure), beside `ideal_speedup`, which
    # runs since step prices were measured take from them (bench/model/prices.py); the same for older runs.
    flop_ideal_speedup: float | None = None
    # Better than training less? The headline difference from the row's equal-time control (the baseline cut to the
    # same training time, same seeds; bench.analysis.equal_time), higher is better, its interval, the second verdict
    # and the control's mean training seconds; None where no control ran. `equal_time_ratio`: the control's training
    # seconds over the strategy's, median over the paired seeds (the budgets match within 5% when 0.95-1.05).
    # `equal_time_noise`: that difference's
    # variance parts [seed, query, residual, queries], which `bench plan` forecasts from.
    equal_time_delta: float | None = None
    equal_time_low: float | None = None
    equal_time_high: float | None = None
    equal_time_verdict: str | None = None
    equal_time_seconds: float | None = None
    equal_time_ratio: float | None = None
    equal_time_noise: list[float] | None = None
    # What to use in this row's cell (bench.analysis.recommend), the same on every row of the cell.
    recommendation: Recommendation | None = None


class _RowMethods:
    """What a row answers beyond its fields."""

    @property
    def headline_time_reduction(self) -> tuple[float | None, Interval | None, bool]:
        """(reduction, its CI, whether it is the robust one): the robust figure where there is one, else the
        wall-clock one. The report, the gate and the dashboard lead with it."""
        if self.robust_time_reduction is not None:
            return self.robust_time_reduction, self.robust_time_reduction_ci, True
        return self.time_reduction, self.time_reduction_ci, False

    @property
    def peak_share(self) -> float | None:
        """Achieved training FLOP/s as a share of the machine's matmul peak."""
        if self.achieved_flops is None or not self.peak_flops:
            return None
        return self.achieved_flops / self.peak_flops

    @property
    def headline(self) -> MetricResult:
        return self.metrics[self.headline_metric]

    def metric(self, name: str) -> MetricResult:
        return self.metrics[name]

    def to_json(self) -> dict[str, Any]:
        """The export's row: each field in order, a metric as its four keys, intervals as [lo, hi]."""
        out: dict[str, Any] = {}
        for name in _FIELDS:
            if name == "metrics":
                for metric, result in self.metrics.items():
                    out.update(result.to_json(metric))
            else:
                out[name] = _json(getattr(self, name))
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        """A row from an export (any version); a key it lacks reads as None and is listed in `missing`."""
        values = {name: data.get(name) for name in _FIELDS if name != "metrics"}
        for name in ("time_reduction_ci", "robust_time_reduction_ci", "energy_reduction_ci"):
            values[name] = Interval.from_json(values[name])
        values["recommendation"] = Recommendation.from_json(values["recommendation"])
        metrics = {metric: MetricResult.from_json(metric, data) for metric in METRICS}
        return cls(**values, metrics=metrics,
                   missing=frozenset(key for key in JSON_KEYS if key not in data and key not in APPENDED_KEYS))


# The export's order, a contract with files earlier versions wrote (`check --against` reads them back): the first
# export's fields, then those appended since; a catalogue column on the row that neither names is appended last.
FIRST_EXPORT = ("strategy", "name", "params", "suite", "task", "model", "train_fraction", "device", "device_name",
                "runs", "seeds", "train_seconds", "time_reduction", "time_reduction_ci", "device_hours",
                "eval_seconds", "samples_per_second", "peak_memory_bytes", "total_params", "trainable_params",
                "layers", "test_pairs", "test_left_out", "headline_metric", "ideal_speedup", "measured_speedup",
                "efficiency", "metrics", "verdict", "target_reached", "time_to_target_seconds",
                "time_to_target_reduction")
APPENDED = ("robust_time_reduction", "robust_time_reduction_ci", "limit", "seeds_needed", "query_half_width",
            "achieved_flops", "peak_flops", "devices", "exact_pairs", "intent_pairs", "train_pairs", "steps",
            "noise_seed", "noise_query", "noise_residual", "noise_queries", "energy_joules", "energy_source",
            "energy_reduction", "energy_reduction_ci", "energy_to_target_joules", "flop_ideal_speedup",
            "equal_time_delta", "equal_time_low", "equal_time_high", "equal_time_verdict", "equal_time_seconds",
            "equal_time_noise", "recommendation", "equal_time_ratio")


def _row_type() -> type:
    """`Analysed`'s fields and the catalogue's row quantities (None by default), in the export's order."""
    own = {f.name: f for f in fields(Analysed)}
    layout = FIRST_EXPORT + APPENDED
    layout += tuple(column.name for column in result_columns.ON_ROW if column.name not in layout)
    specs: list[tuple[str, Any, Any]] = []
    for name in layout:
        if name in own:
            mine = own[name]
            specs.append((name, mine.type, field(default=mine.default, default_factory=mine.default_factory)))
        else:
            specs.append((name, f"{result_columns.BY_NAME[name].kind.__name__} | None", field(default=None)))
    specs.append(("missing", "frozenset[str]", field(default=frozenset(), repr=False, compare=False)))
    doc = ("One strategy of one cell, compared with the baseline run under the same fingerprint, paired by seed. "
           "`missing`: keys a row read by `from_json` lacked (filled with None); the gate names them instead of "
           "guessing.")
    return make_dataclass("Row", specs, bases=(_RowMethods,), kw_only=True,
                          namespace={"__doc__": doc, "__module__": __name__})


Row = _row_type()


@dataclass(frozen=True)
class Scaling:
    """One strategy trained on `devices` ranks against the same strategy on one: speedup over 1 rank and
    scaling efficiency (speedup / devices), from mean training seconds over the seeds both have."""

    strategy: str
    devices: int
    seeds: int
    seconds: float
    one_device_seconds: float

    @property
    def speedup(self) -> float:
        return self.one_device_seconds / self.seconds

    @property
    def efficiency(self) -> float:
        return self.speedup / self.devices


@dataclass(frozen=True)
class Excluded:
    """A completed run left out of the comparison, and why."""

    run_id: str
    strategy: str
    seed: int
    suite: str
    task: str
    model: str
    reason: str


@dataclass(frozen=True)
class Unfinished:
    """A run that is not a result: still running, abandoned (its process died or went silent) or failed."""

    run_id: str
    strategy: str
    seed: int
    suite: str
    state: str
    where: str  # host:pid of the process that ran it
    error: str


def _json(value: Any) -> Any:
    return value.to_json() if isinstance(value, (Interval, Recommendation)) else value


_FIELDS = tuple(f.name for f in fields(Row) if f.name != "missing")


def _keys() -> tuple[str, ...]:
    keys: list[str] = []
    for name in _FIELDS:
        keys += [key for metric in METRICS for key in MetricResult().to_json(metric)] if name == "metrics" else [name]
    return tuple(keys)


JSON_KEYS = _keys()  # the export's keys, in order
APPENDED_KEYS = _FIELDS[_FIELDS.index(APPENDED[0]):]
"""Keys appended after the first export: optional (None when absent), so an older file still reads whole."""
