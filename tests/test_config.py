"""bench.toml: frozen dataclasses, unknown keys rejected, strategies parsed in one place."""

import dataclasses

import pytest

from bench.config import StrategySpec, config_from_dict, load_config, parse_strategy
from bench.errors import BenchError


def test_repository_bench_toml_loads_with_its_suites():
    config = load_config("bench.toml")
    suite = config.suite(None)
    assert suite.name == "default" and suite.task == "email" and len(suite.seeds) == 3
    assert {s.name for s in suite.strategies} >= {"zero-shot", "baseline", "layer-drop", "layer-freeze",
                                                  "drop-freeze"}
    with pytest.raises(dataclasses.FrozenInstanceError):
        suite.task = "sgd"


def test_suite_train_overrides_merge_over_global_train():
    config = config_from_dict({"train": {"batch_size": 8, "epochs": 2},
                               "suites": {"s": {"train": {"epochs": 3}}}})
    train = config.suite("s").train
    assert train.batch_size == 8 and train.epochs == 3.0


@pytest.mark.parametrize("data, message", [
    ({"trian": {}}, "unknown key 'trian' in bench.toml (did you mean 'train'?)"),
    ({"train": {"batch_sise": 3}}, "unknown key 'batch_sise' in train (did you mean 'batch_size'?)"),
    ({"train": {"batch_size": "big"}}, "train.batch_size must be int, got 'big'"),
    ({"suites": {"s": {"seed": [1]}}}, "unknown key 'seed' in suites.s (did you mean 'seeds'?)"),
    ({"stats": {"margin": True}}, "stats.margin must be float, got True"),
    ({"suites": {"s": {"strategies": [3]}}}, "a strategy must be a name or a table"),
    ({"train": {"precision": "fp16"}}, "train.precision must be one of fp32, bf16, got 'fp16'"),
    ({"train": {"batch_size": 1}}, "train.batch_size must be at least 2 (in-batch negatives), got 1"),
    ({"train": {"unpad": "yes"}}, "train.unpad must be bool, got 'yes'"),
    ({"suites": {"s": {"train_sizes": [512, 0]}}}, "suites.s.train_sizes must be distinct pair counts of 1 or more"),
    ({"suites": {"s": {"train_sizes": [512, 512]}}}, "suites.s.train_sizes must be distinct pair counts"),
    ({"suites": {"s": {"train_sizes": ["big"]}}}, "suites.s.train_sizes must be int, got 'big'"),
    ({"suites": {"s": {"train_sizes": [512], "train_fractions": [0.5]}}}, "both train_sizes and train_fractions"),
    ({"suites": {"s": {"train_sizes": [4096], "train": {"max_train_pairs": 1024}}}}, "drop max_train_pairs"),
])
def test_bad_config_names_the_key(data, message):
    with pytest.raises(BenchError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        config_from_dict(data)


def test_strategy_forms_are_equivalent():
    text = parse_strategy("layer-drop:which=bottom,count=3", "x")
    table = parse_strategy({"name": "layer-drop", "count": 3, "which": "bottom"}, "x")
    assert text == table == StrategySpec("layer-drop", (("count", 3), ("which", "bottom")))
    assert text.label == "layer-drop(count=3, which=bottom)"


def test_unknown_suite_and_task_suggest_a_name():
    config = config_from_dict({"suites": {"default": {}}})
    with pytest.raises(BenchError, match="did you mean 'default'"):
        config.suite("defualt")
    with pytest.raises(BenchError, match="did you mean 'email'"):
        config.task("emial")


def test_missing_explicit_config_file_is_an_error(tmp_path):
    with pytest.raises(BenchError, match="not found"):
        load_config(tmp_path / "nope.toml")
