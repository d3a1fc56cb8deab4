"""Tasks: whitelist rules, left-out test pairs, fixed subsets, data errors with file and line."""

import json
import random

import numpy as np
import pytest

from bench.config import TaskConfig
from bench.errors import BenchError
from bench.tasks.task import Pair, build_task, holdout, load_task, read_jsonl
from bench.tasks.text import normalise


def test_normalise():
    assert normalise("  Sounds   GOOD, thanks!! ") == "sounds good, thanks"
    assert normalise("OK.?!") == "ok"


def test_whitelist_intents_and_left_out_pairs():
    train = [Pair("m1", "Yes!", "affirm"), Pair("m2", "yes", "affirm"), Pair("m3", "yes.", "other"),
             Pair("m4", "No thanks", "negate"), Pair("m5", "Maybe", "unsure")]
    test = [Pair("t1", "YES", "affirm"), Pair("t2", "no thanks!", "negate"), Pair("t3", "never", "negate"),
            Pair("t4", "dunno", "puzzled"), Pair("t5", "yes", "other")]
    task = build_task("t", "1", "h", "mrr", train, [], test)
    # by frequency (ties by normalised text), shown in the most common surface form (ties: smallest)
    assert task.whitelist == ("Yes!", "Maybe", "No thanks")
    assert task.whitelist_intents == ("affirm", "unsure", "negate")  # most frequent intent wins
    assert task.intents == ("affirm", "negate", "unsure")
    # t3's reply is not on the whitelist but its intent is: it counts for the intent metrics only; t5's reply is
    # on it but its intent ("other") is not: exact metrics only; t4 has neither and is left out
    assert task.test_left_out == 1 and [p.message for p in task.test.pairs] == ["t1", "t2", "t3", "t5"]
    assert task.test.gold.tolist() == [0, 2, -1, 0] and task.test.intent.tolist() == [0, 1, 1, -1]
    assert (task.test.exact_count, task.test.intent_count) == (3, 3)
    relevance = task.intent_relevance(task.test)
    assert relevance.tolist() == [[True, False, False], [False, False, True], [False, False, True]]
    capped = build_task("t", "1", "h", "mrr", train, [], test, whitelist_size=1)
    assert capped.whitelist == ("Yes!",) and capped.test_left_out == 3  # only t1 and t5 still count


def test_training_subset_never_changes_whitelist_or_test(task_dir):
    task = load_task(TaskConfig(name="toy", path=str(task_dir)))
    subset = task.train_subset(0.25)
    assert len(subset) == 60 and set(subset) <= set(task.train)
    assert task.train_subset(0.25) == subset and task.train_subset(1.0, max_pairs=10) != subset
    assert len(task.train_subset(1.0, max_pairs=10)) == 10


def test_email_task_is_fixed_and_large_enough():
    task = load_task(TaskConfig(name="email", kind="email"))
    assert len(task.train) >= 5000 and len(task.dev) >= 1 and len(task.test) + task.test_left_out >= 1000
    assert len(set(task.whitelist_intents)) >= 30 and len(task.whitelist) >= 150
    again = load_task(TaskConfig(name="email", kind="email"))
    assert again.data_hash == task.data_hash and np.array_equal(again.test.gold, task.test.gold)


def test_intent_defaults_to_the_normalised_reply(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"message": "hi", "reply": "Sure thing!"}) + "\n")
    assert read_jsonl(path) == [Pair("hi", "Sure thing!", "sure thing")]


@pytest.mark.parametrize("line, message", [
    ("{not json", r"train.jsonl:2: not valid JSON"),
    ('{"message": "hi"}', r"train.jsonl:2: 'message' and 'reply' must be non-empty strings"),
    ('{"message": "hi", "reply": "ok", "intent": 3}', r"train.jsonl:2: 'intent' must be a string"),
    ("[1, 2]", r"train.jsonl:2: expected a JSON object"),
])
def test_malformed_line_names_file_and_line(tmp_path, line, message):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"message": "a", "reply": "b"}) + "\n" + line + "\n")
    with pytest.raises(BenchError, match=message):
        read_jsonl(path)


def test_missing_task_folder_and_sgd_path_explain_the_fix(tmp_path):
    with pytest.raises(BenchError, match="task folder .* not found"):
        load_task(TaskConfig(name="x", path=str(tmp_path / "missing")))
    with pytest.raises(BenchError, match="python -m bench data sgd"):
        load_task(TaskConfig(name="sgd", kind="sgd", path=str(tmp_path)))


def test_unreadable_task_files_fail_in_one_line(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(json.dumps({"message": "a", "reply": "b"}).encode() + b"\n\xff\xfe oops\n")
    with pytest.raises(BenchError, match=r"train\.jsonl:2: not UTF-8 text") as err:
        read_jsonl(path)
    assert "\n" not in str(err.value)
    folder = tmp_path / "task"
    (folder / "train.jsonl").mkdir(parents=True)
    (folder / "test.jsonl").write_text(json.dumps({"message": "a", "reply": "b"}) + "\n")
    with pytest.raises(BenchError, match=r"train\.jsonl: is a folder"):
        load_task(TaskConfig(name="x", path=str(folder)))
    with pytest.raises(BenchError, match=r"missing\.jsonl: no such file; a task folder needs train\.jsonl"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_holdout_is_a_fixed_share_keyed_by_the_task_name():
    keys = [f"dialogue{i}" for i in range(100)]
    held = holdout(keys, 0.1, "toy")
    order = list(keys)
    random.Random("holdout:toy").shuffle(order)
    assert held == set(order[:10]) == holdout(keys, 0.1, "toy")  # the shuffle both task kinds have always used
    assert held != holdout(keys, 0.1, "other") and len(holdout(keys, 0.0, "toy")) == 1
