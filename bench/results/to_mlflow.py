"""Completed runs logged as MLflow runs, through MLflow's own client, for teams that already track experiments
there: params (strategy and its parameters, seed, model, task, settings hash), metrics (relevance, and each result
column that names an MLflow metric in bench.results.columns: train seconds, device-hours, energy...), the dev curve
as metric histories, and tags (fingerprints, status, bench's run id).

Exporting twice logs nothing twice: each MLflow run carries `bench.run_id`, and `bench.export = complete` once all
of it is logged; a run left half-logged by an interrupted export is deleted and logged again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from bench.errors import BenchError, first_line
from bench.metrics import METRICS
from bench.results import columns as result_columns
from bench.results.models import Run
from bench.results.store import Store

RUN_ID_TAG = "bench.run_id"
COMPLETE_TAG = "bench.export"
FINGERPRINTS = ("task_hash", "model_hash", "settings_hash", "config_hash", "hardware_hash")


@dataclass(frozen=True)
class Exported:
    logged: int
    already: int
    redone: int
    experiment: str
    tracking_uri: str

    def summary(self) -> str:
        redone = f", {self.redone} half-logged run(s) logged again" if self.redone else ""
        return (f"logged {self.logged} runs to MLflow experiment {self.experiment!r} at {self.tracking_uri} "
                f"({self.already} already there{redone})")


def _client_class():
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise BenchError("MLflow is not installed; run `pip install -e \".[mlflow]\"` (an optional extra) to "
                         "export with --to mlflow") from None
    return MlflowClient


def _millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.replace(tzinfo=UTC).timestamp() * 1000)


def _params(run: Run) -> dict[str, str]:
    params = {"strategy": run.strategy, "label": run.label, "seed": run.seed, "model": run.model, "task": run.task,
              "suite": run.suite, "train_fraction": run.train_fraction, "train_pairs": run.train_pairs,
              "settings_hash": run.settings_hash, "device": f"{run.device_type} x{run.device_count}"}
    params.update({f"param.{key}": value for key, value in sorted((run.params or {}).items())})
    return {key: str(value)[:500] for key, value in params.items()}


def _tags(run: Run) -> dict[str, str]:
    tags = {RUN_ID_TAG: run.id, "bench.status": run.status, "bench.device_name": run.device_name,
            "bench.git_commit": run.git_commit, "bench.git_dirty": str(run.git_dirty),
            "bench.energy_source": run.energy_source or "not measured", "bench.headline_metric": run.headline_metric,
            "mlflow.runName": f"{run.label} seed {run.seed}"}
    tags.update({f"bench.{name}": getattr(run, name) for name in FINGERPRINTS})
    return {key: str(value) for key, value in tags.items()}


def _metrics(run: Run, curve: list, stamp: int) -> list:
    from mlflow.entities import Metric

    values = {name: getattr(run, name) for name in METRICS}
    values.update({column.mlflow: getattr(run, column.name) for column in result_columns.MLFLOW})
    metrics = [Metric(name, float(value), stamp, 0) for name, value in values.items() if value is not None]
    for point in curve:  # the dev curve: one history per curve metric, stepped by training step
        at = stamp + int(point.seconds * 1000)
        metrics += [Metric("dev_headline", point.headline, at, point.step),
                    Metric("dev_mrr", point.mrr, at, point.step),
                    Metric("dev_intent_recall_at_3", point.intent_recall_at_3, at, point.step),
                    Metric("dev_train_seconds", point.seconds, at, point.step)]
        if point.joules is not None:
            metrics.append(Metric("dev_energy_joules", point.joules, at, point.step))
    return metrics


def export(store: Store, tracking_uri: str, experiment: str = "bench", suite: str | None = None) -> Exported:
    """Log every completed run (of `suite`, if given) not yet in `experiment`; returns what was done."""
    client_class = _client_class()  # MLflow is optional: imported only once it is known to be there
    from mlflow.entities import Param, RunTag
    from mlflow.exceptions import MlflowException

    try:
        client = client_class(tracking_uri=tracking_uri)
        found = client.get_experiment_by_name(experiment)
        experiment_id = found.experiment_id if found else client.create_experiment(experiment)
    except MlflowException as exc:
        raise BenchError(f"cannot use MLflow tracking URI {tracking_uri!r}: {first_line(exc)}; pass --tracking-uri "
                         "sqlite:///FILE.db, file:///FOLDER or http://HOST:PORT") from None
    done, half = set(), []
    token = None
    while True:
        page = client.search_runs([experiment_id], filter_string=f"tags.`{RUN_ID_TAG}` != ''", max_results=1000,
                                  page_token=token)
        for existing in page:
            if existing.data.tags.get(COMPLETE_TAG) == "complete":
                done.add(existing.data.tags[RUN_ID_TAG])
            else:
                half.append(existing.info.run_id)
        token = page.token
        if not token:
            break
    for run_id in half:
        client.delete_run(run_id)
    runs = [run for run in store.runs(status="completed", suite=suite) if run.id not in done]
    curves = store.curves([run.id for run in runs])
    for run in runs:
        started = _millis(run.started_at)
        logged = client.create_run(experiment_id, start_time=started, tags=_tags(run),
                                   run_name=f"{run.label} seed {run.seed}")
        metrics = _metrics(run, curves.get(run.id, []), started)
        params = [Param(key, value) for key, value in _params(run).items()]
        for begin in range(0, max(len(metrics), 1), 1000):  # MLflow takes at most 1,000 metrics a batch
            client.log_batch(logged.info.run_id, metrics=metrics[begin:begin + 1000],
                             params=params if begin == 0 else [])
        client.log_batch(logged.info.run_id, tags=[RunTag(COMPLETE_TAG, "complete")])
        client.set_terminated(logged.info.run_id, "FINISHED", end_time=_millis(run.ended_at))
    return Exported(len(runs), len(done), len(half), experiment, tracking_uri)
