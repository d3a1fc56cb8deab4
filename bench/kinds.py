"""One registry kind for everything a plugin may add (strategies, task kinds, models): a decorator, duplicate
names rejected, did-you-mean on lookup, and plugins found through entry points. It sits at the bottom of bench so
that the layers that own each kind (tasks, model, registry) can all hold an instance without importing each other.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import metadata
from typing import Generic, TypeVar

from bench.errors import BenchError
from bench.validate import did_you_mean

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registered name: what it names (a class or a loader function) and a one-line description."""

    name: str
    obj: T
    description: str


class Kind(Generic[T]):
    """Name -> object for one kind of plugin. Built-ins register through `register` exactly like a plugin would.

    `noun` names the kind in messages ("strategy", "task kind", "model"); `group` is the entry-point group whose
    packages register more of it when imported; `reserved` holds characters a name may not contain (they separate
    parameters in a spec); `fix` ends the unknown-name error with what to do instead (`{names}` in it: the
    names registered when the error is raised, plugins' included)."""

    def __init__(self, noun: str, group: str, reserved: str = "", fix: str = "") -> None:
        self.noun, self.group, self.reserved = noun, group, reserved
        self.fix = fix or f"`python -m bench list` shows the {noun} names"
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, description: str | None = None) -> Callable[[T], T]:
        """A decorator adding `name` -> the decorated object; the description defaults to its docstring's first
        line."""

        def decorate(obj: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.noun} {name!r} is already registered by {self._entries[name].obj!r}")
            if not name.strip():
                raise ValueError(f"a {self.noun} name may not be empty")
            if any(char in name for char in self.reserved):
                shown = ", ".join(repr(c) for c in self.reserved)
                raise ValueError(f"{self.noun} name {name!r} may not hold {shown}: they separate specs")
            self.check(name, obj)
            text = description or ((getattr(obj, "__doc__", None) or "").strip().splitlines() or [""])[0]
            self._entries[name] = self.entry(name, obj, text)
            return obj

        return decorate

    def check(self, name: str, obj: T) -> None:
        """Reject an object that cannot be this kind (a subclass's rule); nothing by default."""

    def entry(self, name: str, obj: T, description: str) -> Entry[T]:
        """The record kept for a registration (a subclass may keep a richer one)."""
        return Entry(name, obj, description)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        return [self._entries[n] for n in self.names()]

    def get(self, name: str, where: str = "") -> Entry[T]:
        """The entry, or a one-line BenchError with a did-you-mean; `where` prefixes it (e.g. "task 'x' has")."""
        if name not in self._entries:
            hint = did_you_mean(name, list(self._entries), cutoff=0.5)
            lead = f"{where} unknown" if where else "unknown"
            raise BenchError(f"{lead} {self.noun} {name!r}{hint}; {self.fix.format(names=', '.join(self.names()))}")
        return self._entries[name]


def import_plugins(groups: Iterable[str], modules: Iterable[str] = ()) -> None:
    """Import every package registered under the entry-point `groups`, then the user `modules` (bench.toml
    `plugins`); each registers what it adds when imported, so one module may add several kinds."""
    for group in groups:
        for entry_point in metadata.entry_points(group=group):
            entry_point.load()
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise BenchError(f"cannot import plugin {module!r}: {exc}; fix `plugins` in bench.toml") from None
