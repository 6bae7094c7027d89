"""The private-network guard against real loopback servers.

127.0.0.1 plays the operator's configured host; 127.0.0.2 (Linux routes all
of 127/8 to lo) plays "another private address" a hostile source points at.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from crackdown.app import App, open_app
from crackdown.config import build_config
from crackdown.demo.site import LoopbackSite, Page
from crackdown.runtime.polling import PollReport
from crawler.addresses import is_public
from crawler.http import make_client
from storage.models import StoryRow
from storage.records import SourceRecord
from storage.sources import list_sources

INTERNAL_FEED = b"""<rss version="2.0"><channel><title>internal</title>
<item><title>PBoC bans bitcoin OTC trading (internal)</title>
<link>https://n.example/internal</link></item></channel></rss>"""


def feed(link: str, title: str = "PBoC bans bitcoin OTC trading") -> bytes:
    return (
        f'<rss version="2.0"><channel><title>t</title><item><title>{title}</title>'
        f"<link>{link}</link><description>short</description></item></channel></rss>"
    ).encode()


@pytest.fixture
def internal() -> Iterator[LoopbackSite]:
    """A server on another private address than the configured sources'."""
    with LoopbackSite(host="127.0.0.2", keep_alive=True) as server:
        server.pages["/feed"] = Page(INTERNAL_FEED)
        server.pages["/secret"] = Page(
            b"<html><body><p>internal page</p></body></html>", "text/html"
        )
        yield server


def make_app(tmp_path: Path, sources: list[dict[str, Any]], **http: Any) -> App:
    document = {
        "storage": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
        "polling": {"jitter": 0, "min_interval": "1m"},
        "http": http,
        "sources": [{"interval": "10m", **s} for s in sources],
    }
    return open_app(build_config(document, {}))


def poll(app: App, *rounds: list[str]) -> list[PollReport]:
    """Poll the given keys, round after round, through one client (as the daemon does)."""

    async def go() -> list[PollReport]:
        async with make_client(app.policy) as client:
            reports = []
            for keys in rounds:
                feeds = [s for s in app.feeds() if s.key in keys]
                reports.append(await app.poller(client).poll(feeds))
            return reports

    return asyncio.run(go())


def health(app: App, key: str) -> SourceRecord:
    with app.db.session() as session:
        return next(r for r in list_sources(session) if r.key == key)


def stored_urls(app: App) -> set[str]:
    with app.db.session() as session:
        return {row.url for row in session.query(StoryRow)}


def test_a_redirect_to_another_private_address_is_refused(
    tmp_path: Path, site: LoopbackSite, internal: LoopbackSite, caplog: pytest.LogCaptureFixture
) -> None:
    site.pages["/hostile"] = Page(b"", status=302, headers={"Location": internal.url("/feed")})
    site.pages["/good"] = Page(feed("https://n.example/good"))
    app = make_app(
        tmp_path,
        [
            {"key": "hostile", "url": site.url("/hostile")},
            {"key": "good", "url": site.url("/good")},
        ],
    )
    with caplog.at_level(logging.WARNING, logger="crawler.netguard"):
        (first, second) = poll(app, ["hostile", "good"], ["hostile"])
    assert internal.requests == []  # not even connected to
    assert first.failed == ["hostile"] and second.failed == ["hostile"]
    assert "refused non-public address 127.0.0.2" in (health(app, "hostile").last_error or "")
    assert stored_urls(app) == {"https://n.example/good"}  # the other source was served
    refusals = [r for r in caplog.records if "refused to connect" in r.getMessage()]
    assert len(refusals) == 1 and "hostile" in refusals[0].getMessage()  # once per source


def test_the_same_redirect_is_followed_when_private_networks_are_allowed(
    tmp_path: Path, site: LoopbackSite, internal: LoopbackSite
) -> None:
    """The control: the test above fails for the guard's reason, not the server's."""
    site.pages["/hostile"] = Page(b"", status=302, headers={"Location": internal.url("/feed")})
    app = make_app(
        tmp_path, [{"key": "hostile", "url": site.url("/hostile")}], allow_private_networks=True
    )
    (report,) = poll(app, ["hostile"])
    assert report.failed == []
    assert stored_urls(app) == {"https://n.example/internal"}


def test_the_configured_address_on_another_port_is_allowed(
    tmp_path: Path, site: LoopbackSite
) -> None:
    """The rule is by address: the operator's own host may move a feed to another port."""
    with LoopbackSite() as other_port:
        other_port.pages["/feed"] = Page(feed("https://n.example/moved"))
        site.pages["/old"] = Page(b"", status=302, headers={"Location": other_port.url("/feed")})
        app = make_app(tmp_path, [{"key": "s", "url": site.url("/old")}])
        (report,) = poll(app, ["s"])
    assert report.failed == []
    assert stored_urls(app) == {"https://n.example/moved"}


def test_a_name_is_judged_by_the_address_it_resolves_to(
    tmp_path: Path, internal: LoopbackSite
) -> None:
    """A source on 127.0.0.2 redirecting to `localhost` (127.0.0.1 here) is refused."""
    with LoopbackSite() as local:
        local.pages["/feed"] = Page(INTERNAL_FEED)
        port = local.base_url.rsplit(":", 1)[1]
        internal.pages["/hop"] = Page(
            b"", status=302, headers={"Location": f"http://localhost:{port}/feed"}
        )
        app = make_app(tmp_path, [{"key": "s", "url": internal.url("/hop")}])
        (report,) = poll(app, ["s"])
        assert local.requests == []
    assert report.failed == ["s"]
    error = health(app, "s").last_error or ""  # 127.0.0.1, or ::1 where that comes first
    assert "refused non-public address" in error and "of localhost" in error


def test_a_pooled_connection_to_another_sources_private_host_is_not_reused(
    tmp_path: Path, site: LoopbackSite, internal: LoopbackSite
) -> None:
    """Source `inner` may reach 127.0.0.2; after its poll, `hostile` may still not."""
    site.pages["/hostile"] = Page(b"", status=302, headers={"Location": internal.url("/other")})
    internal.pages["/other"] = Page(feed("https://n.example/other"))
    app = make_app(
        tmp_path,
        [
            {"key": "inner", "url": internal.url("/feed")},
            {"key": "hostile", "url": site.url("/hostile")},
        ],
    )
    (first, second) = poll(app, ["inner"], ["hostile"])
    assert first.failed == [] and second.failed == ["hostile"]
    assert [path for path, _ in internal.requests] == ["/feed"]
    assert "https://n.example/other" not in stored_urls(app)


def test_a_full_text_link_to_another_private_address_is_not_fetched(
    tmp_path: Path, site: LoopbackSite, internal: LoopbackSite
) -> None:
    site.pages["/feed"] = Page(feed(internal.url("/secret")))
    site.pages["/page"] = Page(b"<html><body><p>own page</p></body></html>", "text/html")
    site.pages["/feed2"] = Page(feed(site.url("/page"), "Own page"))
    app = make_app(
        tmp_path,
        [
            {"key": "s", "url": site.url("/feed"), "full_text": True},
            {"key": "own", "url": site.url("/feed2"), "full_text": True},
        ],
    )
    (report,) = poll(app, ["s", "own"])
    assert report.failed == []
    assert internal.requests == []  # the story is kept with its summary, the page never fetched
    assert stored_urls(app) == {internal.url("/secret"), site.url("/page")}
    assert "/page" in [path for path, _ in site.requests]  # its own host's pages are fetched


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("127.0.0.2", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:8.8.8.8", True),
    ],
)
def test_which_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(ipaddress.ip_address(address)) is public
