"""The PostgreSQL server is away (restarting, failing over) while daemons share it.

Old code: every `telegram.leader_retry` (15 s) the try to take the command readers'
leadership logged "cannot reach the database to take leadership" with psycopg's and
SQLAlchemy's chained tracebacks (about 90 lines) for as long as the server was away, and
the daemon then said "another daemon reads the bot's commands now", which none did.
Seen on a real daemon whose server was stopped for 10 s. The server here is a loopback
port nothing listens on: connections are refused, as during a restart.
"""

from __future__ import annotations

import logging
import socket

import pytest

from storage.db import Database
from storage.locks import COMMANDS_LOCK, Leadership


def refused_url() -> str:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql+psycopg://crackdown@127.0.0.1:{port}/crackdown"


def test_leadership_with_the_server_away_is_one_line_a_try(
    caplog: pytest.LogCaptureFixture,
) -> None:
    db = Database(refused_url())
    leader = Leadership(db, COMMANDS_LOCK)
    try:
        with caplog.at_level(logging.WARNING, logger="storage.locks"):
            assert leader.hold() is False
            assert leader.hold() is False
    finally:
        db.dispose()
    records = [r for r in caplog.records if r.name == "storage.locks"]
    assert len(records) == 2 and all(r.exc_info is None for r in records)
    said = records[0].getMessage()
    assert said.startswith("cannot reach the database to take leadership: connection failed")
    assert "\n" not in said and "Connection refused" in said
    assert leader.unreachable is not None and "Connection refused" in leader.unreachable
