"""Leadership between daemons sharing a PostgreSQL database, by session advisory lock.

Why: Telegram lets one client at a time read a bot's updates (a second gets
409 Conflict), so with several daemons one must read commands and the others
stand by. A session-level advisory lock lives as long as the connection that
took it: when its daemon dies, or its connection does, PostgreSQL releases it
and a standby takes over at its next try. On SQLite there is one daemon per
database (crackdown.runtime.lock), which always leads.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, func, select

from storage.db import Database, database_error

log = logging.getLogger(__name__)

COMMANDS_LOCK = 0x6372_6B67  # the daemon that reads the bot's commands


class Leadership:
    """A session advisory lock held on a connection of its own; `hold` keeps or takes it."""

    def __init__(self, db: Database, key: int) -> None:
        self.db = db
        self.key = key
        self._connection: Connection | None = None
        # Why the last `hold` could not reach the database, if it could not (else None).
        self.unreachable: str | None = None

    @property
    def shared(self) -> bool:
        """Whether other daemons may share the database (PostgreSQL)."""
        return self.db.engine.dialect.name == "postgresql"

    def hold(self) -> bool:
        """True if this process leads now: still holds the lock, or has just taken it."""
        if not self.shared:
            return True
        if self._connection is not None:
            try:
                self._connection.execute(select(1))
                return True
            except Exception:  # the connection, and with it the lock, is gone
                log.warning("lost the database connection that held leadership")
                self._drop(invalidate=True)
        connection: Connection | None = None
        try:
            # Autocommit: the lock belongs to the session, and no transaction is left open.
            connection = self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            taken = bool(connection.scalar(select(func.pg_try_advisory_lock(self.key))))
        except Exception as exc:  # a server restarting: one line a try, not a traceback
            if connection is not None:
                connection.close()
            self.unreachable = database_error(exc)
            log.warning("cannot reach the database to take leadership: %s", self.unreachable)
            return False
        self.unreachable = None
        if not taken:
            connection.close()
            return False
        self._connection = connection
        return True

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(select(func.pg_advisory_unlock(self.key)))
        except Exception:
            # The session may still hold the lock: returned to the pool, it would keep it
            # for as long as the pooled connection lives, and no daemon could lead.
            log.debug("advisory unlock failed: closing the connection instead", exc_info=True)
            self._drop(invalidate=True)
            return
        self._drop()

    def _drop(self, *, invalidate: bool = False) -> None:
        """Give the connection back; `invalidate` closes it for good (and its session's locks)."""
        if self._connection is not None:
            try:
                if invalidate:
                    self._connection.invalidate()
                self._connection.close()
            except Exception:
                log.debug("closing the leadership connection failed", exc_info=True)
            self._connection = None
