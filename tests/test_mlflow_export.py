"""`bench export --to mlflow` logs each completed run into a real MLflow tracking store (SQLite-backed), read back
with MLflow's own client; a second export logs nothing twice, and a half-logged run is logged again."""

from __future__ import annotations

import pytest

from bench.results.store import Store
from tests.support.cli import assert_user_error, bench
from tests.support.stored import make_db

mlflow = pytest.importorskip("mlflow", reason="MLflow is an optional extra: pip install -e '.[mlflow]'")
pytestmark = pytest.mark.slow


def _runs(client, experiment: str):
    found = client.get_experiment_by_name(experiment)
    return client.search_runs([found.experiment_id], max_results=1000) if found else []


def test_every_completed_run_round_trips_through_mlflow_once(tmp_path):
    from mlflow.tracking import MlflowClient

    url = make_db(tmp_path / "results.db")
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    first = bench("export", "--to", "mlflow", "--tracking-uri", uri, "--experiment", "study", "--db", url)
    assert first.returncode == 0, first.stderr
    store = Store(url, read_only=True)
    completed = {run.id: run for run in store.runs()}
    assert f"logged {len(completed)} runs to MLflow experiment 'study'" in first.stdout

    client = MlflowClient(tracking_uri=uri)
    logged = _runs(client, "study")
    assert sorted(r.data.tags["bench.run_id"] for r in logged) == sorted(completed)
    for mlrun in logged:
        run = completed[mlrun.data.tags["bench.run_id"]]
        assert mlrun.info.status == "FINISHED" and mlrun.data.tags["bench.export"] == "complete"
        assert mlrun.data.params["strategy"] == run.strategy and mlrun.data.params["seed"] == str(run.seed)
        assert mlrun.data.params["model"] == run.model and mlrun.data.params["settings_hash"] == run.settings_hash
        assert all(mlrun.data.params[f"param.{k}"] == str(v) for k, v in run.params.items())
        assert mlrun.data.tags["bench.model_hash"] == run.model_hash and mlrun.data.tags["bench.status"] == "completed"
        assert mlrun.data.metrics["mrr"] == pytest.approx(run.mrr)
        assert mlrun.data.metrics["train_seconds"] == pytest.approx(run.train_seconds)
        assert mlrun.data.metrics["device_hours"] == pytest.approx(run.device_hours)
        curve = store.curves([run.id])[run.id]
        history = client.get_metric_history(mlrun.info.run_id, "dev_headline")
        assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == pytest.approx(
            [(p.step, p.headline) for p in curve])

    again = bench("export", "--to", "mlflow", "--tracking-uri", uri, "--experiment", "study", "--db", url)
    assert again.returncode == 0 and f"logged 0 runs to MLflow experiment 'study' at {uri} ({len(completed)} already" \
        in again.stdout
    assert len(_runs(client, "study")) == len(completed)

    # an export cut off half-way: a run tagged with bench's id but never marked complete is logged again, once
    victim = logged[0]
    client.set_tag(victim.info.run_id, "bench.export", "partial")
    redone = bench("export", "--to", "mlflow", "--tracking-uri", uri, "--experiment", "study", "--db", url)
    assert redone.returncode == 0 and "logged 1 runs" in redone.stdout and "1 half-logged run(s)" in redone.stdout
    final = _runs(client, "study")
    assert len(final) == len(completed) and all(r.data.tags["bench.export"] == "complete" for r in final)


def test_mlflow_export_input_errors_are_one_line(tmp_path):
    url = make_db(tmp_path / "results.db")
    assert_user_error(bench("export", "--to", "mlflow", "--db", url), "--tracking-uri")
    assert_user_error(bench("export", "--db", url), "--out FILE")
    assert_user_error(bench("export", "--to", "mlflow", "--tracking-uri", "nosuchscheme://x", "--db", url),
                      "cannot use MLflow tracking URI 'nosuchscheme://x'")
