"""Spiders keep to public addresses and their source's own host (crawler.spiders.netguard).

The spiders follow only their allowed domains, so the way in is a name: the source (on
127.0.0.2) allows a domain whose name resolves to another private address. Here that
name is `localhost` (127.0.0.1; all of 127/8 is loopback on Linux), as a public name in
the source's domain could be pointed at an internal address by its DNS.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from crackdown.demo.site import LoopbackSite, Page
from crawler.spiders.events import Error, Event, Item
from crawler.spiders.job import CrawlJob, CrawlSettings, SourceJob, SpiderSpec
from crawler.spiders.launch import run_batch
from tests.spiders.site import utf8_list

ARTICLE = (
    "<html><head><meta charset='utf-8'><title>{t}</title></head><body><article><h1>{t}</h1>"
    "<p>{t}. The central bank said the trading platforms must close by the end of the month,"
    " and that banks may not serve them.</p></article></body></html>"
)


def article(title: str) -> Page:
    return Page(ARTICLE.format(t=title).encode(), "text/html; charset=utf-8")


@pytest.fixture
def sites() -> Iterator[tuple[LoopbackSite, LoopbackSite]]:
    with LoopbackSite(host="127.0.0.2") as own, LoopbackSite() as internal:
        via_name = f"http://localhost:{internal.base_url.rsplit(':', 1)[1]}"
        internal.pages["/secret.html"] = article("Internal secret page")
        internal.pages["/list.html"] = Page(
            utf8_list([("/secret.html", "Internal list item", "2026-12-01")], None).encode(),
            "text/html; charset=utf-8",
        )
        own.pages["/list.html"] = Page(
            utf8_list(
                [
                    ("/own.html", "Own article", "2026-12-01"),
                    (via_name + "/secret.html", "Internal article", "2026-12-01"),
                ],
                None,
            ).encode(),
            "text/html; charset=utf-8",
        )
        own.pages["/own.html"] = article("Own article")
        own.pages["/moved.html"] = Page(
            b"", status=302, headers={"Location": via_name + "/list.html"}
        )
        yield own, internal


def crawl(own: LoopbackSite, *, allow: bool = False) -> list[Event]:
    def spec(key: str, path: str) -> SourceJob:
        return SourceJob(
            SpiderSpec(
                key,
                (own.url(path),),
                links="ul.news li a",
                robots=False,
                allowed_domains=("127.0.0.2", "localhost"),
            )
        )

    job = CrawlJob(
        CrawlSettings(delay=0, timeout=10, retries=0, allow_private_networks=allow),
        (spec("links", "/list.html"), spec("moved", "/moved.html")),
    )
    events: list[Event] = []
    outcome = asyncio.run(run_batch(job, timeout=60, on_event=events.append))
    assert outcome.error is None
    return events


def test_links_and_redirects_to_another_private_address_are_not_fetched(
    sites: tuple[LoopbackSite, LoopbackSite],
) -> None:
    own, internal = sites
    events = crawl(own)
    assert internal.requests == []
    titles = {e.story.title for e in events if isinstance(e, Item)}
    assert titles == {"Own article"}  # the source's own host is crawled as before
    errors = [e for e in events if isinstance(e, Error)]
    refused = [e for e in errors if "refused non-public address 127.0.0.1 of localhost" in e.error]
    assert {e.source for e in refused} == {"links", "moved"}, errors


def test_allow_private_networks_lets_them_through(
    sites: tuple[LoopbackSite, LoopbackSite],
) -> None:
    """The control: without the guard the same crawl reaches the internal server."""
    own, internal = sites
    crawl(own, allow=True)
    assert {path for path, _ in internal.requests} >= {"/secret.html", "/list.html"}
