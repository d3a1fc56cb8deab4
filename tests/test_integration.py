"""Integration on real components: the real SGD pairs and the real all-MiniLM-L6-v2 model."""

import pytest
import torch

from bench.analysis import leaderboard
from bench.config import StatsConfig, TaskConfig, config_from_dict
from bench.model.encoder import BiEncoder
from bench.model.pretrained import load_pretrained
from bench.results.store import Store
from bench.suite.runner import SuiteRun, run_suite
from bench.tasks.task import load_task
from tests.support.cli import SGD_DIR
from tests.support.models import TINY

needs_sgd = pytest.mark.skipif(not (SGD_DIR / "train.jsonl.gz").exists(),
                               reason=f"SGD pairs not found at {SGD_DIR} (the project's shared data folder)")


@needs_sgd
@pytest.mark.slow
def test_sgd_task_follows_the_whitelist_rules():
    task = load_task(TaskConfig(name="sgd", kind="sgd", path=str(SGD_DIR), whitelist_size=300), dev_eval_pairs=200)
    assert len(task.whitelist) == 300 and task.headline_metric == "intent_recall_at_3"
    assert len(task.test) + task.test_left_out == 17286  # the SGD dev split is the test split
    assert 0 < len(task.test) < 17286 and len(task.dev) == 200
    # the intent metrics count every pair whose intent is on the whitelist: several times the exact-match pairs
    assert task.test.intent_count > 4 * task.test.exact_count > 0
    assert all("+" in i or i.isupper() for i in task.whitelist_intents)
    assert len(task.train_subset(1.0, max_pairs=500)) == 500


@pytest.mark.slow
@needs_sgd
def test_sgd_suite_on_a_small_subset(tmp_path):
    config = config_from_dict({"tasks": {"sgd": {"path": str(SGD_DIR), "whitelist_size": 100}},
                               "suites": {"s": {"task": "sgd", "models": [TINY],
                                                "seeds": [0, 1], "strategies": ["baseline", "layer-freeze:count=1"],
                                                "train": {"max_train_pairs": 256, "batch_size": 32,
                                                          "curve_points": 2, "dev_eval_pairs": 50}}}})
    store = Store(f"sqlite:///{tmp_path}/sgd.db")
    run_suite(SuiteRun(config, config.suite("s"), store, show_progress=False))
    board = leaderboard.build(store, StatsConfig(bootstrap_samples=200), suite="s")
    rows = {row.strategy: row for row in board.rows}
    assert set(rows) == {"baseline", "layer-freeze(count=1)"}
    assert rows["baseline"].headline_metric == "intent_recall_at_3"
    assert rows["baseline"].test_pairs > 1000 and rows["baseline"].runs == 2
    assert rows["layer-freeze(count=1)"].verdict in {"non-inferior", "inferior", "inconclusive"}


@pytest.mark.minilm
def test_minilm_loads_offline_and_matches_its_own_forward():
    loaded = load_pretrained("all-MiniLM-L6-v2")
    assert loaded.encoder.config.num_hidden_layers == 6 and loaded.encoder.config.hidden_size == 384
    tokens = loaded.tokenizer(["Sounds good, see you then!", "Can we move the meeting to Friday?"],
                              padding=True, return_tensors="pt")
    model = BiEncoder(loaded.fresh_copy()).eval()
    with torch.no_grad():
        ours = model.encode_messages(tokens["input_ids"], tokens["attention_mask"])
        hidden = loaded.encoder(**tokens).last_hidden_state
    mask = tokens["attention_mask"].unsqueeze(-1).float()
    torch.testing.assert_close(ours, (hidden * mask).sum(1) / mask.sum(1), rtol=1e-4, atol=1e-4)


@pytest.mark.slow
@pytest.mark.minilm
def test_minilm_fine_tuning_beats_zero_shot_on_email(tmp_path):
    """A short MiniLM run on the built-in task: the fine-tuned baseline must beat the zero-shot floor."""
    config = config_from_dict({"suites": {"m": {
        "task": "email", "models": ["all-MiniLM-L6-v2"], "seeds": [0],
        "strategies": ["zero-shot", "baseline", "layer-drop:count=3"],
        "train": {"max_train_pairs": 640, "batch_size": 32, "curve_points": 1, "dev_eval_pairs": 50}}}})
    store = Store(f"sqlite:///{tmp_path}/m.db")
    run_suite(SuiteRun(config, config.suite("m"), store, show_progress=False))
    runs = {run.label: run for run in store.runs()}
    assert runs["baseline"].mrr > runs["zero-shot"].mrr
    assert runs["layer-drop(count=3)"].layers == 3
    assert runs["layer-drop(count=3)"].train_seconds < runs["baseline"].train_seconds
