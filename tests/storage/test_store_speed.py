"""What keeps the storing thread short (issue 20): band reads from the index alone, the WAL
copied into the database file by a thread of its own, not by the committing one."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, inspect, text

from storage.db import Database, WalCheckpointer
from storage.search import is_search_table
from storage.stories import _alerted_in

BAND_READ = (
    "SELECT band, hash, story_id, published_at FROM story_bands"
    " WHERE band = 3 AND hash IN (1, 2, 3) AND published_at BETWEEN '2026-01-01' AND '2026-02-01'"
)
# `storage.clusters._bucket_sizes`: the same walk, one row a bucket.
BAND_COUNT = (
    "SELECT band, hash, count(*), min(published_at), max(published_at) FROM story_bands"
    " WHERE band = 3 AND hash IN (1, 2, 3) AND published_at BETWEEN '2026-01-01' AND '2026-02-01'"
    " GROUP BY band, hash"
)


def test_band_reads_come_from_the_index_alone(db: Database) -> None:
    """`storage.clusters._candidates` reads half a million band rows in a first cycle."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    for statement in (BAND_READ, BAND_COUNT):
        with db.engine.connect() as connection:
            plan = " ".join(
                str(row[-1])
                for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}")
            )
        assert "COVERING INDEX ix_story_bands_bucket" in plan
        assert "TEMP B-TREE" not in plan  # grouped in the index's order


def _database_file(db: Database) -> Path:
    assert db.engine.url.database
    return Path(db.engine.url.database)


def _fill(db: Database, rows: int) -> None:
    with db.session() as session:
        session.execute(
            text("INSERT INTO notices (kind, text, created_at) VALUES (:k, :t, :c)"),
            [{"k": "bench", "t": "x" * 900, "c": "2026-12-06 00:00:00.000000"}] * rows,
        )


def test_a_commit_is_checkpointed_by_another_thread(db: Database) -> None:
    """A session's commit leaves its pages in the WAL; the checkpointer copies them soon after.

    Before, a commit of fewer than `wal_autocheckpoint` pages (1,000) stayed in the
    WAL until a later commit crossed it, and that commit (the storing thread's)
    copied everything.
    """
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write-ahead log")
    path = _database_file(db)
    _fill(db, 10)  # the schema's pages, checkpointed
    time.sleep(0.5)
    before = path.stat().st_size
    committing = threading.get_ident()
    seen: list[int] = []
    original = WalCheckpointer._checkpoint
    WalCheckpointer._checkpoint = lambda self: (seen.append(threading.get_ident()), original(self))  # type: ignore[method-assign]
    try:
        _fill(db, 400)  # about 100 pages: well under the autocheckpoint
        deadline = time.monotonic() + 10
        while path.stat().st_size <= before + 200_000 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        WalCheckpointer._checkpoint = original  # type: ignore[method-assign]
    assert path.stat().st_size > before + 200_000, "the commit's pages stayed in the WAL"
    assert seen and committing not in seen


def test_disposing_ends_the_checkpointer(db: Database) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write-ahead log")
    _fill(db, 5)
    mine = f"sqlite-checkpoint {Path(str(_database_file(db))).expanduser()}"
    assert [t for t in threading.enumerate() if t.name == mine and t.is_alive()]
    db.dispose()
    # (other tests' databases in this process may keep theirs: only this one's must end)
    assert not [t for t in threading.enumerate() if t.name == mine and t.is_alive()]
    assert os.path.exists(_database_file(db))


def test_a_sqlite_uri_database_opens_and_commits(tmp_path: Path) -> None:
    """A `file:` URI (SQLite's own checkpoints, no checkpointer thread) still opens and
    commits: the checkpointer's commit hook was once attached even where none was made."""
    db = Database(f"sqlite:///file:{tmp_path}/uri.db?mode=rwc&uri=true")
    try:
        db.upgrade()
        with db.session() as session:
            session.execute(text("CREATE TABLE probe (x INTEGER)"))
            session.execute(text("INSERT INTO probe VALUES (1)"))
        with db.session() as session:
            assert session.execute(text("SELECT x FROM probe")).scalar_one() == 1
    finally:
        db.dispose()
    assert (tmp_path / "uri.db").exists()


def test_an_events_first_alerts_are_found_without_reading_its_edits(db: Database) -> None:
    """`_alerted_in` probes a partial index of first alerts, not every outbox row of a member."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's query plan")
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, sql: str, params: Any, _ctx: Any, _many: bool) -> None:
        seen.append((sql, params))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        with db.session() as session:
            assert _alerted_in(session, {1, 2, 3}) == {}
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    ((sql, params),) = [(s, p) for s, p in seen if "deliveries" in s]
    with db.engine.connect() as connection:
        plan = " ".join(
            str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params)
        )
    assert "INDEX ix_deliveries_alerts" in plan


def test_no_index_is_the_start_of_another_of_its_table(db: Database) -> None:
    """Each index is written by every insert: one that another index of its table begins
    with serves no lookup the longer one does not (ix_deliveries_subscriber_id cost every
    outbox row of a first cycle a second index write). Partial indexes are smaller: kept."""
    inspector = inspect(db.engine)
    redundant = []
    for table in inspector.get_table_names():
        if is_search_table(table) or table == "alembic_version":
            continue
        longer = [tuple(u["column_names"]) for u in inspector.get_unique_constraints(table)]
        longer.append(tuple(inspector.get_pk_constraint(table)["constrained_columns"]))
        indexes = [
            (ix["name"], tuple(ix["column_names"]), ix)
            for ix in inspector.get_indexes(table)
            if None not in ix["column_names"]  # (an index of an expression)
        ]
        longer += [columns for _, columns, _ in indexes]
        for name, columns, ix in indexes:
            options = ix.get("dialect_options", {})
            partial = any(options.get(f"{d}_where") is not None for d in ("sqlite", "postgresql"))
            if ix.get("unique") or partial:
                continue
            if any(other != columns and other[: len(columns)] == columns for other in longer):
                redundant.append(f"{table}.{name}")
    assert redundant == []
