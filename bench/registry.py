"""One typed registry for strategies: a decorator, duplicate names rejected, did-you-mean on lookup."""

from __future__ import annotations

import dataclasses
import importlib
from dataclasses import dataclass
from importlib import metadata
from typing import Any, ClassVar, Generic, TypeVar, get_type_hints

from bench.errors import BenchError
from bench.model.encoder import BiEncoder
from bench.validate import coerce, did_you_mean


class Strategy:
    """A training-time reduction strategy: a frozen dataclass of parameters that changes the model
    before fine-tuning. Subclasses set `trains = False` to evaluate without training."""

    trains: ClassVar[bool] = True

    def prepare(self, model: BiEncoder) -> None:
        """Change the model in place before fine-tuning (drop layers, freeze modules, ...)."""


S = TypeVar("S", bound=Strategy)


@dataclass(frozen=True)
class Entry(Generic[S]):
    name: str
    cls: type[S]
    description: str

    def parameters(self) -> dict[str, Any]:
        return {f.name: f.default for f in dataclasses.fields(self.cls)}


class Registry:
    """Name -> strategy class. Built-in strategies register exactly like a user's would."""

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, description: str | None = None):
        def decorate(cls: type[S]) -> type[S]:
            if name in self._entries:
                raise ValueError(f"strategy {name!r} is already registered by {self._entries[name].cls!r}")
            if not (isinstance(cls, type) and issubclass(cls, Strategy) and dataclasses.is_dataclass(cls)):
                raise TypeError(f"strategy {name!r} must be a dataclass subclassing bench.registry.Strategy")
            text = description or (cls.__doc__ or "").strip().splitlines()[0]
            self._entries[name] = Entry(name, cls, text)
            return cls

        return decorate

    def names(self) -> list[str]:
        return sorted(self._entries)

    def entries(self) -> list[Entry]:
        return [self._entries[n] for n in self.names()]

    def get(self, name: str) -> Entry:
        if name not in self._entries:
            hint = did_you_mean(name, list(self._entries), cutoff=0.5)
            raise BenchError(f"unknown strategy {name!r}{hint}; `python -m bench list` shows the strategies")
        return self._entries[name]

    def build(self, name: str, params: dict[str, Any] | tuple = ()) -> Strategy:
        """Instantiate with type-checked parameters; unknown parameters are errors."""
        entry = self.get(name)
        hints = get_type_hints(entry.cls)
        allowed = [f.name for f in dataclasses.fields(entry.cls)]
        values = {}
        for key, value in dict(params).items():
            if key not in allowed:
                raise BenchError(f"strategy {name!r} has no parameter {key!r}; its parameters: "
                                 f"{', '.join(allowed) or 'none'}")
            values[key] = coerce(value, hints[key], f"{name}.{key}")
        try:
            return entry.cls(**values)
        except ValueError as exc:
            raise BenchError(f"strategy {name!r}: {exc}") from None


REGISTRY = Registry()
register = REGISTRY.register


PLUGIN_GROUP = "bench.strategies"
"""Entry-point group of packages that register strategies; the built-in `strategies` package is one of them."""


def load_plugins(modules: tuple[str, ...] = ()) -> Registry:
    """Import every package registered under the `bench.strategies` entry-point group (the built-ins
    included), then the user modules named in bench.toml `plugins`."""
    for entry_point in metadata.entry_points(group=PLUGIN_GROUP):
        entry_point.load()
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise BenchError(f"cannot import strategy plugin {module!r}: {exc}; fix `plugins` in bench.toml") from None
    return REGISTRY
