"""The fixed reply-ranking task: train / dev / test pairs and the whitelist of replies to rank.

The whitelist and the test set depend only on the task's full train split, so limiting training
(`max_train_pairs`, a data fraction) never changes what is evaluated.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from bench.config import TaskConfig
from bench.errors import BenchError
from bench.kinds import Kind
from bench.tasks.jsonlines import BadRecord, read_json_lines
from bench.tasks.text import normalise

EMAIL_DIR = Path(__file__).parent / "data" / "email"
T = TypeVar("T")

TaskLoader = Callable[[TaskConfig, int], "Task"]
"""Builds a task from its [tasks.NAME] table and the dev pairs the curve evaluates (0: all), e.g. by `build_task`."""
TASKS: Kind[TaskLoader] = Kind("task kind", "bench.tasks", fix="use one of {names} (a plugin may add more: "
                               "docs/tasks-and-models.md); fix `kind` in bench.toml")
"""Task kinds by name (`[tasks.NAME] kind = ...`): the built-ins below, and any a plugin registers."""


@dataclass(frozen=True)
class Pair:
    message: str
    reply: str
    intent: str


@dataclass(frozen=True)
class Queries:
    """Messages to rank the whitelist for. A query counts for the exact-match metrics when its real reply is on the
    whitelist (`gold` >= 0), and for the intent metrics when its reply's intent is (`intent` >= 0): intent-level
    relevance needs the intent on the whitelist, not the exact reply, so many more pairs count for it."""

    pairs: tuple[Pair, ...]
    gold: np.ndarray
    """[Q] whitelist index of each query's real reply; -1 where it is not on the whitelist."""
    intent: np.ndarray
    """[Q] index of each query's intent in `Task.intents`; -1 where no whitelist reply has it."""

    def __len__(self) -> int:
        return len(self.pairs)

    @property
    def exact_count(self) -> int:
        return int((self.gold >= 0).sum())

    @property
    def intent_count(self) -> int:
        return int((self.intent >= 0).sum())

    def subset(self, index: list[int]) -> Queries:
        return Queries(tuple(self.pairs[i] for i in index), self.gold[index], self.intent[index])


@dataclass(frozen=True)
class Task:
    """A built task. `test` holds the pairs that count for at least one metric; `test_left_out` the others."""

    name: str
    version: str
    data_hash: str
    headline_metric: str
    train: tuple[Pair, ...]
    dev: Queries
    test: Queries
    whitelist: tuple[str, ...]
    whitelist_intents: tuple[str, ...]
    test_left_out: int

    def train_subset(self, fraction: float = 1.0, max_pairs: int = 0) -> tuple[Pair, ...]:
        """A fixed subset (the same for every seed and strategy) of the training pairs; smaller subsets are
        contained in larger ones, so a data-size ablation adds data rather than swapping it."""
        count = len(self.train)
        if fraction < 1.0:
            count = max(1, round(count * fraction))
        if max_pairs:
            count = min(count, max_pairs)
        if count == len(self.train):
            return self.train
        order = list(range(len(self.train)))
        random.Random(f"{self.name}:{self.data_hash}").shuffle(order)
        return tuple(self.train[i] for i in sorted(order[:count]))

    def size_fraction(self, pairs: int) -> float:
        """The data fraction whose subset holds exactly `pairs` training pairs (a suite's `train_sizes`)."""
        if pairs > len(self.train):
            raise BenchError(f"task {self.name!r} has {len(self.train):,} training pairs; a train size of {pairs:,} "
                             "is more than it has: list smaller train_sizes")
        return pairs / len(self.train)

    @property
    def intents(self) -> tuple[str, ...]:
        """The distinct intents of the whitelist's replies, sorted."""
        return tuple(sorted(set(self.whitelist_intents)))

    def intent_relevance(self, queries: Queries) -> np.ndarray:
        """[Q_intent, W] bool, one row per query with `intent` >= 0: the whitelist replies of its intent."""
        index = {intent: i for i, intent in enumerate(self.intents)}
        whitelist = np.asarray([index[intent] for intent in self.whitelist_intents], dtype=np.int64)
        counted = queries.intent[queries.intent >= 0]
        return whitelist[None, :] == counted[:, None]


