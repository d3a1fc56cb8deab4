"""docs/architecture.md is checked against the tree: every path it names exists, and every sub-package of bench/
is in its layout block, so the map cannot drift from the code whatever the doc is rewritten to say."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.cli import ROOT

DOC = ROOT / "docs" / "architecture.md"
TOPS = ("bench", "dashboard", "strategies", "tests", "benchmarks", "docs")
PATH = re.compile(rf"(?<![\w./-])(?:{'|'.join(TOPS)})/[\w./-]*")
"""A repository path as the doc writes it: `bench/model/encoder.py`, `bench/config/`."""
FILE = re.compile(r"(?<![\w./-])\w+\.py\b")
"""A bare module name in a layout row's description: a file in that row's folder (`model/  ... (catalog.py)`);
other bare names (bench.toml) are the repository's root files."""
ROW = re.compile(r"^( *)([\w.-]+/?)(?: {2,}(.*))?$")


def layout(text: str) -> list[str]:
    """The first fenced block: the layout tree, one entry a line, indented under its folder."""
    match = re.search(r"^```[^\n]*\n(.*?)^```", text, re.S | re.M)
    return match.group(1).splitlines() if match else []


def tree_paths(lines: list[str]) -> tuple[list[str], list[str]]:
    """(entries, mentions) of the layout: each row's path from its indentation (`  config/` under `bench/` is
    bench/config/), and the paths its descriptions name, bare file names resolved against the row's folder.
    A continuation line (indented text with no entry of its own) belongs to the row above it."""
    entries, mentions, parents = [], [], []
    folder = ""
    for line in lines:
        row = ROW.match(line)
        if row and (len(row.group(1)) <= 2 * len(parents)) and (row.group(3) is not None or
                                                                  row.group(2).endswith("/")):
            depth = len(row.group(1)) // 2
            parents = parents[:depth]
            path = "".join(parents) + row.group(2)
            entries.append(path)
            folder = path if path.endswith("/") else "".join(parents)
            if path.endswith("/"):
                parents.append(row.group(2))
            description = row.group(3) or ""
        else:
            description = line
        mentions += PATH.findall(description)
        without = PATH.sub(" ", description)
        mentions += [folder + name for name in FILE.findall(without)]
    return entries, mentions


def prose_paths(text: str) -> list[str]:
    """Paths in backticks outside the layout block (`bench/registry.py`)."""
    block = "\n".join(layout(text))
    rest = text.replace(block, "")
    return [p for code in re.findall(r"`([^`\n]+)`", rest) for p in PATH.findall(code)]


def missing(paths: list[str], root: Path = ROOT) -> list[str]:
    return sorted({p for p in paths if not (root / p.rstrip("/")).exists()})


def unnamed_packages(named_paths: list[str], root: Path = ROOT) -> list[str]:
    """The sub-packages of bench/ that the layout names neither as a row nor as a folder in a description."""
    named = {e.rstrip("/") for e in named_paths}
    packages = [p for p in sorted((root / "bench").iterdir()) if (p / "__init__.py").exists()]
    return [f"bench/{p.name}/" for p in packages if f"bench/{p.name}" not in named]


def test_every_path_the_architecture_doc_names_exists():
    text = DOC.read_text()
    entries, mentions = tree_paths(layout(text))
    assert entries and prose_paths(text), "the layout block or the prose paths were not found"
    stale = missing(entries + mentions + prose_paths(text))
    assert not stale, f"docs/architecture.md names paths that do not exist: {', '.join(stale)}"


def test_every_bench_sub_package_is_in_the_architecture_doc():
    entries, mentions = tree_paths(layout(DOC.read_text()))
    left_out = unnamed_packages(entries + mentions)
    assert not left_out, f"docs/architecture.md's layout leaves out: {', '.join(left_out)}"


def test_the_checks_catch_a_stale_path_and_a_package_left_out(tmp_path):
    for folder in ("bench/config", "bench/model", "bench/extra", "tests"):
        (tmp_path / folder).mkdir(parents=True)
    for file in ("bench/config/__init__.py", "bench/config/load.py", "bench/model/__init__.py",
                 "bench/extra/__init__.py", "bench/registry.py", "tests/conftest.py"):
        (tmp_path / file).write_text("")
    text = ("# Layout\n\n```\nbench/             the harness; see bench/registry.py, bench/model/\n"
            "  config/          bench.toml (load.py, schema.py)\n  registry.py      the registry\n"
            "  model/           the encoders, run by\n                   encoder.py\n"
            "tests/             fixtures in conftest.py\n```\n\n"
            "`bench/cli.py` reads it, `bench/config/` holds it, and `python -m bench` runs.\n")
    entries, mentions = tree_paths(layout(text))
    assert entries == ["bench/", "bench/config/", "bench/registry.py", "bench/model/", "tests/"]
    assert mentions == ["bench/registry.py", "bench/model/", "bench/config/load.py", "bench/config/schema.py",
                        "bench/model/encoder.py", "tests/conftest.py"]
    assert prose_paths(text) == ["bench/cli.py", "bench/config/"]
    assert missing(entries + mentions + prose_paths(text), tmp_path) == [
        "bench/cli.py", "bench/config/schema.py", "bench/model/encoder.py"]
    assert unnamed_packages(entries, tmp_path) == ["bench/extra/"]
    assert unnamed_packages(["bench/", "bench/config/load.py", "bench/model/"], tmp_path) == [
        "bench/config/", "bench/extra/"]  # a file in a package does not name the package
