"""Schema-Guided Dialogue (SGD) reply pairs: convert the original dialogues, read the pair files.

A pair is one SYSTEM turn (the incoming message) and the USER turn that followed it (the reply to rank),
taken from every SYSTEM turn that has a USER turn after it. Field by field:

- ``id``: ``<dialogue_id>:<index of the SYSTEM turn>``, so pairs of one dialogue share a prefix;
- ``services``: the dialogue's ``services`` list, unchanged (not sorted);
- ``context``: the USER turn just before the message, ``""`` if there is none;
- ``message`` / ``reply``: the utterances, unchanged;
- ``message_acts`` / ``reply_acts``: the distinct ``act`` types over all frames of the turn, sorted.

Pairs keep the dialogue order of the source files (files in name order), and each line is
``json.dumps(pair)`` with the default separators and ``ensure_ascii``: byte for byte what the shared
``../shared/data/sgd/*.jsonl.gz`` files hold.
"""

import gzip
import json
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from bench.errors import BenchError
from bench.tasks.jsonlines import BadRecord, read_json_lines

SPLITS = ("train", "dev", "test")
FIELDS = ("id", "services", "context", "message", "message_acts", "reply", "reply_acts")
SOURCE = "github.com/google-research-datasets/dstc8-schema-guided-dialogue"
GET_DATA = (
    f"get the SGD dialogues from {SOURCE} and convert them with "
    "`python -m bench data sgd --from DIR --out DIR` (the project's copy lives in ../shared/data/sgd/)"
)
_STR_FIELDS = ("id", "context", "message", "reply")
_LIST_FIELDS = ("services", "message_acts", "reply_acts")
_NUMBER = re.compile(r"(\d+)")


def intent_of(pair: dict) -> str:
    """The reply's intent label (e.g. ``NEGATE+THANK_YOU``): same intent counts as relevant in graded eval."""
    return "+".join(pair["reply_acts"])


def _acts(turn: dict, where: str) -> list[str]:
    """Distinct act types of a turn, sorted, so that act order within frames does not change the label."""
    frames = turn.get("frames")
    if not isinstance(frames, list):
        raise BenchError(f"{where}: 'frames' is missing or not a list; the file is not in SGD format")
    acts = set()
    for frame in frames:
        actions = frame.get("actions") if isinstance(frame, dict) else None
        if not isinstance(actions, list):
            raise BenchError(f"{where}: a frame has no 'actions' list; use SGD files with dialogue acts")
        for action in actions:
            act = action.get("act") if isinstance(action, dict) else None
            if not isinstance(act, str):
                raise BenchError(f"{where}: an action has no string 'act'; the file is not in SGD format")
            acts.add(act)
    return sorted(acts)


def _turn(turns: list, i: int, where: str) -> dict:
    """Turn ``i`` checked for the fields a pair needs, so bad input fails with a located message."""
    turn = turns[i]
    where = f"{where} turn {i}"
    if not isinstance(turn, dict):
        raise BenchError(f"{where}: not a JSON object; the file is not in SGD format")
    if turn.get("speaker") not in ("USER", "SYSTEM") or not isinstance(turn.get("utterance"), str):
        raise BenchError(f"{where}: needs speaker USER or SYSTEM and a string utterance; not SGD format")
    return turn


def convert_dialogues(dialogues: Iterable[dict]) -> list[dict]:
    """Message->reply pairs from parsed SGD dialogues, in the exact form of the shared pair files."""
    pairs = []
    for n, dialogue in enumerate(dialogues):
        if not isinstance(dialogue, dict) or not isinstance(dialogue.get("dialogue_id"), str):
            raise BenchError(f"dialogue #{n}: not an object with a string 'dialogue_id'; not SGD format")
        dialogue_id = dialogue["dialogue_id"]
        where = f"dialogue {dialogue_id}"
        services, turns = dialogue.get("services"), dialogue.get("turns")
        if not isinstance(services, list) or not all(isinstance(s, str) for s in services):
            raise BenchError(f"{where}: 'services' is missing or not a list of strings; not SGD format")
        if not isinstance(turns, list):
            raise BenchError(f"{where}: 'turns' is missing or not a list; not SGD format")
        turns = [_turn(turns, i, where) for i in range(len(turns))]
        for i in range(len(turns) - 1):
            message, reply = turns[i], turns[i + 1]
            if message["speaker"] != "SYSTEM" or reply["speaker"] != "USER":
                continue
            before = turns[i - 1] if i > 0 else None
            context = before["utterance"] if before is not None and before["speaker"] == "USER" else ""
            pairs.append(
                {
                    "id": f"{dialogue_id}:{i}",
                    "services": list(services),
                    "context": context,
                    "message": message["utterance"],
                    "message_acts": _acts(message, f"{where} turn {i}"),
                    "reply": reply["utterance"],
                    "reply_acts": _acts(reply, f"{where} turn {i + 1}"),
                }
            )
    return pairs


