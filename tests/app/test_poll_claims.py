"""Pollers claim the sources they poll: another poller (daemon) on the database leaves them
alone, and a poll cut short (shutdown) hands them back instead of sitting out the lease."""

from __future__ import annotations

import asyncio
import threading

from crackdown.app import App, open_app
from crackdown.config import build_config
from crackdown.demo.site import LoopbackSite, Page
from crawler.http import make_client

FEED = b"""<rss version="2.0"><channel><title>t</title>
<item><title>PBoC bans bitcoin OTC trading</title><link>https://n.example/1</link></item>
</channel></rss>"""


def make_app(database_url: str, site: LoopbackSite) -> App:
    document = {
        "storage": {"url": database_url},
        "polling": {"jitter": 0, "min_interval": "1m"},
        "sources": [
            {"key": "slow", "url": site.url("/slow"), "interval": "10m"},
            {"key": "quick", "url": site.url("/quick"), "interval": "10m"},
        ],
    }
    return open_app(build_config(document, {}))


def test_a_second_poller_skips_claimed_sources_and_a_cancelled_poll_hands_them_back(
    database_url: str, site: LoopbackSite
) -> None:
    answer = threading.Event()

    def slow(_path: str) -> Page:
        answer.wait(timeout=10)
        return Page(FEED)

    site.pages["/slow"] = slow
    site.pages["/quick"] = Page(FEED)
    first, second = make_app(database_url, site), make_app(database_url, site)

    async def go() -> tuple[list[str], list[str], list[str]]:
        async with make_client(first.policy) as one, make_client(second.policy) as two:
            poller, other = first.poller(one), second.poller(two)
            due = poller.due(first.feeds())
            claimed = [s.key for s in due]
            polling = asyncio.create_task(poller.poll(due))
            while not any(path == "/slow" for path, _ in site.requests):
                await asyncio.sleep(0.01)
            while_polling = [s.key for s in other.due(second.feeds())]
            await asyncio.sleep(0.3)  # "quick" is stored; "slow" still waits for its answer
            polling.cancel()
            await asyncio.gather(polling, return_exceptions=True)
            after = [s.key for s in other.due(second.feeds())]
            return claimed, while_polling, after

    try:
        claimed, while_polling, after = asyncio.run(go())
    finally:
        answer.set()
        first.db.dispose()
        second.db.dispose()
    assert claimed == ["slow", "quick"]
    assert while_polling == []  # the other daemon leaves both to the first
    assert after == ["slow"]  # "quick" was polled (next in 10 min); "slow" is due again now
