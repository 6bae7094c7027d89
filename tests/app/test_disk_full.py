"""A full disk: polls that cannot be stored fail and log, nothing stored is lost, and once
there is room again the next poll stores what was missed.

SQLite reports a full disk as SQLITE_FULL ("database or disk is full"); `PRAGMA
max_page_count` makes the database file unable to grow, which is how SQLite
itself tests the path without filling a real disk.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select

from crackdown.app import App, open_app
from crackdown.config import build_config
from crackdown.demo.site import LoopbackSite, Page
from crackdown.runtime.polling import PollReport
from crawler.http import make_client
from storage.models import StoryRow
from storage.sources import list_sources


def feed(prefix: str, count: int) -> bytes:
    items = "".join(
        f"<item><title>PBoC bans bitcoin OTC trading, notice {prefix}{n}</title>"
        f"<link>https://n.example/{prefix}/{n}</link>"
        f"<description>{'The notice says platforms must stop. ' * 40}</description></item>"
        for n in range(count)
    )
    return f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()


def make_app(tmp_path: Path, site: LoopbackSite) -> App:
    document = {
        "storage": {"url": f"sqlite:///{tmp_path / 'full.db'}"},
        "polling": {"jitter": 0},
        "sources": [
            {"key": "early", "url": site.url("/early"), "interval": "10m"},
            {"key": "late", "url": site.url("/late"), "interval": "10m"},
        ],
    }
    return open_app(build_config(document, {}))


def poll(app: App, keys: set[str]) -> PollReport:
    async def go() -> PollReport:
        async with make_client(app.policy) as client:
            poller = app.poller(client)
            return await poller.poll(poller.due(s for s in app.feeds() if s.key in keys))

    return asyncio.run(go())


def stored(app: App) -> int:
    with app.db.session() as session:
        return session.scalar(select(func.count()).select_from(StoryRow)) or 0


def fill_up(app: App) -> dict[str, Any]:
    """The database file may not grow past what it holds now, until `["pages"]` is None."""
    limit: dict[str, Any] = {"pages": None}

    @event.listens_for(app.db.engine, "connect")
    def cap(connection: Any, _record: Any) -> None:
        if limit["pages"] is not None:
            connection.execute(f"PRAGMA max_page_count = {limit['pages']}")

    with app.db.session() as session:
        limit["pages"] = session.connection().exec_driver_sql("PRAGMA page_count").scalar()
    app.db.engine.dispose()  # new connections, each capped
    return limit


def test_a_full_disk_fails_the_poll_keeps_what_is_stored_and_recovers(
    tmp_path: Path, site: LoopbackSite, caplog: pytest.LogCaptureFixture
) -> None:
    site.pages["/early"] = Page(feed("e", 5))
    site.pages["/late"] = Page(feed("l", 200))  # about a megabyte to store
    app = make_app(tmp_path, site)
    try:
        assert poll(app, {"early"}).stories == 5

        limit = fill_up(app)
        with caplog.at_level(logging.WARNING):
            full = poll(app, {"late"})
        assert full.failed == ["late"] and full.stories == 0
        assert any("full" in record.getMessage() for record in caplog.records)
        assert stored(app) == 5  # what was stored before is all there

        limit["pages"] = None  # room again
        app.db.engine.dispose()
        again = poll(app, {"late"})  # due at once: the failed poll did not keep its claim
        assert again.failed == [] and again.stories == 200
        assert stored(app) == 205
        with app.db.session() as session:
            health = {row.key: row for row in list_sources(session)}
        assert health["late"].consecutive_failures == 0
    finally:
        app.db.dispose()


def test_a_disk_full_for_long_does_not_have_sources_fetched_every_tick(
    tmp_path: Path, site: LoopbackSite
) -> None:
    """Old code: a poll the database refused was due again at once, every time: while the
    disk stayed full every source was fetched (and an error logged) at every tick, 30 s,
    20 times its interval. Now the first retry is at the next tick (a server restarting is
    back by then), later ones wait 1, 2, 4... minutes, up to the claim's 10."""
    site.pages["/late"] = Page(feed("l", 200))
    app = make_app(tmp_path, site)
    fill_up(app)
    late = [s for s in app.feeds() if s.key == "late"]

    async def go() -> list[list[str]]:
        async with make_client(app.policy) as client:
            poller = app.poller(client)  # one poller, as the daemon's
            due: list[list[str]] = []
            for _ in range(3):
                sources = poller.due(late)
                due.append([s.key for s in sources])
                await poller.poll(sources)
            in_a_minute = datetime.now(UTC) + timedelta(seconds=61)
            due.append([s.key for s in poller.due(late, in_a_minute)])
            return due

    try:
        assert asyncio.run(go()) == [["late"], ["late"], [], ["late"]]
        assert stored(app) == 0
    finally:
        app.db.dispose()
