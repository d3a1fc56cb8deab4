"""Whole dataset: generate the splits, write the JSONL files and the hashed manifest."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from bench.tasks.emailgen.message import _message
from bench.tasks.emailgen.replies import _reply_intents

VERSION = "1.0.0"
SEED = 20240517
SPLIT_SIZES = {"train": 6000, "dev": 600, "test": 1200}
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "data" / "email"


def generate(seed: int = SEED) -> dict[str, list[dict]]:
    """All pairs come from one stream; distinct messages are then shuffled into disjoint splits."""
    _reply_intents()
    rng = random.Random(seed)
    total = sum(SPLIT_SIZES.values())
    seen: set[str] = set()
    rows: list[dict] = []
    while len(rows) < total:
        message, reply, intent = _message(rng)
        if message in seen:
            continue
        seen.add(message)
        rows.append({"message": message, "reply": reply, "intent": intent})
    rng.shuffle(rows)
    splits, start = {}, 0
    for name in ("test", "dev", "train"):
        chunk = rows[start:start + SPLIT_SIZES[name]]
        start += SPLIT_SIZES[name]
        splits[name] = sorted(chunk, key=lambda r: (r["message"], r["reply"], r["intent"]))
    return {name: splits[name] for name in ("train", "dev", "test")}


def manifest_digest(file_hashes: dict[str, str]) -> str:
    """Dataset hash: sha256 of the files' hex digests concatenated in file-name order."""
    return hashlib.sha256("".join(file_hashes[k] for k in sorted(file_hashes)).encode("ascii")).hexdigest()


def write(out_dir: Path, seed: int = SEED) -> dict:
    """Write train/dev/test JSONL and manifest.json into out_dir; return the manifest."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {}
    for split, rows in generate(seed).items():
        data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
        (out_dir / f"{split}.jsonl").write_bytes(data)
        files[f"{split}.jsonl"] = {"rows": len(rows), "sha256": hashlib.sha256(data).hexdigest()}
    manifest = {
        "name": "email", "version": VERSION, "generator_seed": seed, "files": files,
        "sha256": manifest_digest({k: v["sha256"] for k, v in files.items()}),
    }
    (out_dir / "manifest.json").write_bytes((json.dumps(manifest, indent=2) + "\n").encode("utf-8"))
    return manifest
