"""Spider sources are claimed like feeds: a second daemon on the database leaves them alone,
and a crawl cut short (shutdown) hands its sources back instead of sitting out the lease."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crackdown.app import App, open_app
from crackdown.config import build_config
from crackdown.demo.site import LoopbackSite, Page
from storage.sources import list_sources
from tests.app.test_disk_full import fill_up
from tests.spiders.site import SpiderSite


def make_app(database_url: str, site: SpiderSite) -> App:
    url = site.site.url
    document = {
        "storage": {"url": database_url},
        "polling": {"jitter": 0},
        "crawl": {"delay": 0, "timeout": 30, "retries": 0, "batch_size": 1, "batch_timeout": 60},
        "sources": [  # crawled in this order, one child process each
            {"key": "fine", "kind": "spider", "url": url("/utf8/index.html"), "links": "ul.news a"},
            {"key": "stuck", "kind": "spider", "url": url("/hang/index.html"), "links": "a"},
        ],
    }
    return open_app(build_config(document, {}))


def test_a_second_daemon_skips_claimed_spiders_and_a_cancelled_crawl_hands_them_back(
    database_url: str, spider_site: SpiderSite
) -> None:
    first, second = make_app(database_url, spider_site), make_app(database_url, spider_site)

    async def go() -> tuple[list[str], list[str], list[str]]:
        runner = first.spider_runner()
        due = runner.due(first.spiders())
        claimed = [s.key for s in due]
        requests = spider_site.site.requests  # the module's site: other tests' requests too
        hung = sum(path == "/hang/index.html" for path, _ in requests)
        crawling = asyncio.create_task(runner.crawl(due))
        while sum(path == "/hang/index.html" for path, _ in requests) == hung:
            await asyncio.sleep(0.05)
        while_crawling = [s.key for s in second.spider_runner().due(second.spiders())]
        crawling.cancel()  # SIGTERM: "fine" is recorded, "stuck" never answered
        await asyncio.gather(crawling, return_exceptions=True)
        after = [s.key for s in second.spider_runner().due(second.spiders())]
        return claimed, while_crawling, after

    try:
        claimed, while_crawling, after = asyncio.run(go())
        with first.db.session() as session:
            crawled = {row.key: row.last_success_at for row in list_sources(session)}
    finally:
        first.db.dispose()
        second.db.dispose()
    assert claimed == ["fine", "stuck"]
    assert while_crawling == []  # the other daemon leaves both to the first
    assert after == ["stuck"]  # "fine" was crawled (next in its interval); "stuck" is due now
    assert crawled["fine"] is not None and crawled["stuck"] is None


def test_a_disk_full_for_long_does_not_have_spiders_crawled_every_tick(
    tmp_path: Path, site: LoopbackSite, caplog: pytest.LogCaptureFixture
) -> None:
    """Old code: a crawl the database refused to store was due again at once, every time:
    while the disk stayed full every spider crawled (and an error was logged) at every
    tick. Now, as for feeds (tests/app/test_disk_full.py), the first retry is at the next
    tick, later ones wait 1, 2, 4... minutes, up to 10."""
    paragraph = "<p>" + "The notice says platforms must stop trading bitcoin. " * 40 + "</p>"
    links = "".join(f'<li><a href="/a{n}.html">Notice {n}</a></li>' for n in range(30))
    site.pages["/list.html"] = Page(f'<ul class="news">{links}</ul>'.encode(), "text/html")
    for n in range(30):  # about 600 KB of stories to store
        page = f"<html><head><title>Notice {n}</title></head><body>{paragraph * 8}</body></html>"
        site.pages[f"/a{n}.html"] = Page(page.encode(), "text/html")
    document = {
        "storage": {"url": f"sqlite:///{tmp_path / 'full.db'}"},
        "polling": {"jitter": 0},
        "crawl": {"delay": 0, "timeout": 30, "retries": 0, "batch_timeout": 60},
        "sources": [
            {"key": "fine", "kind": "spider", "url": site.url("/list.html"), "links": "ul.news a"}
        ],
    }
    app = open_app(build_config(document, {}))
    fill_up(app)
    fine = app.spiders()

    async def go() -> list[list[str]]:
        runner = app.spider_runner()  # one runner, as the daemon's
        due: list[list[str]] = []
        for _ in range(3):
            sources = runner.due(fine)
            due.append([s.key for s in sources])
            report = await runner.crawl(sources)
            assert [r.key for r in report.results] == due[-1]
            assert all("database or disk is full" in (r.error or "") for r in report.results)
        in_a_minute = datetime.now(UTC) + timedelta(seconds=61)
        due.append([s.key for s in runner.due(fine, in_a_minute)])
        return due

    try:
        with caplog.at_level(logging.ERROR):
            assert asyncio.run(go()) == [["fine"], ["fine"], [], ["fine"]]
        refused = [r for r in caplog.records if "could not be stored" in r.getMessage()]
        assert len(refused) == 2  # a line per crawl, none for the tick it waited out
    finally:
        app.db.dispose()
