"""The SGD converter reproduces the shared pair files exactly, and the reader fails with fixable messages."""

import gzip
import json
import shutil
from pathlib import Path

import pytest

from bench.errors import BenchError
from bench.tasks.sgd import FIELDS, convert_dialogues, convert_dir, intent_of, read_dialogues, read_pairs

ROOT = Path(__file__).resolve().parents[1]
SGD = ROOT.parent / "shared" / "data" / "sgd"
RAW = SGD / "raw-dev-dialogues_001.json.gz"
DEV = SGD / "dev.jsonl.gz"

PAIR = {
    "id": "1_00000:1",
    "services": ["Restaurants_2"],
    "context": "hi",
    "message": "What city?",
    "message_acts": ["REQUEST"],
    "reply": "San Jose, thanks.",
    "reply_acts": ["INFORM", "THANK_YOU"],
}


@pytest.fixture(scope="module")
def sgd() -> Path:
    if not (RAW.is_file() and DEV.is_file()):
        pytest.skip(f"SGD data not found at {SGD}: the shared copy of the SGD pairs is not on this machine")
    return SGD


@pytest.fixture(scope="module")
def expected(sgd: Path) -> list[bytes]:
    """The raw lines of dev.jsonl.gz whose dialogues are in raw-dev-dialogues_001.json.gz."""
    ids = {d["dialogue_id"] for d in read_dialogues(RAW)}
    with gzip.open(DEV, "rb") as f:
        return [line for line in f if json.loads(line)["id"].rsplit(":", 1)[0] in ids]


def test_convert_matches_shared_dev(expected: list[bytes]) -> None:
    pairs = convert_dialogues(read_dialogues(RAW))
    want = [json.loads(line) for line in expected]
    assert len(pairs) == len(want) == 697
    assert pairs == want
    assert [list(p) for p in pairs] == [list(FIELDS)] * len(pairs)


def test_convert_dir_round_trip(expected: list[bytes], tmp_path: Path) -> None:
    src = tmp_path / "sgd"
    (src / "dev").mkdir(parents=True)
    with gzip.open(RAW, "rb") as f, open(src / "dev" / "dialogues_001.json", "wb") as g:
        shutil.copyfileobj(f, g)
    (src / "dev" / "schema.json").write_text("[]")
    out = tmp_path / "out"
    assert convert_dir(src, out) == {"dev": len(expected)}
    assert sorted(p.name for p in out.iterdir()) == ["dev.jsonl.gz"]
    with gzip.open(out / "dev.jsonl.gz", "rb") as f:
        assert f.readlines() == expected  # byte for byte the shared serialisation
    assert read_pairs(out / "dev.jsonl.gz") == [json.loads(line) for line in expected]


def test_convert_dir_accepts_gz_and_orders_files(tmp_path: Path) -> None:
    def dialogue(did: str) -> dict:
        turn = {"frames": [{"actions": [{"act": "GOODBYE"}, {"act": "GOODBYE"}]}]}
        return {
            "dialogue_id": did,
            "services": ["B_1", "A_1"],
            "turns": [
                {**turn, "speaker": "USER", "utterance": "u0"},
                {**turn, "speaker": "SYSTEM", "utterance": "s1"},
                {**turn, "speaker": "USER", "utterance": "u2"},
                {**turn, "speaker": "SYSTEM", "utterance": "s3"},
            ],
        }

    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "dialogues_10.json").write_text(json.dumps([dialogue("10_00000")]))
    with gzip.open(tmp_path / "train" / "dialogues_2.json.gz", "wt") as f:
        json.dump([dialogue("2_00000")], f)
    assert convert_dir(tmp_path, tmp_path / "out") == {"train": 2}
    pairs = read_pairs(tmp_path / "out" / "train.jsonl.gz")
    assert [p["id"] for p in pairs] == ["2_00000:1", "10_00000:1"]
    assert pairs[0]["services"] == ["B_1", "A_1"] and pairs[0]["reply_acts"] == ["GOODBYE"]
    assert intent_of(pairs[0]) == "GOODBYE"


