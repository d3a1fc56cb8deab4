"""One registry kind for strategies, task kinds and models: a plugin module adds a task and a model exactly as the
built-ins are added, bench.toml runs a suite on them, an entry-point package is found like one named in
`plugins`, and an unknown name is a one-line error with a did-you-mean."""

from __future__ import annotations

import re
import sqlite3
import sys
from importlib import metadata

import pytest

from bench import kinds
from bench.config import TaskConfig
from bench.errors import BenchError
from bench.model.pretrained import MODELS, load_pretrained
from bench.registry import REGISTRY, load_plugins
from bench.tasks.task import TASKS, load_task
from tests.support.cli import ROOT
from tests.support.suites import small_suite, write_config

DOC = ROOT / "docs" / "tasks-and-models.md"
PLUGIN = re.search(r"^# Add your own task or model\n.*?^```python\n(.*?)^```", DOC.read_text(), re.S | re.M).group(1)
"""The plugin module the documentation shows, run as it is written there."""


@pytest.fixture
def plugin(tmp_path, monkeypatch, request) -> str:
    """The plugin module's name, importable; what it registers is forgotten after the test."""
    name = f"bench_test_plugin_{request.node.name.replace('[', '_').replace(']', '_').replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    for kind in (REGISTRY, TASKS, MODELS):
        monkeypatch.setattr(kind, "_entries", dict(kind._entries))
    request.addfinalizer(lambda: sys.modules.pop(name, None))
    return name


def test_a_plugin_module_adds_a_task_and_a_model_that_load(plugin):
    assert "keywords" not in TASKS and "small-bert" not in MODELS
    load_plugins((plugin,))
    task = load_task(TaskConfig(name="mine", kind="keywords"), dev_eval_pairs=0)
    assert (len(task.train), len(task.dev), len(task.test)) == (32, 8, 8)
    assert task.whitelist == ("reply 0", "reply 1", "reply 2", "reply 3") and task.test.exact_count == 8
    loaded = load_pretrained("small-bert:hidden=16")
    assert loaded.name == "small-bert:hidden=16" and loaded.encoder.config.hidden_size == 16
    assert len(loaded.encoder.encoder.layer) == 2
    assert load_pretrained("small-bert:hidden=16").weights_hash == loaded.weights_hash
    assert TASKS.get("keywords").description == "Replies named by a keyword in the message."


def test_a_suite_runs_on_a_plugins_task_and_model(plugin, tmp_path, capsys):
    from bench.cli import main

    document = small_suite("mine", strategies=["baseline", "layer-freeze:count=1"], seeds=1,
                           models=["small-bert"], train={"batch_size": 8, "dev_eval_pairs": 8})
    config = write_config(tmp_path / "bench.toml", {"device": "cpu", "plugins": [plugin], **document,
                                                     "stats": {"bootstrap_samples": 50}},
                          '[tasks.mine]\nkind = "keywords"\n')
    db = tmp_path / "r.db"
    assert main(["--config", str(config), "run", "--suite", "t", "--quiet", "--db", f"sqlite:///{db}"]) == 0
    with sqlite3.connect(db) as conn:
        runs = sorted(conn.execute("select strategy, model, status from runs").fetchall())
    conn.close()
    assert runs == [("baseline", "small-bert", "completed"), ("layer-freeze", "small-bert", "completed")]
    assert "mine" in capsys.readouterr().out  # the board, for the plugin's task


def test_an_entry_point_package_is_found_like_a_plugins_module(plugin, monkeypatch):
    real = metadata.entry_points

    def entry_points(group: str):
        found = list(real(group=group))
        if group == "bench.models":
            found.append(metadata.EntryPoint(name="mine", value=plugin, group=group))
        return found

    monkeypatch.setattr(kinds.metadata, "entry_points", entry_points)
    load_plugins()
    assert "small-bert" in MODELS and "keywords" in TASKS  # one import registers both kinds


def test_unknown_names_and_duplicates_are_rejected_the_same_way_for_every_kind(plugin):
    with pytest.raises(BenchError, match=r"unknown task kind 'jsnl' \(did you mean 'jsonl'\?\); use one of email, "
                                         r"jsonl, sgd \("):
        load_task(TaskConfig(name="mine", kind="jsnl", path="x"))
    load_plugins((plugin,))
    with pytest.raises(BenchError, match=r"^tasks.mine.kind: unknown task kind 'keywrds' \(did you mean 'keywords'"):
        load_task(TaskConfig(name="mine", kind="keywrds"))
    with pytest.raises(BenchError, match=r"unknown model 'small-bret' \(did you mean 'small-bert'\?\)"):
        MODELS.get("small-bret")
    for kind, name in ((TASKS, "keywords"), (MODELS, "small-bert"), (REGISTRY, "baseline")):
        with pytest.raises(ValueError, match=f"{kind.noun} '{name}' is already registered"):
            kind.register(name)(kind.get(name).obj)
    with pytest.raises(ValueError, match="may not hold ':'"):
        MODELS.register("two:parts")(lambda spec: spec)