def build_task(name: str, version: str, data_hash: str, headline: str, train: list[Pair], dev: list[Pair],
               test: list[Pair], whitelist_size: int = 0, dev_eval_pairs: int = 0) -> Task:
    """Whitelist = distinct normalised train replies (optionally the K most frequent); each one's intent is
    the most frequent intent among its training pairs."""
    if not train or not test:
        raise BenchError(f"task {name!r} needs non-empty train and test splits")
    counts: Counter[str] = Counter()
    surfaces: dict[str, Counter[str]] = defaultdict(Counter)
    intents: dict[str, Counter[str]] = defaultdict(Counter)
    for pair in train:
        key = normalise(pair.reply)
        counts[key] += 1
        surfaces[key][pair.reply.strip()] += 1
        intents[key][pair.intent] += 1
    ranked = sorted(counts, key=lambda k: (-counts[k], k))
    if whitelist_size:
        ranked = ranked[:whitelist_size]
    index = {key: i for i, key in enumerate(ranked)}
    whitelist = tuple(_most_common(surfaces[key]) for key in ranked)
    whitelist_intents = tuple(_most_common(intents[key]) for key in ranked)
    intent_index = {intent: i for i, intent in enumerate(sorted(set(whitelist_intents)))}

    def queries(pairs: list[Pair]) -> Queries:
        gold = [index.get(normalise(p.reply), -1) for p in pairs]
        intent = [intent_index.get(p.intent, -1) for p in pairs]
        kept = [i for i in range(len(pairs)) if gold[i] >= 0 or intent[i] >= 0]
        return Queries(tuple(pairs[i] for i in kept), np.asarray([gold[i] for i in kept], dtype=np.int64),
                       np.asarray([intent[i] for i in kept], dtype=np.int64))

    test_queries = queries(test)
    if not test_queries.exact_count:
        raise BenchError(f"task {name!r}: no test reply is on the whitelist; test replies must reuse train replies")
    dev_queries = queries(dev)
    if dev_eval_pairs and len(dev_queries) > dev_eval_pairs:
        dev_queries = dev_queries.subset(sorted(random.Random(f"dev:{name}").sample(range(len(dev_queries)),
                                                                                  dev_eval_pairs)))
    return Task(name, version, data_hash, headline, tuple(train), dev_queries, test_queries, whitelist,
                whitelist_intents, len(test) - len(test_queries))


def _most_common(counter: Counter[str]) -> str:
    return min(counter, key=lambda k: (-counter[k], k))


_PAIR_LINE = 'each line must be {"message": ..., "reply": ..., "intent": ...}'


def _pair(obj: object) -> Pair:
    """The record check `read_json_lines` runs on each line of a task file."""
    if not isinstance(obj, dict):
        raise BadRecord("expected a JSON object with message and reply")
    message, reply, intent = obj.get("message"), obj.get("reply"), obj.get("intent")
    if not isinstance(message, str) or not isinstance(reply, str) or not message.strip() or not reply.strip():
        raise BadRecord("'message' and 'reply' must be non-empty strings")
    if intent is not None and not isinstance(intent, str):
        raise BadRecord("'intent' must be a string when present")
    return Pair(message, reply, intent or normalise(reply))


def read_jsonl(path: Path) -> list[Pair]:
    """Read `{"message", "reply", "intent"?}` lines; a bad line names the file and line number."""
    return read_json_lines(path, _pair, fix=_PAIR_LINE, bad_json="not valid JSON",
                           missing="a task folder needs train.jsonl and test.jsonl")


def holdout(keys: list[T], fraction: float, salt: str) -> set[T]:
    """A fixed share (at least one) of `keys` held out of training for the dev curve, the same on every run."""
    order = list(keys)
    random.Random(f"holdout:{salt}").shuffle(order)
    return set(order[: max(1, int(len(order) * fraction))])


