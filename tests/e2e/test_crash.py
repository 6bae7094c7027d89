"""Crash safety: SIGKILL the daemon mid-delivery again and again; nobody misses the alert.

One story goes to 500 subscribers through the stand-in, which enforces
Telegram's limits. The daemon is killed at random moments while it sends,
restarted each time, and finally left to finish. Every subscriber must get
the alert; a duplicate is only possible for a send in flight at a kill.
The database has run a while: a ledger of sent alerts, and planner
statistics (SQLite 3.40.1 once stopped reclaiming rows once it had them).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from crackdown.demo.site import LoopbackSite, Page
from crackdown.standin import BotApiStandIn
from crackdown.standin.limits import FloodLimits
from storage import notices, outbox, subscribers
from storage.db import Database
from storage.models import Delivery
from tests.conftest import sqlite_only
from tests.e2e.conftest import cli_env
from tests.statistics import gather_planner_statistics

CHATS = list(range(20_000, 20_500))
KILLS = 10
CONCURRENCY = 8
RATE = 30  # Telegram's own limit: 500 alerts take about 17 s of sending
LEDGER = 3  # alerts each chat received before the test: the database has run a while
STALL = 60  # seconds without a new send that fail the test: the daemon is stuck
FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>PBoC bans bitcoin OTC trading and orders platforms to close</title>
<link>https://wire.example/pboc-otc-ban</link><guid>pboc-otc-ban</guid>
<pubDate>Wed, 25 Nov 2026 06:00:00 +0000</pubDate></item></channel></rss>"""


