"""Another process holding SQLite's write lock: a backup, an operator's `sqlite3` shell.

The fault tests that meet a locked database share this locker, so that each says only
what it does under the lock.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

LOCKER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
"""


def start_locker(path: str, seconds: float) -> subprocess.Popen[str]:
    """A child process that holds the write lock on `path` for `seconds`, once it says so."""
    locker = subprocess.Popen(
        [sys.executable, "-c", LOCKER, path, str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
    return locker


@contextmanager
def write_lock_held(path: str, seconds: float = 60) -> Iterator[subprocess.Popen[str]]:
    """The lock held for the block's length (ended at its end, not waited out)."""
    with start_locker(path, seconds) as locker:
        try:
            yield locker
        finally:
            locker.kill()
            locker.wait(timeout=30)
