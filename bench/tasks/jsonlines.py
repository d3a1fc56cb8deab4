"""One reader of JSON-lines data files (plain or gzipped) for every task format.

Every way a file can be wrong ends in a one-line BenchError that names the file, and the line where
there is one, so a user fixes the data instead of reading a traceback. Each caller passes a check that
turns one decoded line into its record, and the advice printed after every error.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from bench.errors import BenchError

T = TypeVar("T")


class BadRecord(ValueError):
    """Raised by a record check: what is wrong with one decoded line (the reader adds file:line)."""


def read_json_lines(path: Path, record: Callable[[object], T], *, fix: str, missing: str,
                    bad_json: str = "invalid JSON") -> list[T]:
    """`record(obj)` for every non-blank line of `path` (``.gz`` is decompressed).

    `fix` follows every error about the file's content; `missing` follows the error for a file that does
    not exist; `bad_json` is what a line that does not parse is called.
    """
    path = Path(path)
    records = []
    try:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as lines:
            for number, raw in enumerate(lines, 1):
                if not raw.strip():
                    continue
                where = f"{path}:{number}"
                try:
                    obj = json.loads(raw.decode("utf-8"))
                except UnicodeDecodeError:
                    raise BenchError(f"{where}: not UTF-8 text; {fix}") from None
                except json.JSONDecodeError as exc:
                    raise BenchError(f"{where}: {bad_json} ({exc.msg} at column {exc.colno}); {fix}") from None
                try:
                    records.append(record(obj))
                except BadRecord as exc:
                    raise BenchError(f"{where}: {exc}; {fix}") from None
    except FileNotFoundError:
        raise BenchError(f"{path}: no such file; {missing}") from None
    except IsADirectoryError:
        raise BenchError(f"{path}: is a folder, not a JSON-lines file; {missing}") from None
    except (OSError, EOFError, zlib.error) as exc:
        raise BenchError(f"{path}: cannot read ({exc}); {fix}") from None
    return records
