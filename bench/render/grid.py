"""The two table layouts every command prints: aligned plain text for terminals and logs, markdown for CI
summaries and pull requests. One of each, so that `report` and `check` tables look and escape alike."""

from __future__ import annotations

from collections.abc import Sequence


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Left-aligned columns two spaces apart, a dashed rule under the headers, no trailing spaces."""
    widths = [max([len(h), *(len(line[i]) for line in rows)]) for i, h in enumerate(headers)]
    lines = [headers, ["-" * w for w in widths], *rows]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table; a `|` inside a cell is escaped so it cannot split the cell."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(v.replace("|", "\\|") for v in line) + " |" for line in rows]
    return "\n".join(lines)
