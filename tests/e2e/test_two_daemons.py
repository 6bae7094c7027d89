"""Two daemons on one PostgreSQL database: each alert delivered exactly once, the work split.

Two `crackdown run` processes share a database, a feed site and the Bot API
stand-in. Feeds gain stories while they run; polls are slow (a second per
feed), so a daemon busy polling leaves the feeds that fall due meanwhile to
the other. Each daemon reaches the stand-in through its own counting relay
and fetches with its own User-Agent, so the test can tell who did what.
Every chat must get every story exactly once, both daemons must have polled
and sent, and the outbox must hold exactly one row per story and chat.
"""

from __future__ import annotations

import re
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from crackdown.demo.site import LoopbackSite, Page
from crackdown.standin import BotApiStandIn
from storage import outbox, subscribers
from storage.db import Database
from storage.models import Delivery, StoryRow
from tests.conftest import postgresql_only
from tests.e2e.conftest import cli_env

CHATS = list(range(31_000, 31_060))
FEEDS = 8
FIRST = FEEDS  # one story per feed at the start
ADDED = 12  # then one more every half second, round the feeds
POLL_SECONDS = 1.0  # how long the site takes to answer: a poll keeps its daemon busy
TITLE = "PBoC bans bitcoin OTC trading and orders platforms to close, part {n}"


class CountingRelay:
    """A TCP relay to the stand-in that counts the sendMessage requests passing through it."""

    PATTERN = b"/sendMessage HTTP/"

    def __init__(self, port: int) -> None:
        self.target = ("127.0.0.1", port)
        self.sends = 0
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.2)  # so that the accepting thread sees `close`
        self._closed = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.getsockname()[1]}/bot"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            thread = threading.Thread(target=self._relay, args=(client,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _relay(self, client: socket.socket) -> None:
        """Copy bytes both ways until either side closes; count requests on the way up."""
        tail = b""
        with (
            client,
            socket.create_connection(self.target) as upstream,
            selectors.DefaultSelector() as sel,
        ):
            sel.register(client, selectors.EVENT_READ, upstream)
            sel.register(upstream, selectors.EVENT_READ, client)
            while True:
                for key, _ in sel.select(timeout=0.5):
                    source, sink = key.fileobj, key.data
                    try:
                        data = source.recv(65536)  # type: ignore[union-attr]
                        if data:
                            sink.sendall(data)
                    except OSError:
                        data = b""
                    if not data:
                        return
                    if source is client:  # a request line split across reads counts once
                        seen = tail + data
                        with self._lock:
                            self.sends += seen.count(self.PATTERN)
                        tail = seen[-(len(self.PATTERN) - 1) :]
                if self._closed.is_set():  # end idle keep-alive connections too
                    return

    def close(self) -> None:
        self._closed.set()
        self._accepting.join(timeout=5)
        for thread in self._threads:
            thread.join(timeout=5)
        self._server.close()


class Feeds:
    """FEEDS feeds whose items the test adds while the daemons run; each answer is slow."""

    def __init__(self, site: LoopbackSite) -> None:
        self.items: list[list[int]] = [[] for _ in range(FEEDS)]
        self.count = 0
        self._lock = threading.Lock()
        for index in range(FEEDS):
            site.pages[f"/feed{index}.xml"] = self._responder(index)

    def add(self) -> None:
        with self._lock:
            self.items[self.count % FEEDS].append(self.count)
            self.count += 1

    def _responder(self, index: int):  # type: ignore[no-untyped-def]
        def respond(_path: str) -> Page:
            time.sleep(POLL_SECONDS)
            with self._lock:
                numbers = list(self.items[index])
            entries = "".join(
                f"<item><title>{TITLE.format(n=n)}</title>"
                f"<link>https://wire.example/{n}</link><guid>story-{n}</guid>"
                "<pubDate>Wed, 25 Nov 2026 06:00:00 +0000</pubDate></item>"
                for n in numbers
            )
            body = f'<?xml version="1.0"?><rss version="2.0"><channel><title>f{index}</title>'
            return Page(f"{body}{entries}</channel></rss>".encode(), "application/rss+xml")

        return respond


def config(tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, url: str) -> Path:
    path = tmp_path / "config.toml"
    feeds = "".join(
        f'[[sources]]\nkey = "feed{i}"\nurl = "{site.url(f"/feed{i}.xml")}"\n'
        'interval = "2s"\nlang = "en"\n'
        for i in range(FEEDS)
    )
    path.write_text(
        f"""
[storage]
url = "{url}"
[telegram]
api_base_url = "{standin.base_url}"
poll_timeout = "1s"
leader_retry = "1s"
[http]
concurrency = {FEEDS}
[delivery]
interval = "1s"
lease = "30s"
concurrency = 8
global_rate = 1000
private_rate = 100
[polling]
tick = "0.5s"
min_interval = "1s"
jitter = 1.0
adaptive = false
per_host = {FEEDS}
{feeds}""",
        encoding="utf-8",
    )
    return path


