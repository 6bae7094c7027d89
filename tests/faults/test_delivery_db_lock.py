"""Telegram took the alert, then the database would not record it: no second copy is sent.

Another process holds SQLite's write lock past the busy timeout (a backup, an
operator's `sqlite3` shell, a second tool) right when a sent alert is being
recorded. The old code took the failed write for a failed send: it scheduled a
retry (a duplicate once the lock was gone) or, when that write failed too,
left the row leased, to be sent again when the lease ran out.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from telegram import Bot

from bot.delivery import DeliveryWorker
from bot.transport import AiohttpRequest
from crackdown.standin import BotApiStandIn
from storage import outbox
from storage.db import Database
from tests.bot.test_delivery import FAST, LABELS, queue_story
from tests.conftest import TOKEN
from tests.faults.sqlite_lock import start_locker


class LockAfterSend:
    """A stand-in interceptor: on the first sendMessage, another process takes the write lock."""

    def __init__(self, path: str, seconds: float) -> None:
        self.path, self.seconds = path, seconds
        self.locker: subprocess.Popen[str] | None = None

    def __call__(self, method: str, params: Any) -> None:
        if method != "sendMessage" or self.locker is not None:
            return
        self.locker = start_locker(self.path, self.seconds)


def test_an_alert_sent_while_another_process_locks_the_database_is_not_sent_twice(
    db: Database, standin: BotApiStandIn, database_url: str
) -> None:
    path = make_url(database_url).database
    if make_url(database_url).get_backend_name() != "sqlite" or not path:
        return  # a SQLite lock; PostgreSQL's restart is test_db_outage's
    standin.add_user(1, "one")
    queue_story(db, [1])
    lock = LockAfterSend(path, seconds=8.0)  # past the 5 s busy timeout, twice
    standin.state.interceptors.append(lock)
    settings = replace(FAST, lease=timedelta(seconds=2))

    async def run() -> None:
        request = AiohttpRequest(16, read_timeout=5.0)
        async with Bot(TOKEN, base_url=standin.base_url, request=request) as bot:
            worker = DeliveryWorker(db, bot, LABELS, settings)  # one per daemon, as it runs
            started = time.monotonic()
            while time.monotonic() - started < 30:
                with contextlib.suppress(DBAPIError):  # the daemon logs a failed drain
                    await worker.drain()
                    if lock.locker is not None and lock.locker.poll() is not None:
                        await asyncio.sleep(3)  # past the lease: a claimable row is sent now
                        await worker.drain()
                        return
                await asyncio.sleep(0.5)

    asyncio.run(run())
    if lock.locker is not None:
        lock.locker.communicate(timeout=30)  # closes its pipe
    summary = standin.summary()
    assert summary["messages"] == 1 and summary["duplicates"] == 0, summary
    with db.session() as session:
        counts = outbox.counts(session)
    assert (counts.sent, counts.pending, counts.sending) == (1, 0, 0), counts