def config(
    tmp_path: Path,
    site: LoopbackSite,
    standin: BotApiStandIn,
    database_url: str,
    lease: str = "2s",
) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[storage]
url = "{database_url}"
[telegram]
api_base_url = "{standin.base_url}"
poll_timeout = "1s"
[delivery]
interval = "1s"
lease = "{lease}"
concurrency = {CONCURRENCY}
global_rate = {RATE}
base_backoff = "1s"
[polling]
tick = "1s"
jitter = 0
[[sources]]
key = "wire"
url = "{site.url("/wire.xml")}"
lang = "en"
""",
        encoding="utf-8",
    )
    return path


def start(path: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as stderr:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [sys.executable, "-m", "crackdown", "--config", str(path), "run"],
            env=cli_env(),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def subscribe_with_a_ledger(db: Database, standin: BotApiStandIn, chats: list[int]) -> None:
    """The chats subscribed, with LEDGER alerts sent long ago, and planner statistics."""
    with db.session() as session:
        for chat in chats:
            standin.add_user(chat, f"u{chat}")
            subscribers.subscribe(session, chat, topic="china-crypto-enforcement")
        for n in range(LEDGER):
            notices.queue_notice(session, "test", f"an old alert {n}", chats)
    long_ago = datetime.now(UTC) - timedelta(days=1)
    with db.session() as session:
        session.execute(
            update(Delivery).values(status="sent", sent_at=long_ago, finished_at=long_ago)
        )
    gather_planner_statistics(db)


def drained(db: Database) -> bool:
    """Nothing left to send: no row pending or in flight."""
    with db.session() as session:
        return outbox.counts(session).backlog == 0


def wait_for_new_sends(
    standin: BotApiStandIn, before: int, daemon: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + 30
    while len(standin.sent_messages()) <= before and time.monotonic() < deadline:
        if before >= len(CHATS):  # all delivered (and maybe some twice): nothing to wait for
            return
        if daemon.poll() is not None:
            raise AssertionError(f"daemon exited with {daemon.returncode}")
        time.sleep(0.01)


def test_sigkill_mid_delivery_loses_no_alert(
    tmp_path: Path,
    site: LoopbackSite,
    standin: BotApiStandIn,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    site.pages["/wire.xml"] = Page(FEED, "application/rss+xml")
    path = config(tmp_path, site, standin, database_url)
    db = Database(database_url)
    db.upgrade()
    subscribe_with_a_ledger(db, standin, CHATS)
    limits = standin.enforce_limits(FloodLimits(global_per_second=RATE))
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    log = tmp_path / "daemon.log"
    kills_mid_send = 0
    for _ in range(KILLS):
        before = len(standin.sent_messages())
        daemon = start(path, log)
        wait_for_new_sends(standin, before, daemon)
        time.sleep(rng.uniform(0.0, 0.4))
        kills_mid_send += len(standin.sent_messages()) < len(CHATS)
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=10)
    daemon = start(path, log)
    try:
        # Until every chat has it and the outbox is empty: a chat may have had its alert
        # from a killed run that could not record it, the row then still to be resent.
        # Stuck means no new send for STALL seconds (a loaded machine slows the start and
        # the sending, not their progress), not a fixed time for the whole run.
        last_progress, seen = time.monotonic(), len(standin.sent_messages())
        cap = last_progress + 600  # sending for ever (duplicates without end) fails too
        while not (len({m.chat_id for m in standin.sent_messages()}) == len(CHATS) and drained(db)):
            if len(standin.sent_messages()) > seen:
                last_progress, seen = time.monotonic(), len(standin.sent_messages())
            now = time.monotonic()
            assert now - last_progress < STALL and now < cap, log.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    sent = standin.sent_messages()
    per_chat = {chat: 0 for chat in CHATS}
    for message in sent:
        per_chat[message.chat_id] += 1
    duplicates = sum(n - 1 for n in per_chat.values())
    with capsys.disabled():  # the figure belongs in the CI log
        print(
            f"\n{KILLS} SIGKILLs (seed {seed}, {kills_mid_send} mid-delivery): "
            f"{len(CHATS)} chats, {len(sent)} messages, {duplicates} duplicates, "
            f"{limits.rejected} 429s ({limits.rejected_global} global, "
            f"{limits.rejected_chat} per chat)"
        )
    assert min(per_chat.values()) == 1  # everyone got it
    assert kills_mid_send >= KILLS // 2  # the kills did land while sending
    # A duplicate needs a send Telegram accepted whose outcome the kill kept us from
    # recording: at most the sends in flight, CONCURRENCY per kill.
    assert duplicates <= KILLS * CONCURRENCY
    with db.session() as session:
        counts = outbox.counts(session)
    assert (counts.sent, counts.backlog, counts.failed) == ((1 + LEDGER) * len(CHATS), 0, 0)
    db.dispose()


@sqlite_only
def test_the_sole_daemon_takes_back_its_leases_at_start_not_after_them(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str
) -> None:
    """Killed mid-send under a 30-minute lease: the restarted daemon sends the rest at once.

    On SQLite the daemon holding the database's lock is the only one that sends,
    so whatever is still `sending` when it starts was left by a dead run.
    """
    site.pages["/wire.xml"] = Page(FEED, "application/rss+xml")
    path = config(tmp_path, site, standin, database_url, lease="30m")
    db = Database(database_url)
    db.upgrade()
    chats = CHATS[:60]
    subscribe_with_a_ledger(db, standin, chats)
    standin.enforce_limits(FloodLimits(global_per_second=RATE))
    log = tmp_path / "daemon.log"
    daemon = start(path, log)
    wait_for_new_sends(standin, 0, daemon)
    daemon.send_signal(signal.SIGKILL)
    daemon.wait(timeout=10)
    with db.session() as session:
        left = outbox.counts(session).sending
    assert left > 0  # the kill did leave rows in flight
    daemon = start(path, log)
    try:
        deadline = time.monotonic() + 240  # (on a busy machine) the lease holds them for 30 min
        while len({m.chat_id for m in standin.sent_messages()}) < len(chats):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        daemon.wait(timeout=30)
    assert f"{left} alerts were in flight when the last run stopped" in log.read_text()
    db.dispose()
