"""Checking user-supplied values against type hints, and suggesting the name a typo meant: shared by bench.toml
loading and strategy parameters, so both reject bad input with the same one-line messages."""

from __future__ import annotations

import difflib
from typing import Any, Literal, get_args, get_origin

from bench.errors import BenchError


def did_you_mean(name: str, choices: list[str], cutoff: float = 0.6) -> str:
    """' (did you mean 'x'?)' for the closest choice, or '' when nothing is close."""
    close = difflib.get_close_matches(name, choices, n=1, cutoff=cutoff)
    return f" (did you mean {close[0]!r}?)" if close else ""


def coerce(value: Any, hint: Any, where: str, fix: str = "") -> Any:
    """`value` as the type `hint` allows (int, float, bool, str, a Literal, or one of them | None); a wrong type
    is a BenchError naming `where`, ending with `fix` (e.g. '; fix it in bench.toml')."""
    if get_origin(hint) is Literal:
        if value not in get_args(hint):
            raise BenchError(f"{where} must be one of {', '.join(map(repr, get_args(hint)))}, got {value!r}{fix}")
        return value
    options = get_args(hint) if get_origin(hint) is not None and type(None) in get_args(hint) else (hint,)
    for option in options:
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if option is bool and isinstance(value, bool):
            return value
        if option in (int, str) and isinstance(value, option) and not isinstance(value, bool):
            return value
        if isinstance(option, type) and option not in (int, float, bool, str) and isinstance(value, option):
            return value
    expected = " or ".join(getattr(o, "__name__", str(o)) for o in options if o is not type(None))
    raise BenchError(f"{where} must be {expected}, got {value!r}{fix}")
