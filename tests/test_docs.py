"""The documentation holds: the generated references match the parser and the schema, every link resolves (files
and #anchors), and the README stays a short front page."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from tests.support.cli import ROOT

PAGES = sorted([ROOT / "README.md", ROOT / "benchmarks" / "README.md", *(ROOT / "docs").rglob("*.md")])
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def _generator():
    spec = importlib.util.spec_from_file_location("generate_reference", ROOT / "docs" / "generate_reference.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def slugs(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens (code fences skipped)."""
    found, fence = set(), False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            fence = not fence
        elif not fence and line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return found


def links(page: Path) -> list[str]:
    text, fence, out = page.read_text().splitlines(), False, []
    for line in text:
        if line.startswith("```"):
            fence = not fence
        elif not fence:
            out += [a or b for a, b in LINK.findall(line)]
    return out


@pytest.mark.parametrize("name", ["cli.md", "configuration.md"])
def test_the_generated_references_are_current(name):
    generator = _generator()
    expected = generator.PAGES[name]()
    assert (ROOT / "docs" / "reference" / name).read_text() == expected, \
        "stale: run `python docs/generate_reference.py`"


def test_every_link_resolves():
    broken = []
    for page in PAGES:
        for target in links(page):
            if re.match(r"^[a-z]+://|^mailto:", target):
                continue
            path, _, anchor = target.partition("#")
            destination = (page.parent / path).resolve() if path else page
            if not destination.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and destination.suffix == ".md" and anchor not in slugs(destination):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_link_check_catches_a_broken_link(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\nsee [there](#nowhere) and [file](missing.md) and [ok](#title)\n")
    assert links(page) == ["#nowhere", "missing.md", "#title"] and slugs(page) == {"title"}


def test_the_readme_is_a_short_front_page_with_its_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) < 200
    assert 'pip install -e . && python -m bench run' in readme
    assert 'pip install -e ".[test]" && python -m pytest -q' in readme
    assert 'python -m pytest -q' in (ROOT / ".ci" / "run").read_text()