def test_convert_dir_errors(tmp_path: Path) -> None:
    with pytest.raises(BenchError, match="none of train/, dev/, test/"):
        convert_dir(tmp_path, tmp_path / "out")
    (tmp_path / "dev").mkdir()
    bad = tmp_path / "dev" / "dialogues_001.json"
    bad.write_text('[{"dialogue_id": "1_0", ')
    with pytest.raises(BenchError, match="dialogues_001.json"):
        convert_dir(tmp_path, tmp_path / "out")
    bad.write_text('[{"dialogue_id": "1_0", "services": [], "turns": [{"speaker": "SYSTEM"}]}]')
    with pytest.raises(BenchError, match=r"dialogues_001\.json: dialogue 1_0 turn 0"):
        convert_dir(tmp_path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_intent_of() -> None:
    assert intent_of(PAIR) == "INFORM+THANK_YOU"


@pytest.mark.parametrize("gz", [False, True])
def test_read_pairs_malformed_line(tmp_path: Path, gz: bool) -> None:
    path = tmp_path / ("pairs.jsonl.gz" if gz else "pairs.jsonl")
    lines = [json.dumps(PAIR), json.dumps({**PAIR, "id": "1_00000:3"}), "{not json"]
    data = ("\n".join(lines) + "\n").encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    with pytest.raises(BenchError, match=rf"{path.name}:3: invalid JSON"):
        read_pairs(path)
    path.write_text(
        json.dumps(PAIR) + "\n" + json.dumps({k: v for k, v in PAIR.items() if k != "reply"}) + "\n"
    )
    if gz:
        path.write_bytes(gzip.compress(path.read_bytes()))
    with pytest.raises(BenchError, match=rf"{path.name}:2: missing field\(s\) reply"):
        read_pairs(path)


def test_read_pairs_wrong_types(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({**PAIR, "reply_acts": "INFORM"}) + "\n")
    with pytest.raises(BenchError, match=r"pairs\.jsonl:1: field 'reply_acts' is not a list of strings"):
        read_pairs(path)
    path.write_text("[1, 2]\n")
    with pytest.raises(BenchError, match=r"pairs\.jsonl:1: not a JSON object"):
        read_pairs(path)


def test_read_pairs_plain_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps(PAIR) + "\n\n")
    assert read_pairs(path) == [PAIR]


def test_read_pairs_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl.gz"
    with pytest.raises(BenchError, match="nope.jsonl.gz") as err:
        read_pairs(path)
    assert "dstc8-schema-guided-dialogue" in str(err.value)
    assert "python -m bench data sgd --from DIR --out DIR" in str(err.value)


def test_read_pairs_not_gzip(tmp_path: Path) -> None:
    path = tmp_path / "pairs.jsonl.gz"
    path.write_text(json.dumps(PAIR) + "\n")
    with pytest.raises(BenchError, match="pairs.jsonl.gz: cannot read"):
        read_pairs(path)


def test_read_pairs_folder_and_undecodable_bytes(tmp_path: Path) -> None:
    folder = tmp_path / "pairs.jsonl.gz"
    folder.mkdir()
    with pytest.raises(BenchError, match=r"pairs\.jsonl\.gz: is a folder"):
        read_pairs(folder)
    path = tmp_path / "pairs.jsonl"
    path.write_bytes(json.dumps(PAIR).encode() + b"\n\xff\n")
    with pytest.raises(BenchError, match=r"pairs\.jsonl:2: not UTF-8 text") as err:
        read_pairs(path)
    assert "\n" not in str(err.value)


def test_read_shared_dev(sgd: Path) -> None:
    pairs = read_pairs(DEV)
    assert len(pairs) == 17286
    assert len({intent_of(p) for p in pairs}) > 10
