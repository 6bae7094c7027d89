"""Open `storage.url`, or say in one line why not, naming the setting and the path.

The ways a database cannot be opened at all (a folder that is missing or not
writable, a read-only mount, a driver that is not installed, a malformed URL, a
`file:` URI with `mode=ro`, a file that is not a SQLite database or is damaged)
are the operator's to fix: they become a ConfigError (exit status 2, which the
systemd unit does not restart on), not a traceback. A PostgreSQL server that is
down is a plain database error: it may be back in a moment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError

from crackdown.config import ConfigError
from storage.db import Database, database_error
from storage.migrate import current_revision, head_revision

# SQLite's words for a file that is not a database, or a damaged one: restarting cannot help.
DAMAGED = ("file is not a database", "disk image is malformed")

# How a database crackdown may not write is opened to read: `mode=ro` first; `immutable=1`
# when SQLite cannot create the `-shm` file a WAL database needs (a read-only folder).
READ_ONLY_FLAGS = ("mode=ro", "immutable=1")


def sqlite_file(url: str) -> Path | None:
    """The file a SQLite URL names (a `file:` URI's too); None for other databases and
    in-memory ones."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        name = unquote(urlsplit(database).path)
        if not name or name == ":memory:" or parsed.query.get("mode") == "memory":
            return None
        return Path(name).expanduser()
    return Path(database).expanduser()


def _read_only_uri(url: str) -> str | None:
    """The URI parameter that opens SQLite read-only (`mode=ro`, `immutable=1`), if any."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not (parsed.database or "").startswith("file:"):
        return None
    if parsed.query.get("mode") == "ro":
        return "mode=ro"
    if str(parsed.query.get("immutable", "0")).lower() in ("1", "true", "yes", "on"):
        return "immutable=1"
    return None


def check_storage(url: str) -> None:
    """Raise ConfigError unless `url` can be parsed, has its driver, and (SQLite) is writable.

    Creates the SQLite file's folder when it is missing, as the engine would.
    """
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"storage.url: {url!r} is not a database URL: {exc}") from None
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise ConfigError(
            f"storage.url: no database driver for {parsed.drivername!r} in {url!r} "
            "(crackdown stores to sqlite:///PATH or postgresql://...)"
        ) from None
    except ImportError as exc:
        raise ConfigError(
            f"storage.url: the driver for {parsed.drivername!r} is not installed "
            f"({exc.name or exc}); for PostgreSQL: pip install 'crackdown[postgres]'"
        ) from None
    path = sqlite_file(url)
    if path is None:
        return
    read_only = _read_only_uri(url)
    if read_only is not None:  # SQLite would refuse the first write: "attempt to write a readonly"
        raise ConfigError(
            f"storage.url: {read_only} opens {path} read-only, and crackdown writes to it"
            f" (remove {read_only})"
        )
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"storage.url: cannot create the folder {folder} for {path}: {exc.strerror}"
        ) from None
    # SQLite in WAL mode writes `-wal` and `-shm` files beside the database.
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"storage.url: the folder {folder} of {path} is not writable")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise ConfigError(f"storage.url: {path} is not readable and writable")


def open_database(
    url: str, *, settings: Mapping[str, Any] | None = None, read_only: bool = False
) -> Database:
    """A migrated Database for `url`; what stops SQLite from opening is a ConfigError.

    `read_only` (`crackdown status`): a SQLite file crackdown may not write (mode 0444,
    a read-only mount, a `mode=ro` URI) is opened for reading instead, and a PostgreSQL
    database the role may not write (SELECT granted only, a standby) is read as it is, if
    its schema is current: an operator's health check reports on it without writing.
    `Database.read_only` says which.
    """
    try:
        check_storage(url)
    except ConfigError:
        if read_only and (path := sqlite_file(url)) is not None and path.is_file():
            return _open_for_reading(url, path, settings)
        raise
    db = Database(url, settings=settings)
    if read_only and db.engine.dialect.name == "postgresql" and _refuses_writes(db):
        _require_current_schema(db, make_url(url).render_as_string(hide_password=True))
        db.read_only = True
        return db
    try:
        db.upgrade()
    except DatabaseError as exc:  # OperationalError included
        db.dispose()
        path = sqlite_file(url)
        reason = database_error(exc)
        if path is None:
            raise
        if any(w in reason for w in DAMAGED):
            raise ConfigError(
                f"storage.url: {path} is not a usable SQLite database ({reason}); restore it"
                f" from a backup, or try `sqlite3 {path} .recover`"
            ) from None
        if not any(w in reason for w in ("unable to open", "readonly")):
            raise
        if read_only and path.is_file():
            return _open_for_reading(url, path, settings)
        raise ConfigError(f"storage.url: cannot open {path}: {reason}") from None
    return db


def _open_for_reading(url: str, path: Path, settings: Mapping[str, Any] | None) -> Database:
    """`path` opened read-only (`mode=ro`; `immutable=1` where SQLite cannot make its
    shared-memory file beside it, as on a read-only mount); its schema must be current."""
    uris = (
        [url]
        if _read_only_uri(url)
        else [f"sqlite:///file:{quote(str(path))}?{flag}&uri=true" for flag in READ_ONLY_FLAGS]
    )
    reason = ""
    for uri in uris:
        db = Database(uri, settings=settings)
        try:
            _require_current_schema(db, str(path))
        except DatabaseError as exc:
            db.dispose()
            reason = database_error(exc)
            continue
        db.read_only = True
        return db
    raise ConfigError(f"storage.url: cannot open {path} even to read: {reason}")


def _refuses_writes(db: Database) -> bool:
    """True if PostgreSQL will not let this role write crackdown's tables: SELECT granted
    only, or transactions read-only (a hot standby, `default_transaction_read_only`)."""
    with db.engine.connect() as connection:
        return bool(
            connection.execute(
                text(
                    "SELECT current_setting('transaction_read_only') = 'on'"
                    " OR (to_regclass('sources') IS NOT NULL"
                    " AND NOT (has_table_privilege('sources', 'INSERT')"
                    " AND has_table_privilege('sources', 'UPDATE')))"
                )
            ).scalar()
        )


def _require_current_schema(db: Database, shown: str) -> None:
    """A database read as it is must be of the current schema: it cannot be migrated."""
    current, head = current_revision(db.engine), head_revision(db.engine)
    if current != head:
        db.dispose()
        raise ConfigError(
            f"storage.url: {shown} is read-only and its schema is not current"
            f" ({current or 'empty'}, not {head}); run crackdown once with write access"
        )
