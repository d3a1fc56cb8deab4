"""The generated bad data folders, flags and databases for tests/test_bad_input.py."""

from __future__ import annotations

import gzip
import json
import random
import sqlite3
from collections.abc import Callable
from pathlib import Path

from tests.support.bad_config import Case, Env, base_config, mutated
from tests.support.suites import toml_text

# ---------------------------------------------------------------------------------------------------------- data

GOOD = {"message": "hello about topic0", "reply": "reply 0 way 0", "intent": "topic0"}


def _data_case(case_id: str, change: Callable[[Path], None], fragment: str) -> Case:
    def build(env: Env) -> list[str]:
        change(env.task)
        return ["run", "--task", str(env.task), "--db", env.valid_url, "--quiet"]

    return Case(case_id, build, fragment)


def _append(split: str, data: str | bytes) -> Callable[[Path], None]:
    def change(task: Path) -> None:
        with (task / f"{split}.jsonl").open("ab") as out:
            out.write(data if isinstance(data, bytes) else data.encode())

    return change


def _replace(split: str, data: str | bytes) -> Callable[[Path], None]:
    return lambda task: (task / f"{split}.jsonl").write_bytes(data if isinstance(data, bytes) else data.encode())


def _folder_instead(split: str) -> Callable[[Path], None]:
    def change(task: Path) -> None:
        (task / f"{split}.jsonl").unlink()
        (task / f"{split}.jsonl").mkdir()

    return change


def _remove(split: str) -> Callable[[Path], None]:
    return lambda task: (task / f"{split}.jsonl").unlink()


def _symlink_loop(task: Path) -> None:
    (task / "train.jsonl").unlink()
    (task / "train.jsonl").symlink_to(task / "train.jsonl")