def read_dialogues(path: Path) -> list[dict]:
    """One original SGD ``dialogues_*.json`` (or ``.json.gz``) file; errors name the file."""
    path = Path(path)
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise BenchError(f"{path}: no such file; {GET_DATA}") from None
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise BenchError(
            f"{path}: not a readable SGD dialogue JSON file ({e}); re-download it from {SOURCE}"
        ) from None
    if not isinstance(data, list):
        raise BenchError(f"{path}: expected a JSON list of dialogues; is this a schema.json or another file?")
    return data


def _dialogue_files(folder: Path) -> list[Path]:
    """A split's dialogue files, numerically ordered (``dialogues_2`` before ``dialogues_10``) as in SGD."""
    files = [
        p for p in folder.iterdir() if re.fullmatch(r"dialogues_.*\.json(\.gz)?", p.name) and p.is_file()
    ]
    stems = [p.name.removesuffix(".gz") for p in files]
    for stem in stems:
        if stems.count(stem) > 1:
            raise BenchError(f"{folder}: both {stem} and {stem}.gz exist; keep only one of them")
    if not files:
        raise BenchError(f"{folder}: no dialogues_*.json files; point --from at the SGD checkout ({SOURCE})")
    return sorted(
        files, key=lambda p: ([int(d) if d.isdigit() else d for d in _NUMBER.split(p.name)], p.name)
    )


def _write_atomic(pairs: list[dict], target: Path) -> None:
    """Write gzipped JSON lines to a temp file, then rename: a failure never leaves a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as raw, gzip.GzipFile(target.name, "wb", 9, raw, mtime=0) as out:
            for pair in pairs:
                out.write(json.dumps(pair).encode("utf-8") + b"\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def convert_dir(src: Path, out: Path) -> dict[str, int]:
    """Convert an SGD checkout (``src/{train,dev,test}/dialogues_*.json``) to ``out/<split>.jsonl.gz``.

    Every split is converted before anything is written, so bad input leaves ``out`` untouched.
    Returns the number of pairs per split found.
    """
    src, out = Path(src), Path(out)
    splits = [s for s in SPLITS if (src / s).is_dir()]
    if not splits:
        raise BenchError(
            f"{src}: none of train/, dev/, test/ found; point --from at the root of an SGD checkout, {SOURCE}"
        )
    converted = {}
    for split in splits:
        pairs = []
        for path in _dialogue_files(src / split):
            try:
                pairs.extend(convert_dialogues(read_dialogues(path)))
            except BenchError as e:
                msg = str(e)
                raise BenchError(msg if msg.startswith(str(path)) else f"{path}: {msg}") from None
        converted[split] = pairs
    out.mkdir(parents=True, exist_ok=True)
    for split, pairs in converted.items():
        _write_atomic(pairs, out / f"{split}.jsonl.gz")
    return {split: len(pairs) for split, pairs in converted.items()}


def _check_pair(obj: object) -> str | None:
    """What is wrong with one decoded line, or None: catches files that are not pair files early."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    missing = [k for k in FIELDS if k not in obj]
    if missing:
        return f"missing field(s) {', '.join(missing)}"
    for k in _STR_FIELDS:
        if not isinstance(obj[k], str):
            return f"field {k!r} is not a string"
    for k in _LIST_FIELDS:
        if not isinstance(obj[k], list) or not all(isinstance(v, str) for v in obj[k]):
            return f"field {k!r} is not a list of strings"
    return None


def _pair(obj: object) -> dict:
    """The record check `read_json_lines` runs on each line of a pairs file."""
    problem = _check_pair(obj)
    if problem:
        raise BadRecord(f"{problem}; each line needs {', '.join(FIELDS)}")
    return obj


def read_pairs(path: Path) -> list[dict]:
    """Pairs from a ``.jsonl.gz`` or ``.jsonl`` file; a bad line fails naming ``file:line`` to fix it."""
    fix = f"regenerate the file with `python -m bench data sgd --from DIR --out DIR` ({SOURCE})"
    return read_json_lines(path, _pair, fix=fix, missing=GET_DATA)
