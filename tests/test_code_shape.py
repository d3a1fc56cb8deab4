"""The code keeps the shape a newcomer can read: no module in bench/, strategies/ or dashboard/ over 400 lines, no
function over 60, and no module that edits sys.path (the packages are installed; nothing finds them by hand)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PACKAGES = ("bench", "strategies", "dashboard")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def modules() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


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
    too_long = {str(p.relative_to(ROOT)): n for p in modules()
                if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES}
    assert too_long == {}


def test_no_function_over_60_lines():
    too_long = {f"{p.relative_to(ROOT)}:{name}": n for p in modules()
                for name, n in long_functions(p.read_text())}
    assert too_long == {}


def edits_sys_path(source: str) -> bool:
    """Whether the code touches `sys.path` (an attribute read or call on it: append, insert, assignment)."""
    return any(isinstance(node, ast.Attribute) and node.attr == "path" and isinstance(node.value, ast.Name)
               and node.value.id == "sys" for node in ast.walk(ast.parse(source)))


def test_no_module_edits_sys_path():
    assert edits_sys_path("import sys\nsys.path.insert(0, '.')\n")
    assert not edits_sys_path("import os\nos.path.join('a', 'b')\n")
    assert [str(p.relative_to(ROOT)) for p in modules() if edits_sys_path(p.read_text())] == []
