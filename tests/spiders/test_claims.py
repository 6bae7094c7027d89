"""Spider sources are claimed like feeds: a second daemon on the database leaves them alone,
and a crawl cut short (shutdown) hands its sources back instead of sitting out the lease."""

from __future__ import annotations

import asyncio

from crackdown.app import App, open_app
from crackdown.config import build_config
from storage.sources import list_sources
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
