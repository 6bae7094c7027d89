"""Engines and sessions: SQLite in WAL mode by default, PostgreSQL (psycopg 3) to scale out."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

# A daemon works through its database from one event loop, a connection at a time: a small
# pool per process is plenty, and several daemons sharing one server stay far below
# PostgreSQL's default max_connections (100).
PG_POOL_SIZE = 5
PG_MAX_OVERFLOW = 5
PG_POOL_RECYCLE = 1800  # seconds: fresh connections now and then (proxies, failovers)


# SQLite's page cache per connection, KiB (its default: 2,000 KiB). A polling cycle inserts into
# a dozen B-trees keyed at random (canonical URL, fingerprint, the search index, bands): with
# the default every insert in a database of some hundred MB re-read interior pages from the
# OS, and a growing archive stored ever slower (bench/archive.py, bench/feeds.py). Each
# connection has its own (a daemon holds two or three): 32 MB took bench/feeds.py's peak RSS
# past 250 MB.
SQLITE_CACHE_KIB = 16_384


# WAL pages a commit may leave before that commit copies them into the database file itself
# (SQLite's default: 1,000): a backstop, as `WalCheckpointer` does it after sessions commit.
SQLITE_AUTOCHECKPOINT_PAGES = 4_000


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_AUTOCHECKPOINT_PAGES}")
    cursor.close()


class WalCheckpointer:
    """Copies SQLite's write-ahead log into the database file in a thread of its own.

    Why: SQLite checkpoints in the commit that takes the log past
    `wal_autocheckpoint` pages, and in a first polling cycle that was the
    storing thread's, which the cycle waits for: 1.4 ms of CPU and 3-4 ms
    of waiting for the disk a feed (bench/README.md, session 12). Here a
    session's commit wakes a thread that runs a PASSIVE checkpoint, which
    never blocks a writer or a reader (at most one a `pause`); the commits
    keep a larger autocheckpoint as a backstop. Durability is unchanged: a
    commit is in the log before this copies it.
    """

    def __init__(self, path: str, pause: float = 0.2) -> None:
        self.path, self.pause = path, pause
        self._connection: sqlite3.Connection | None = None
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._failing = False  # the last step failed: further failures are logged quietly

    def nudge(self, *_: Any) -> None:
        """A commit happened: checkpoint soon (starts the thread the first time, or again
        if something got past `_run`'s guard)."""
        if self._thread is None or not self._thread.is_alive():
            with self._lock:
                if (self._thread is None or not self._thread.is_alive()) and not self._stopping:
                    self._thread = threading.Thread(  # named by its file, for thread dumps
                        target=self._run, name=f"sqlite-checkpoint {self.path}", daemon=True
                    )
                    self._thread.start()
        self._wake.set()

    def stop(self) -> None:
        """End the thread (after the checkpoint it is running, if any)."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            if self._stopping:
                if self._connection is not None:
                    self._connection.close()
                return
            self._wake.clear()
            # Guarded: an exception here once ended the thread, silently, and no commit was
            # checkpointed by it again. The next commit's nudge, or the backstop, tries again.
            if self._guarded(self._checkpoint):
                self._failing = False
            self._guarded(time.sleep, self.pause)

    def _guarded(self, step: Callable[..., object], *args: Any) -> bool:
        """Run `step`; a failure is logged (a warning the first since a checkpoint succeeded)
        and passed over."""
        try:
            step(*args)
        except Exception as exc:
            level = logging.DEBUG if self._failing else logging.WARNING
            log.log(level, "background WAL checkpoint failed: %s", database_error(exc))
            self._failing = True
            return False
        return True

    def _checkpoint(self) -> None:
        # A connection of its own, not the pool's: a pooled one would join the rotation of
        # connections that each fill a 16 MB page cache (bench/feeds.py's peak RSS: +35 MB).
        if self._connection is None:
            self._connection = sqlite3.connect(self.path, timeout=30)
            self._connection.execute("PRAGMA cache_size=16")
        self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def normalise_url(url: str) -> URL:
    """The URL with our PostgreSQL driver named: `postgresql://` and `postgres://` mean psycopg 3.

    Why: SQLAlchemy takes a bare `postgresql://` for psycopg2, which we do not
    install; an operator pasting the URL their provider shows should not have
    to know that.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def sqlite_file(database: str | None) -> Path | None:
    """A SQLite URL's database as a file path; None in memory or for a `file:` URI."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def make_engine(url: str) -> Engine:
    """Create an engine; for SQLite files, create the folder and turn on WAL.

    PostgreSQL connections are checked before use (`pool_pre_ping`), so a
    server restart or a dropped connection costs a reconnect, not an error.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        if (path := sqlite_file(parsed.database)) is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        connect_args: dict[str, Any] = {"connect_timeout": 10}
        if "application_name" not in parsed.query:
            connect_args["application_name"] = "crackdown"
        return create_engine(
            parsed,
            pool_pre_ping=True,
            pool_size=PG_POOL_SIZE,
            max_overflow=PG_MAX_OVERFLOW,
            pool_recycle=PG_POOL_RECYCLE,
            connect_args=connect_args,
        )
    return create_engine(parsed, pool_pre_ping=True)


def insert_for(session: Session, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT with `on_conflict_do_nothing` for the session's backend (SQLite or PostgreSQL).

    Both dialects spell "skip the rows that would break a unique constraint"
    the same way in SQLAlchemy, but each has its own Insert class.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"crackdown stores to SQLite or PostgreSQL, not {dialect}")


# Keys of the PostgreSQL advisory locks we take (any constants unique to crackdown).
MIGRATION_LOCK = 0x6372_6B64  # storage/migrations/env.py: one migrating process at a time
STARTUP_LOCK = 0x6372_6B65  # sync_sources: configured rows inserted by one process at a time


def serialize_transaction(session: Session, key: int) -> None:
    """Hold an advisory lock on `key` until the session's transaction ends (PostgreSQL).

    Why: some writes find rows missing and insert them (configured sources
    and channels at start-up); daemons starting together on one database
    would both insert. On SQLite, one writer at a time is the rule already.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(key)))


def database_error(exc: BaseException) -> str:
    """The driver's own words for a database error, one line ("database or disk is full").

    SQLAlchemy's message adds the statement and its parameters: long, and
    about our code rather than what an operator can fix.
    """
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    return (lines[0] if lines else type(original).__name__)[:200]


class Database:
    """An engine with its session factory; the app holds one per process."""

    def __init__(self, url: str, *, settings: Mapping[str, Any] | None = None) -> None:
        """`settings` reach every session as `session.info` (e.g. "clustering" for stories)."""
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(
            self.engine, expire_on_commit=False, info=dict(settings or {})
        )
        # Opened to read only (`crackdown status` on a database it may not write): nothing
        # is registered in it (`crackdown.storage_open.open_database`).
        self.read_only = False
        self._checkpointer: WalCheckpointer | None = None
        path = sqlite_file(self.engine.url.database)
        if self.engine.dialect.name == "sqlite" and path is not None:
            # (in memory or a `file:` URI: SQLite's own checkpoints only)
            self._checkpointer = WalCheckpointer(str(path))
            event.listen(self._sessions, "after_commit", self._checkpointer.nudge)

    def configure(self, **settings: Any) -> None:
        """Replace some of the `settings` new sessions see (a reloaded config's)."""
        self._sessions.configure(info={**self._sessions.kw.get("info", {}), **settings})

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on error."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A bare connection in a transaction (commit on success): for hot single writes.

        A third of a `session()`'s cost, which matters at hundreds of writes a second
        (the delivery worker's "sent" per alert); no ORM objects, no `session.info`.
        """
        with self.engine.begin() as connection:
            yield connection

    def upgrade(self) -> None:
        """Apply Alembic migrations up to head."""
        from storage.migrate import upgrade

        upgrade(self.engine)

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        self.engine.dispose()
