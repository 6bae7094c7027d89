"""Spiders go through the same proxy as feeds (`http.proxy`, else HTTP_PROXY), guard kept.

As in test_private_network: the source is on 127.0.0.2 and links an
internal server by the name `localhost` (127.0.0.1). Through the proxy the
proxy would resolve that name, so the guard judges it by its local addresses.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crackdown.demo.site import LoopbackSite
from crawler.spiders.events import Error, Event, Item
from crawler.spiders.job import CrawlJob, CrawlSettings, SourceJob, SpiderSpec
from crawler.spiders.launch import run_batch
from tests.forward_proxy import ForwardProxy
from tests.spiders.conftest import run_cli, write_config
from tests.spiders.test_browser import CRAWL, GuardedSite, _source, needs_chromium
from tests.spiders.test_private_network import sites  # noqa: F401 (a fixture)

# Each test starts with no proxy variables set and sets what it means.
pytestmark = pytest.mark.usefixtures("without_proxy_environment")


def crawl(own: LoopbackSite, proxy: str | None = None, *, allow: bool = False) -> list[Event]:
    job = CrawlJob(
        CrawlSettings(delay=0, timeout=10, retries=0, proxy=proxy, allow_private_networks=allow),
        (
            SourceJob(
                SpiderSpec(
                    "links",
                    (own.url("/list.html"),),
                    links="ul.news li a",
                    robots=False,
                    allowed_domains=("127.0.0.2", "localhost"),
                )
            ),
        ),
    )
    events: list[Event] = []
    outcome = asyncio.run(run_batch(job, timeout=60, on_event=events.append))
    assert outcome.error is None
    return events


def titles(events: list[Event]) -> set[str]:
    return {e.story.title for e in events if isinstance(e, Item)}


def refusals(events: list[Event]) -> list[str]:
    return [e.error for e in events if isinstance(e, Error) and "refused" in e.error]


@pytest.mark.parametrize("configured", [True, False], ids=["http.proxy", "HTTP_PROXY"])
def test_a_spider_goes_through_the_proxy_and_not_to_a_private_name(
    sites: tuple[LoopbackSite, LoopbackSite],  # noqa: F811
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
    configured: bool,
) -> None:
    own, internal = sites
    if not configured:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
    events = crawl(own, proxy.url if configured else None)
    assert titles(events) == {"Own article"}
    assert set(proxy.seen) == {f"GET {own.url('/list.html')}", f"GET {own.url('/own.html')}"}
    assert internal.requests == []
    refused = refusals(events)
    assert len(refused) == 1 and refused[0].endswith(" of localhost"), refused


def test_no_proxy_hosts_go_direct(
    sites: tuple[LoopbackSite, LoopbackSite],  # noqa: F811
    proxy: ForwardProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own, _ = sites
    monkeypatch.setenv("NO_PROXY", "127.0.0.2")
    assert titles(crawl(own, proxy.url)) == {"Own article"}
    assert proxy.seen == []


def test_allowed_private_networks_are_reached_through_the_proxy(
    sites: tuple[LoopbackSite, LoopbackSite],  # noqa: F811
    proxy: ForwardProxy,
) -> None:
    """The control: without the guard the internal page is fetched, through the proxy."""
    own, internal = sites
    crawl(own, proxy.url, allow=True)
    assert any("localhost" in line for line in proxy.seen), proxy.seen
    assert "/secret.html" in {path for path, _ in internal.requests}


@needs_chromium
def test_a_browser_source_goes_through_the_proxy(proxy: ForwardProxy, tmp_path: Path) -> None:
    """scrapy-playwright ignores request.meta["proxy"]: Chromium is launched with it."""
    with GuardedSite() as site:
        extra = f'[http]\nproxy = "{proxy.url}"\n'
        config = write_config(tmp_path, _source(site.url, "browser"), crawl=CRAWL, extra=extra)
        status, out, err = run_cli("--config", str(config), "crawl")
    assert status == 0, out + err
    assert f"GET {site.url}" in proxy.seen, proxy.seen
    assert ("/goutongjiaoliu/index.html", True) in site.requests  # the challenge was passed
