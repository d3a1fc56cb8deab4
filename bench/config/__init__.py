"""bench.toml: what it can say (schema.py) and the one place it is read (load.py)."""

from bench.config.load import config_from_dict, load_config, parse_strategy
from bench.config.schema import *  # noqa: F403 - the schema's dataclasses are the package's public names
from bench.config.schema import __all__ as _schema

__all__ = [*_schema, "config_from_dict", "load_config", "parse_strategy"]