def start(path: Path, name: str, relay: CountingRelay, log: Path) -> subprocess.Popen[bytes]:
    env = cli_env(
        CRACKDOWN_TELEGRAM__API_BASE_URL=relay.base_url,
        CRACKDOWN_HTTP__USER_AGENT=f"crackdown-test-{name}",
    )
    with log.open("wb") as stderr:
        return subprocess.Popen(
            [sys.executable, "-m", "crackdown", "--config", str(path), "run"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )


def polls(site: LoopbackSite) -> dict[str, int]:
    """Feed requests per daemon, told apart by their User-Agent."""
    agents = Counter(headers.get("User-Agent", "") for _path, headers in list(site.requests))
    return {name: agents[f"crackdown-test-{name}"] for name in ("a", "b")}


def logs(paths: list[Path]) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in paths)


@postgresql_only
def test_two_daemons_split_polling_and_delivery_and_send_each_alert_once(
    tmp_path: Path,
    site: LoopbackSite,
    standin: BotApiStandIn,
    database_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    feeds = Feeds(site)
    for _ in range(FIRST):
        feeds.add()
    db = Database(database_url)
    with db.session() as session:
        for chat in CHATS:
            standin.add_user(chat, f"u{chat}")
            subscribers.subscribe(session, chat, topic="china-crypto-enforcement")
    path = config(tmp_path, site, standin, database_url)
    relays = {name: CountingRelay(standin.port) for name in ("a", "b")}
    log_paths = [tmp_path / f"daemon-{name}.log" for name in relays]
    daemons = [
        start(path, name, relay, log)
        for (name, relay), log in zip(relays.items(), log_paths, strict=True)
    ]
    expected = (FIRST + ADDED) * len(CHATS)
    try:
        for _ in range(ADDED):  # stories keep coming while both run
            time.sleep(0.5)
            feeds.add()
        deadline = time.monotonic() + 120
        while True:
            with db.session() as session:
                counts = outbox.counts(session)
            # Done when all is sent and both have polled (which the busy/idle split makes
            # near certain within the first seconds; waiting for it keeps a slow CI honest).
            if counts.sent >= expected and counts.backlog == 0 and min(polls(site).values()) > 0:
                break
            assert all(d.poll() is None for d in daemons), logs(log_paths)
            assert time.monotonic() < deadline, f"{counts}\n{logs(log_paths)}"
            time.sleep(0.2)
        time.sleep(2)  # time enough for a second copy of anything to go out

        # One daemon reads the bot's commands (Telegram serves updates to one reader), so a
        # command is answered once; when that daemon stops, the other takes over.
        asker = CHATS[0]
        answered = len(standin.sent_messages(asker))
        standin.send_text(asker, "/help")
        standin.wait_for_messages(answered + 1, chat_id=asker, timeout=30)
        leader = next(
            d
            for d, log in zip(daemons, log_paths, strict=True)
            if "daemon leads" in log.read_text()
        )
        leader.send_signal(signal.SIGTERM)
        assert leader.wait(timeout=60) == 0
        standin.send_text(asker, "/list")
        standin.wait_for_messages(answered + 2, chat_id=asker, timeout=30)
        time.sleep(2)
        replies = [m.plain_text for m in standin.sent_messages(asker)][answered:]
        assert len(replies) == 2 and replies[0].startswith("/start"), replies
        assert "China crypto enforcement" in replies[1], replies
    finally:
        for daemon in daemons:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
        for daemon in daemons:
            daemon.wait(timeout=60)
        for relay in relays.values():
            relay.close()

    per_alert = Counter(
        (m.chat_id, int(re.search(r"part (\d+)", m.plain_text).group(1)))  # type: ignore[union-attr]
        for m in standin.sent_messages()
        if "part " in m.plain_text
    )
    assert set(per_alert) == {(c, n) for c in CHATS for n in range(FIRST + ADDED)}
    assert set(per_alert.values()) == {1}, "an alert was sent twice"
    assert standin.summary()["duplicates"] == 0
    with db.session() as session:
        rows = session.scalar(select(func.count()).select_from(Delivery))
        stored = session.scalar(select(func.count()).select_from(StoryRow))
        counts = outbox.counts(session)
    assert (stored, rows) == (FIRST + ADDED, expected)  # one story per item, one row per chat
    assert (counts.sent, counts.failed, counts.backlog) == (expected, 0, 0)
    # Both daemons did some of each job, and between them nothing twice.
    sends = {name: relay.sends for name, relay in relays.items()}
    assert sum(sends.values()) == expected + 2 and min(sends.values()) > 0, sends  # + 2 answers
    polled = polls(site)
    assert min(polled.values()) > 0, polled
    with capsys.disabled():  # the split belongs in the CI log
        print(f"\ntwo daemons on PostgreSQL: {expected} alerts, sends {sends}, polls {polled}")
    assert [d.returncode for d in daemons] == [0, 0], logs(log_paths)
    db.dispose()
