"""One daemon per SQLite database: a second `crackdown run` exits with a clear message.

Two daemons on one SQLite file would both poll every feed and fight over the
write lock; on PostgreSQL several daemons are the way to scale out (row
leases split the work), so no lock is taken there. The lock is an flock on
`<database>.lock`: the kernel drops it when the process dies, even by
`kill -9`, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from sqlalchemy.engine import make_url


class AlreadyRunning(RuntimeError):
    """Another daemon holds the database."""


def lock_path(url: str) -> Path | None:
    """Where the lock lives for this database URL; None when no lock is needed."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser().with_name(Path(database).name + ".lock")


class InstanceLock:
    """Held for the daemon's life; raises AlreadyRunning naming the holder's pid."""

    def __init__(self, url: str) -> None:
        self.path = lock_path(url)
        self._fd: int | None = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    @property
    def held(self) -> bool:
        """Whether this process holds the lock (and so is the only daemon on the database)."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock or raise AlreadyRunning; a no-op where no lock is needed."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise AlreadyRunning(
                f"another crackdown daemon (pid {holder}) is running on this database "
                f"({self.path.with_suffix('')}); stop it first, or use PostgreSQL to run several"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
