"""The code keeps the shape a newcomer can read: no module in bench/ over 400 lines, no function over 60."""

from __future__ import annotations

import ast
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    return sorted(p for p in BENCH.rglob("*.py") if "migrations" not in p.parts)


def long_functions(source: str) -> list[tuple[str, int]]:
    """(name, lines) of every function or method longer than the limit, decorators and docstring included."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            length = node.end_lineno - first + 1
            if length > MAX_FUNCTION_LINES:
                found.append((node.name, length))
    return found


def test_the_limits_catch_what_they_name():
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    assert long_functions(f"def f():\n{body}\n") == [("f", MAX_FUNCTION_LINES + 1)]
    assert long_functions(f"class C:\n    def g(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n") == [
        ("g", MAX_FUNCTION_LINES + 1)]
    assert long_functions("def f():\n    return 1\n") == []


def test_no_module_over_400_lines():
    assert modules(), BENCH
    too_long = {str(p.relative_to(BENCH)): n for p in modules()
                if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert too_long == {}


def test_no_function_over_60_lines():
    too_long = {f"{p.relative_to(BENCH)}:{name}": n for p in modules()
                for name, n in long_functions(p.read_text())}
    assert too_long == {}
