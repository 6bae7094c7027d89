"""The SQLite checkpointer thread meets an error: it logs one line and goes on.

`storage.db.WalCheckpointer` copies the write-ahead log into the database file
after commits, in a thread of its own. Old code guarded only the checkpoint, and
logged its failures at debug level: an exception from its pause (time.sleep) ended
the thread, and no commit was checkpointed by it again, with no line in the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database

REAL_SLEEP: Callable[[float], None] = time.sleep


def open_database(folder: Path) -> tuple[Database, Path]:
    folder.mkdir()
    path = folder / "crackdown.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    return db, path


def fill(db: Database, rows: int) -> None:
    with db.session() as session:
        session.execute(
            text("INSERT INTO notices (kind, text, created_at) VALUES (:k, :t, :c)"),
            [{"k": "probe", "t": "x" * 900, "c": "2026-12-07 00:00:00.000000"}] * rows,
        )


def checkpointed(db: Database, path: Path) -> bool:
    """Commit about 100 pages (under SQLite's own autocheckpoint) and wait for the thread
    to copy them into the database file."""
    before = path.stat().st_size
    fill(db, 400)
    deadline = time.monotonic() + 10
    while path.stat().st_size <= before + 200_000 and time.monotonic() < deadline:
        REAL_SLEEP(0.05)
    return path.stat().st_size > before + 200_000


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "storage.db" and r.levelno >= logging.WARNING
    ]


def test_an_exception_from_its_pause_does_not_end_the_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    db, path = open_database(tmp_path / "data")
    failed: list[str] = []

    def sleep(seconds: float) -> None:  # the checkpointer's first pause fails, once
        name = threading.current_thread().name
        if name.startswith("sqlite-checkpoint") and not failed:
            failed.append(name)
            raise OSError("sleep interrupted")
        REAL_SLEEP(seconds)

    monkeypatch.setattr(time, "sleep", sleep)
    try:
        with caplog.at_level(logging.WARNING, logger="storage.db"):
            fill(db, 1)  # starts the thread; its pause fails
            deadline = time.monotonic() + 10
            while not failed and time.monotonic() < deadline:
                REAL_SLEEP(0.05)
            assert failed
            REAL_SLEEP(0.2)
            assert checkpointed(db, path), "the thread died: the commit stayed in the WAL"
        assert warnings(caplog) == ["background WAL checkpoint failed: sleep interrupted"]
    finally:
        db.dispose()


def test_a_failing_checkpoint_is_one_warning_and_the_next_one_succeeds(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The checkpointer opens its own connection: with the database's folder moved away
    it cannot (SQLite: "unable to open database file"), while the pool's stay open."""
    db, path = open_database(tmp_path / "data")
    moved = tmp_path / "moved"
    try:
        with db.engine.connect():  # the pool's connection is open before the folder moves
            pass
        with caplog.at_level(logging.DEBUG, logger="storage.db"):
            path.parent.rename(moved)
            for _ in range(3):  # three commits, three failed checkpoints: one warning
                fill(db, 1)
                REAL_SLEEP(0.4)
            moved.rename(path.parent)
            assert checkpointed(db, path)
        assert warnings(caplog) == [
            "background WAL checkpoint failed: unable to open database file"
        ]
    finally:
        db.dispose()