def _novel_test_replies(task: Path) -> None:
    rows = [{"message": f"question {i}", "reply": f"a reply nobody trained on {i}"} for i in range(5)]
    (task / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


BAD_LINES: dict[str, str | bytes] = {
    "bad-json": '{"message": "hi", "reply": }\n', "truncated-json": '{"message": "hi"',
    "list": "[1, 2]\n", "string": '"just text"\n', "null": "null\n", "number": "42\n",
    "message-int": json.dumps({**GOOD, "message": 5}) + "\n",
    "reply-list": json.dumps({**GOOD, "reply": ["r"]}) + "\n",
    "intent-int": json.dumps({**GOOD, "intent": 3}) + "\n", "message-nan": '{"message": NaN, "reply": "r"}\n',
    "missing-message": json.dumps({"reply": "r"}) + "\n", "missing-reply": json.dumps({"message": "m"}) + "\n",
    "empty-message": json.dumps({**GOOD, "message": ""}) + "\n",
    "blank-reply": json.dumps({**GOOD, "reply": "  "}) + "\n", "empty-object": "{}\n",
    "latin1": '{"message": "caf\xe9", "reply": "r"}\n'.encode("latin-1"), "binary": bytes(range(256)) + b"\n",
}


def data_cases() -> list[Case]:
    cases = []
    for name, line in BAD_LINES.items():
        for split in ("train", "test", "dev") if name in ("bad-json", "message-int", "latin1") else ("train",):
            cases.append(_data_case(f"data-{split}-{name}", _append(split, line), f"{split}.jsonl:"))
    cases += [
        _data_case("data-train-utf16", _replace("train", json.dumps(GOOD).encode("utf-16")), "train.jsonl"),
        _data_case("data-train-gzipped", _replace("train", gzip.compress(json.dumps(GOOD).encode())), "train.jsonl"),
        _data_case("data-train-empty", _replace("train", ""), "train.jsonl"),
        _data_case("data-test-empty", _replace("test", ""), "test.jsonl"),
        _data_case("data-train-blank-lines", _replace("train", "\n  \n\t\n"), "train.jsonl"),
        _data_case("data-train-symlink-loop", _symlink_loop, "train.jsonl"),
        _data_case("data-whitelist-has-no-test-reply", _novel_test_replies, "whitelist"),
    ]
    cases += [_data_case(f"data-{split}-is-a-folder", _folder_instead(split), f"{split}.jsonl")
              for split in ("train", "test", "dev")]
    cases += [_data_case(f"data-{split}-missing", _remove(split), f"{split}.jsonl") for split in ("train", "test")]
    cases += [Case("data-task-folder-missing", lambda env: ["run", "--task", env.path("nope"), "--quiet"], "nope"),
              Case("data-task-is-a-file", lambda env: ["run", "--task", str(env.task / "train.jsonl"), "--quiet"],
                   "train.jsonl")]

    def sgd_case(case_id: str, write: Callable[[Path], None], fragment: str) -> Case:
        def build(env: Env) -> list[str]:
            folder = env.tmp / "sgd"
            folder.mkdir()
            write(folder)
            doc = mutated(base_config(env), "tasks.sgd", {"path": str(folder)})
            (env.tmp / "sgd.toml").write_text(toml_text(doc))
            return ["--config", env.path("sgd.toml"), "run", "--task", "sgd", "--quiet"]

        return Case(case_id, build, fragment)

    row = {"id": "d1:0", "message": "m", "reply": "r", "service": "s", "intents": ["i"], "acts": ["a"]}
    gz = lambda text: gzip.compress(text.encode())  # noqa: E731
    sgd_files: dict[str, Callable[[Path], None]] = {
        "not-gzip": lambda f: [(f / n).write_text(json.dumps(row)) for n in ("train.jsonl.gz", "dev.jsonl.gz")],
        "bad-json": lambda f: [(f / n).write_bytes(gz("{nope\n")) for n in ("train.jsonl.gz", "dev.jsonl.gz")],
        "bad-record": lambda f: [(f / n).write_bytes(gz('{"id": 1}\n')) for n in ("train.jsonl.gz", "dev.jsonl.gz")],
        "truncated-gzip": lambda f: [(f / n).write_bytes(gz(json.dumps(row) * 50)[:30])
                                     for n in ("train.jsonl.gz", "dev.jsonl.gz")],
        "missing": lambda f: None,
        "folder-instead": lambda f: [(f / n).mkdir() for n in ("train.jsonl.gz", "dev.jsonl.gz")],
    }
    cases += [sgd_case(f"data-sgd-{name}", write, "jsonl.gz") for name, write in sgd_files.items()]
    return cases


# --------------------------------------------------------------------------------------------------------- flags

FLAG_VALUES = {
    "--seeds": ["0", "-1", "abc", "", ",", "1,a", "0,-1", "1.5", "nan"],
    "--max-train-pairs": ["0", "-1", "abc", "1.5", ""],
    "--epochs": ["0", "-1", "abc", "nan", "inf", "", "-0.0"],
    "--fraction": ["0", "-1", "abc", "1.5", "nan", "inf"],
    "--device": ["bogus", "cuda", "CPU"],
    "--strategy": ["no-such", "layer-drop:count=abc", "layer-drop:count", "layer-drop:cnt=1",
                   "layer-drop:which=middle"],
    "--suite": ["no-such"], "--task": ["no-such", ""],
    "--model": ["./no-such-model", "tiny-bert:layers=abc", "tiny-bert:depth=2", ""],
}


def _run_flag_case(flag: str, value: str) -> Case:
    def build(env: Env) -> list[str]:
        return ["run", "--task", str(env.task), "--db", env.valid_url, "--quiet", flag, value]

    fragment = {"--model": "", "--strategy": value.split(":")[0], "--suite": value, "--task": value}.get(flag, flag)
    fragment = fragment if value else flag
    return Case(f"flag-run{flag}={value!r}", build, fragment.lstrip("-"))


def flag_cases() -> list[Case]:
    cases = [_run_flag_case(flag, value) for flag, values in FLAG_VALUES.items() for value in values]
    cases += [Case(f"flag-dashboard--port={value!r}", lambda env, v=value: ["dashboard", "--db", env.valid_url,
                                                                             "--port", v], "--port")
              for value in ("0", "-1", "abc", "65536", "1.5", "", "99999999999999999999")]
    formats = {"report": [], "check": [], "export": ["--out", "out.txt"]}
    cases += [Case(f"flag-{command}--format={value!r}",
                   lambda env, c=command, v=value, x=extra: [c, "--db", env.valid_url, "--format", v, *x], "--format")
              for command, extra in formats.items() for value in ("bogus", "")]
    cases += [Case("flag-export-out-missing-folder",
                   lambda env: ["export", "--db", env.valid_url, "--out", env.path("nope/out.json")], "nope"),
              Case("flag-check-against-missing", lambda env: ["check", "--db", env.valid_url, "--against",
                                                              env.path("nope.json")], "nope.json"),
              Case("flag-check-against-not-json", lambda env: ["check", "--db", env.valid_url, "--against",
                                                               str(env.task / "train.jsonl")], "train.jsonl"),
              Case("flag-unknown-command", lambda env: ["frobnicate"], "frobnicate"),
              Case("flag-unknown-option", lambda env: ["run", "--no-such-option", "1"], "--no-such-option")]
    return cases


# ----------------------------------------------------------------------------------------------------- databases


def _write_file(name: str, data: bytes) -> Callable[[Env], str]:
    def make(env: Env) -> str:
        (env.tmp / name).write_bytes(data)
        return f"sqlite:///{env.tmp / name}"

    return make


def _sqlite(name: str, *statements: str) -> Callable[[Env], str]:
    def make(env: Env) -> str:
        with sqlite3.connect(env.tmp / name) as conn:
            for statement in statements:
                conn.execute(statement)
        conn.close()
        return f"sqlite:///{env.tmp / name}"

    return make


def _folder_db(env: Env) -> str:
    (env.tmp / "a-folder.db").mkdir()
    return f"sqlite:///{env.tmp / 'a-folder.db'}"


def _truncated(env: Env) -> str:
    (env.tmp / "truncated.db").write_bytes(env.valid_db.read_bytes()[:1500])
    return f"sqlite:///{env.tmp / 'truncated.db'}"


DB_SPECS: dict[str, Callable[[Env], str]] = {
    "not-a-url": lambda env: "not a url",
    "no-scheme": lambda env: "://u@h/x",
    "bad-port": lambda env: "postgresql+psycopg://u@127.0.0.1:ab/x",
    "port-out-of-range": lambda env: "postgresql+psycopg://u@127.0.0.1:70000/x",
    "unknown-dialect": lambda env: "nosuchdb://u@h/x",
    "unknown-driver": lambda env: "postgresql+nosuchdriver://u@h/x",
    "driver-not-installed": lambda env: "mysql://u@h/x",
    "sqlite-unknown-argument": lambda env: f"sqlite:///{env.tmp / 'q.db'}?foo=bar",
    "sqlite-bad-timeout": lambda env: f"sqlite:///{env.tmp / 'q.db'}?timeout=abc",
    "missing-folder": lambda env: f"sqlite:///{env.tmp / 'missing' / 'r.db'}",
    "parent-is-a-file": lambda env: f"sqlite:///{env.task / 'train.jsonl' / 'r.db'}",
    "directory": _folder_db,
    "random-bytes": _write_file("corrupt.db", random.Random(0).randbytes(8192)),
    "text-file": _write_file("notes.db", b"these are my notes, not a database\n" * 40),
    "truncated": _truncated,
    "foreign-schema": _sqlite("foreign.db", "create table customers (id int, name text)",
                              "insert into customers values (1, 'ada')"),
    "foreign-runs-table": _sqlite("other.db", "create table runs (id int, what text)"),
    "newer-schema": _sqlite("newer.db", "create table bench_meta (key varchar(64) primary key, value varchar(256))",
                            "insert into bench_meta values ('schema_version', '99')"),
    "unreachable-postgres": lambda env: "postgresql+psycopg://u@127.0.0.1:1/x",
}
PG_SPECS: dict[str, Callable[[Env], str]] = {
    "live-postgres-bad-database": lambda env: env.pg_url.rsplit("/", 1)[0] + "/no_such_database",
    "live-postgres-bad-user": lambda env: env.pg_url.replace("bench@", "nobody@"),
}
DB_COMMANDS: dict[str, Callable[[Env, str], list[str]]] = {
    "run": lambda env, url: ["run", "--task", str(env.task), "--quiet", "--db", url],
    "report": lambda env, url: ["report", "--db", url],
    "check": lambda env, url: ["check", "--db", url],
    "export": lambda env, url: ["export", "--db", url, "--out", env.path("out.json")],
}


def db_cases() -> list[Case]:
    cases = []
    for specs, needs_pg in ((DB_SPECS, False), (PG_SPECS, True)):
        for name, make in specs.items():
            for command, argv in DB_COMMANDS.items():
                cases.append(Case(f"db-{name}-{command}", lambda env, m=make, a=argv: a(env, m(env)), "",
                                  needs_pg))
    return cases
