"""Several ranks, one run: 2 gloo ranks on CPU give one process's loss and gradients on the global batch, and
`bench run --nproc 2` stores one run per cell (rank 0 only), with every rank's times, or fails it cleanly."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from contextlib import nullcontext
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from bench.cli import main
from bench.config import TrainConfig
from bench.model.encoder import BiEncoder
from bench.ranks import distributed
from bench.registry import REGISTRY, load_plugins
from bench.training.loop import train, train_step
from tests.support.models import TINY4 as TINY
from tests.support.models import encoded_pairs, tiny_bert
from tests.support.suites import small_suite
from tests.support.suites import write_config as write_config_file

STRATEGIES = ["baseline", "layer-drop:count=2", "layer-freeze:count=2", "progressive-freeze:count=2,t0=0.25",
              "stochastic-depth:p=0.5"]  # the last two act through per-step hooks (freezing, skipping) in training
BATCH = 8


class Recorder(torch.optim.SGD):
    """An optimizer that only keeps the gradients it is given (lr 0: the weights do not move)."""

    def step(self, closure=None):
        self.grads = [p.grad.detach().clone() for group in self.param_groups for p in group["params"]]


def strategy_for(label: str):
    load_plugins()  # a spawned rank imports this module, not conftest.py
    name, _, params = label.partition(":")
    pairs = [p.split("=") for p in params.split(",")] if params else []
    return REGISTRY.build(name, {k: float(v) if "." in v else int(v) for k, v in pairs})


def model_for(label: str) -> BiEncoder:
    model = BiEncoder(tiny_bert(layers=4, hidden=32), shared_towers=True, scale=20.0, unpad=True)
    strategy_for(label).prepare(model)
    model.double()  # float64: rank and single-process sums differ only at 1e-16, so the comparison is tight
    model.disable_dropout()
    return model.train()


def one_step_and_training(label: str) -> dict:
    """The loss and gradients of one step on the global batch (this rank's shard of it), then the weights after
    training 4 steps with AdamW."""
    messages, replies = encoded_pairs(n=16)
    model = model_for(label)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = Recorder(params, lr=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    index = distributed.shard(torch.arange(BATCH))
    batch = (messages.batch(index, torch.device("cpu")), replies.batch(index, torch.device("cpu")))
    loss = train_step(model, optimizer, scheduler, batch, True, nullcontext())
    model = model_for(label)
    cfg = TrainConfig(batch_size=BATCH, epochs=2.0, learning_rate=1e-3, fused_optimizer=False, curve_points=1)
    result = train(model, messages, replies, cfg, seed=0, device=torch.device("cpu"), strategy=strategy_for(label))
    return {"loss": float(loss), "grads": optimizer.grads, "steps": result.steps,
            "weights": {k: v.clone() for k, v in model.state_dict().items()}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rank_process(rank: int, world: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        torch.save({label: one_step_and_training(label) for label in STRATEGIES}, Path(out) / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def max_diff(a: list[torch.Tensor] | dict, b: list[torch.Tensor] | dict) -> float:
    pairs = zip(a, b, strict=True) if isinstance(a, list) else ((a[k], b[k]) for k in a)
    return max(float((x.double() - y.double()).abs().max()) for x, y in pairs)


@pytest.mark.slow
def test_two_gloo_ranks_give_one_process_loss_and_gradients(tmp_path):
    mp.spawn(rank_process, args=(2, free_port(), str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    for label in STRATEGIES:
        single = one_step_and_training(label)
        for got in ranks:
            loss_diff = abs(got[label]["loss"] - single["loss"])
            grad_diff = max_diff(got[label]["grads"], single["grads"])
            weight_diff = max_diff(got[label]["weights"], single["weights"])
            print(f"{label}: loss {single['loss']:.6f}, |d loss| {loss_diff:.1e}, max |d grad| {grad_diff:.1e} "
                  f"(max |grad| {max(float(g.abs().max()) for g in single['grads']):.1e}), max |d weight| after "
                  f"{single['steps']} AdamW steps {weight_diff:.1e}")
            assert loss_diff < 1e-6  # float32 inside in_batch_loss (scores.float()); measured: 0
            assert grad_diff < 1e-12  # measured: at most 4e-15
            assert weight_diff < 1e-10  # measured: at most 2e-14
            assert got[label]["steps"] == single["steps"] == 4


def test_shard_splits_the_global_batch_in_rank_order(monkeypatch):
    monkeypatch.setattr(distributed, "active", lambda: True)
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    for rank, expected in ((0, [0, 1, 2, 3]), (1, [4, 5, 6, 7])):
        monkeypatch.setattr(distributed, "rank", lambda rank=rank: rank)
        assert distributed.shard(torch.arange(8)).tolist() == expected
    with pytest.raises(distributed.BenchError, match="batch of 7 pairs does not split over 2 ranks"):
        distributed.shard(torch.arange(7))


CRASHY = '''
from dataclasses import dataclass

import torch.distributed as dist

from bench.registry import Strategy, register


@register("crash-on-rank-1")
@dataclass(frozen=True)
class CrashOnRank1(Strategy):
    """Trains like the baseline, but rank 1 raises in its third training forward."""

    def prepare(self, model):
        calls = []

        def boom(module, args, output):
            if module.training and dist.is_initialized() and dist.get_rank() == 1:
                calls.append(1)
                if len(calls) == 3:
                    raise RuntimeError("boom on rank 1")

        model.message_tower.embeddings.register_forward_hook(boom)
'''


def write_config(folder: Path, task_dir: Path, strategies: list[str], plugins: list[str] = ()) -> Path:
    document = small_suite(task_dir, models=[TINY], strategies=strategies, seeds=1,
                           train={"epochs": 1.0, "dev_eval_pairs": 16})
    return write_config_file(folder / "bench.toml", {"plugins": list(plugins), **document})


def runs(db: Path) -> list[dict]:
    with sqlite3.connect(db) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute("SELECT * FROM runs ORDER BY started_at")]


@pytest.mark.slow
def test_bench_run_nproc_2_stores_each_run_once_and_a_crashing_rank_fails_its_run(tmp_path, task_dir, monkeypatch,
                                                                                    capsys):
    """One launch (to stay fast): two runs complete, then rank 1 raises in a training step of the third."""
    (tmp_path / "crashy.py").write_text(CRASHY)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    config = write_config(tmp_path, task_dir, ["baseline", "layer-freeze:count=2", "crash-on-rank-1"], ["crashy"])
    db = tmp_path / "ddp.db"
    started = time.perf_counter()
    code = main(["run", "--config", str(config), "--suite", "t", "--nproc", "2", "--quiet", "--db", f"sqlite:///{db}"])
    assert code == 1 and time.perf_counter() - started < 120  # failed, and nothing hung (collectives wait 900 s)
    assert "bench: error: rank 1 failed (exit code 1): RuntimeError: boom on rank 1" in capsys.readouterr().err
    stored = {r["strategy"]: r for r in runs(db)}
    assert stored["crash-on-rank-1"]["status"] == "failed"
    assert "rank 1 failed: RuntimeError: boom on rank 1" in stored["crash-on-rank-1"]["error"]
    for run in (stored["baseline"], stored["layer-freeze"]):
        assert (run["status"], run["device_count"]) == ("completed", 2)
        environment = json.loads(run["environment"])
        assert environment["world_size"] == 2 and [r["rank"] for r in environment["ranks"]] == [0, 1]
        assert run["peak_memory_bytes"] == max(r["peak_memory_bytes"] for r in environment["ranks"])
        assert run["device_hours"] == pytest.approx(run["train_seconds"] * 2 / 3600)
        assert all(0 < r["collective_seconds"] < r["busy_seconds"] <= r["train_seconds"] for r in environment["ranks"])
    # One rank on the same suite is other hardware: nothing is "already done", and the two are kept apart.
    assert main(["run", "--config", str(config), "--suite", "t", "--quiet", "--db", f"sqlite:///{db}"]) == 0
    assert "0 of 3 cells already done" in capsys.readouterr().err
    assert {r["device_count"] for r in runs(db) if r["status"] == "completed"} == {1, 2}
    assert len({r["hardware_hash"] for r in runs(db)}) == 2


def test_nproc_usage_errors_are_one_line(tmp_path):
    with pytest.raises(distributed.BenchError, match="--nproc: expected a positive whole number"):
        main(["run", "--nproc", "0"])
    with pytest.raises(distributed.BenchError, match="--worker does not combine with --nproc"):
        main(["run", "--nproc", "2", "--worker"])


@pytest.mark.slow
def test_a_suite_over_world_sizes_reports_scaling_and_until_decided_rounds_follow_across_ranks(tmp_path, task_dir,
                                                                                             capsys):
    config = write_config(tmp_path, task_dir, ["baseline", "layer-freeze:count=2"])
    text = config.read_text().replace("seeds = [0]", "seeds = [0]\nworld_sizes = [1, 2]")
    config.write_text(text + "\n[stats]\nmargin = 0.0\nbootstrap_samples = 100\n")
    db = tmp_path / "sizes.db"
    assert main(["run", "--config", str(config), "--suite", "t", "--quiet", "--db", f"sqlite:///{db}"]) == 0
    out = capsys.readouterr().out
    assert "| cpu x2 ranks |" in out
    for strategy in ("baseline", "layer-freeze(count=2)"):
        assert f"scaling: {strategy} on 2 ranks:" in out and "efficiency" in out
    assert sorted((r["strategy"], r["device_count"]) for r in runs(db)) == [
        ("baseline", 1), ("baseline", 2), ("layer-freeze", 1), ("layer-freeze", 2)]
    # Seeds until decided, on 2 ranks: rank 0 decides each round and the other rank follows it.
    until = tmp_path / "until.db"
    assert main(["run", "--config", str(config), "--suite", "t", "--quiet", "--db", f"sqlite:///{until}",
                 "--nproc", "2", "--until-decided", "--max-seeds", "2"]) == 0
    stored = runs(until)
    assert {r["device_count"] for r in stored} == {2} and all(r["status"] == "completed" for r in stored)
    assert {r["seed"] for r in stored if r["strategy"] == "baseline"} == {0, 1}  # a second round ran on both ranks
