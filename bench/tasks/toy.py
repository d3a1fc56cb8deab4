"""A learnable toy task written to a folder: for tests, trials and a first look without real data."""

from __future__ import annotations

import json
import random
from pathlib import Path


def write_task(folder: Path, train: int = 240, test: int = 60, dev: int = 40, seed: int = 0) -> Path:
    """A learnable toy task: the reply's intent is named by a keyword in the message."""
    rnd = random.Random(seed)
    replies = {f"topic{i}": [f"reply {i} way {j}" for j in range(2)] for i in range(6)}
    folder.mkdir(parents=True, exist_ok=True)
    for split, count in (("train", train), ("test", test), ("dev", dev)):
        with (folder / f"{split}.jsonl").open("w") as out:
            for _ in range(count):
                intent = rnd.choice(sorted(replies))
                noise = " ".join(rnd.choice(["hello", "please", "today", "team", "note"]) for _ in range(4))
                pair = {"message": f"{noise} about {intent} {noise}", "reply": rnd.choice(replies[intent]),
                        "intent": intent}
                out.write(json.dumps(pair) + "\n")
    return folder
