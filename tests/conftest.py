"""Shared fixtures: a tiny random BERT, a toy task folder, one PostgreSQL server for the whole session, the
dashboard app under streamlit's AppTest.

Helpers a test calls with arguments live in tests/support/ (models, suites, the `bench` subprocess, stored runs);
no test module imports another."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import torch
from transformers import BertModel

from bench.registry import load_plugins
from bench.tasks.toy import write_task
from tests.support import pgserver
from tests.support.cli import ROOT
from tests.support.models import tiny_bert
from tests.support.stored import STATS

load_plugins()


@pytest.fixture
def tiny_encoder() -> BertModel:
    return tiny_bert()


@pytest.fixture
def task_dir(tmp_path: Path) -> Path:
    return write_task(tmp_path / "task")


@pytest.fixture
def inputs() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 200, (4, 10), generator=generator)
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    mask[3, 3:] = 0
    return ids, mask


@pytest.fixture(scope="session")
def pg_server() -> pgserver.Server:
    """Started once, on first use; tests skip with the reason when PostgreSQL is not installed here."""
    reason = pgserver.unavailable()
    if reason:
        pytest.skip(reason)
    server = pgserver.Server()
    try:
        server.start()
    except subprocess.CalledProcessError as exc:
        server.stop()
        pytest.skip(f"cannot start a local PostgreSQL server: {exc.stderr.strip() or exc}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server: pgserver.Server) -> str:
    """A fresh, empty database of the session's server."""
    return pg_server.new_database()


@pytest.fixture
def app(monkeypatch, tmp_path):
    """An AppTest factory reading a given DB, with a small bootstrap (bench.toml's [stats] via BENCH_CONFIG)."""
    from streamlit.testing.v1 import AppTest

    config = tmp_path / "bench.toml"
    config.write_text(f"[stats]\nbootstrap_samples = {STATS.bootstrap_samples}\n")
    monkeypatch.setenv("BENCH_CONFIG", str(config))

    def start(url: str) -> AppTest:
        monkeypatch.setenv("BENCH_DB", url)
        at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=60)
        at.run()
        assert not at.exception, at.exception[0].value if at.exception else ""
        return at

    return start