def _hash_files(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


@TASKS.register("email")
def _email(config: TaskConfig, dev_eval_pairs: int) -> Task:
    """The built-in email task: generated email -> short-reply pairs, committed with a version and hash."""
    manifest = json.loads((EMAIL_DIR / "manifest.json").read_text())
    splits = {s: read_jsonl(EMAIL_DIR / f"{s}.jsonl") for s in ("train", "dev", "test")}
    headline = config.headline_metric or "intent_recall_at_3"
    return build_task("email", manifest["version"], manifest["sha256"][:16], headline,
                      splits["train"], splits["dev"], splits["test"], config.whitelist_size, dev_eval_pairs)


@TASKS.register("jsonl")
def _folder(config: TaskConfig, dev_eval_pairs: int) -> Task:
    """A folder of train.jsonl, test.jsonl and optionally dev.jsonl (else a fixed slice of train)."""
    folder = Path(config.path)
    if not folder.is_dir():
        raise BenchError(f"task folder {folder} not found; it must hold train.jsonl, test.jsonl and "
                         "optionally dev.jsonl")
    files = [folder / "train.jsonl", folder / "test.jsonl"]
    train, test = read_jsonl(files[0]), read_jsonl(files[1])
    for path, pairs in zip(files, (train, test), strict=True):
        if not pairs:
            raise BenchError(f"{path}: no pairs; a task needs at least one train and one test pair, "
                             'one {"message": ..., "reply": ..., "intent": ...} object a line')
    if (folder / "dev.jsonl").exists():
        files.append(folder / "dev.jsonl")
        dev = read_jsonl(folder / "dev.jsonl")
    else:  # hold out a fixed slice of train for the training curve
        held = holdout(list(range(len(train))), config.dev_fraction, config.name)
        dev = [p for i, p in enumerate(train) if i in held]
        train = [p for i, p in enumerate(train) if i not in held]
    data_hash = _hash_files(files)
    return build_task(config.name, data_hash, data_hash, config.headline_metric or "mrr", train, dev, test,
                      config.whitelist_size, dev_eval_pairs)


@TASKS.register("sgd")
def _sgd(config: TaskConfig, dev_eval_pairs: int) -> Task:
    """Schema-Guided Dialogue pairs (`python -m bench data sgd`); dev held out by dialogue."""
    from bench.tasks import sgd

    folder = Path(config.path)
    files = [folder / "train.jsonl.gz", folder / "dev.jsonl.gz"]
    for path in files:
        if not path.exists():
            raise BenchError(f"SGD pairs not found at {path}; {sgd.GET_DATA}, then set [tasks.{config.name}] "
                             "path in bench.toml")
    train_records, test_records = sgd.read_pairs(files[0]), sgd.read_pairs(files[1])

    def dialogue(record: dict) -> str:
        return record["id"].split(":")[0]

    held = holdout(sorted({dialogue(r) for r in train_records}), config.dev_fraction, config.name)  # by dialogue

    def pair(record: dict) -> Pair:
        return Pair(record["message"], record["reply"], sgd.intent_of(record))

    train = [pair(r) for r in train_records if dialogue(r) not in held]
    dev = [pair(r) for r in train_records if dialogue(r) in held]
    data_hash = _hash_files(files)
    return build_task(config.name, "sgd-e852981", data_hash, config.headline_metric or "intent_recall_at_3",
                      train, dev, [pair(r) for r in test_records], config.whitelist_size or 300, dev_eval_pairs)


def task_loader(config: TaskConfig) -> TaskLoader:
    """The loader of the task's kind, or a one-line BenchError naming the task with a did-you-mean."""
    return TASKS.get(config.kind, where=f"tasks.{config.name}.kind:").obj


def load_task(config: TaskConfig, dev_eval_pairs: int = 300) -> Task:
    return task_loader(config)(config, dev_eval_pairs)
