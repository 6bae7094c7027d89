"""Shared fixtures: real loopback peers and a real SQLite file per test."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from crackdown.demo.site import LoopbackSite
from crackdown.standin import BotApiStandIn
from storage.db import Database

DATA = Path(__file__).parent / "data"
# As the CLI does: PTB's RetryAfter carries a timedelta, without a deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "1")
TOKEN = "424242:TEST-TOKEN-aaaaBBBBccccDDDD"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """In-process CLI calls configure logging; put it back for the next test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite() as server:
        yield server


@pytest.fixture
def standin() -> Iterator[BotApiStandIn]:
    with BotApiStandIn(TOKEN, bot_username="crackdown_test_bot") as server:
        yield server


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    database.upgrade()
    yield database
    database.dispose()
