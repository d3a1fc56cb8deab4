"""The committed email data is what the generator writes, and it meets the size and realism bounds."""

import hashlib
import json
from pathlib import Path

import pytest

from bench.tasks import emailgen
from bench.tasks.text import normalise

DATA = Path(emailgen.__file__).resolve().parent.parent / "data" / "email"  # bench/emailgen/ -> bench/data/email
SPLITS = ("train", "dev", "test")


@pytest.fixture(scope="module")
def committed() -> dict:
    return json.loads((DATA / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def rows() -> dict[str, list[dict]]:
    return {
        s: [json.loads(line) for line in (DATA / f"{s}.jsonl").read_text(encoding="utf-8").splitlines()]
        for s in SPLITS
    }


def test_regeneration_matches_committed_manifest(tmp_path: Path, committed: dict) -> None:
    manifest = emailgen.write(tmp_path)
    assert manifest == committed
    assert (tmp_path / "manifest.json").read_bytes() == (DATA / "manifest.json").read_bytes()
    for name, entry in committed["files"].items():
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
        assert entry["sha256"] == hashlib.sha256((DATA / name).read_bytes()).hexdigest()
    assert committed["sha256"] == emailgen.manifest_digest(
        {k: v["sha256"] for k, v in committed["files"].items()}
    )
    assert (committed["name"], committed["version"], committed["generator_seed"]) == (
        "email",
        "1.0.0",
        emailgen.SEED,
    )


def test_row_format_and_counts(rows: dict[str, list[dict]], committed: dict) -> None:
    minimum = {"train": 5000, "dev": 500, "test": 1000}
    for split in SPLITS:
        assert len(rows[split]) >= minimum[split]
        assert len(rows[split]) == committed["files"][f"{split}.jsonl"]["rows"]
        assert all(list(r) == ["message", "reply", "intent"] for r in rows[split])
        keys = [(r["message"], r["reply"], r["intent"]) for r in rows[split]]
        assert keys == sorted(keys)


def test_splits_share_no_message(rows: dict[str, list[dict]]) -> None:
    messages = {s: {r["message"] for r in rows[s]} for s in SPLITS}
    assert not messages["train"] & messages["dev"]
    assert not messages["train"] & messages["test"]
    assert not messages["dev"] & messages["test"]


def test_intents_and_whitelist(rows: dict[str, list[dict]]) -> None:
    train = rows["train"]
    assert len({r["intent"] for r in train}) >= 30
    whitelist = {normalise(r["reply"]) for r in train}
    assert len(whitelist) >= 150
    owner: dict[str, str] = {}
    for r in train + rows["dev"] + rows["test"]:
        key = normalise(r["reply"])
        assert owner.setdefault(key, r["intent"]) == r["intent"], key
    test = rows["test"]
    assert sum(normalise(r["reply"]) in whitelist for r in test) >= 0.95 * len(test)


def test_messages_read_like_email(rows: dict[str, list[dict]]) -> None:
    messages = [r["message"] for r in rows["train"]]
    n = len(messages)
    quoted = sum(any(line.startswith(">") for line in m.splitlines()) for m in messages)
    greeted = sum(
        m.split("\n", 1)[0].startswith(("Hi", "Hey", "Dear", "Hello", "Good morning")) for m in messages
    )
    signed = sum(any(s in m for s in ("Best", "Thanks,", "Cheers", "regards", "Sent from")) for m in messages)
    assert quoted > 0.2 * n
    assert greeted > 0.3 * n
    assert signed > 0.3 * n
    lengths = sorted(len(m) for m in messages)
    assert lengths[0] < 80 and lengths[-1] > 600
    assert sum(len(m) < 120 for m in messages) > 0.05 * n
    assert sum(len(m) > 400 for m in messages) > 0.05 * n


def test_replies_are_not_one_per_intent(rows: dict[str, list[dict]]) -> None:
    """Several paraphrases per intent keep exact-match recall from saturating."""
    per_intent: dict[str, set[str]] = {}
    for r in rows["train"]:
        per_intent.setdefault(r["intent"], set()).add(normalise(r["reply"]))
    assert min(len(v) for v in per_intent.values()) >= 4
