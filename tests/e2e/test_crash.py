"""Crash safety: SIGKILL the daemon mid-delivery again and again; nobody misses the alert.

One story goes to 500 subscribers through the stand-in, which enforces
Telegram's limits. The daemon is killed at random moments while it sends,
restarted each time, and finally left to finish. Every subscriber must get
the alert; a duplicate is only possible for a send in flight at a kill.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crackdown.demo.site import LoopbackSite, Page
from crackdown.standin import BotApiStandIn
from crackdown.standin.limits import FloodLimits
from storage import outbox, subscribers
from storage.db import Database
from tests.e2e.conftest import cli_env

CHATS = list(range(20_000, 20_500))
KILLS = 10
CONCURRENCY = 8
RATE = 30  # Telegram's own limit: 500 alerts take about 17 s of sending
FEED = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<item><title>PBoC bans bitcoin OTC trading and orders platforms to close</title>
<link>https://wire.example/pboc-otc-ban</link><guid>pboc-otc-ban</guid>
<pubDate>Wed, 25 Nov 2026 06:00:00 +0000</pubDate></item></channel></rss>"""


def config(tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str) -> Path:
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
lease = "2s"
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
    with db.session() as session:
        for chat in CHATS:
            standin.add_user(chat, f"u{chat}")
            subscribers.subscribe(session, chat, topic="china-crypto-enforcement")
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
        deadline = time.monotonic() + 90
        while len({m.chat_id for m in standin.sent_messages()}) < len(CHATS):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
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
    assert (counts.sent, counts.backlog, counts.failed) == (len(CHATS), 0, 0)
    db.dispose()
