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
from urllib.parse import unquote, urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError

from crackdown.config import ConfigError
from storage.db import Database, database_error

# SQLite's words for a file that is not a database, or a damaged one: restarting cannot help.
DAMAGED = ("file is not a database", "disk image is malformed")


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


def open_database(url: str, *, settings: Mapping[str, Any] | None = None) -> Database:
    """A migrated Database for `url`; what stops SQLite from opening is a ConfigError."""
    check_storage(url)
    db = Database(url, settings=settings)
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
        raise ConfigError(f"storage.url: cannot open {path}: {reason}") from None
    return db
