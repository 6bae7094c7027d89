"""Fetching through a forward proxy (`http.proxy`, or HTTP_PROXY/HTTPS_PROXY), guard kept.

Real peers on loopback: the feed server, and `tests.forward_proxy`, which
records what it proxied. The source is on 127.0.0.2 (its configured host);
127.0.0.1 (also `localhost`) plays an internal server, and the proxy itself
is on 127.0.0.1 too: the operator chose it, so it is always reachable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

from crackdown.config import ConfigError, build_config
from crackdown.demo.site import LoopbackSite, Page
from crawler.feeds import FeedError, poll_feed
from crawler.http import HttpPolicy, make_client
from crawler.netguard import fetching_for
from crawler.proxies import proxy_for
from crawler.spiders.browser import browser_proxy
from crawler.types import FetchState
from tests.forward_proxy import ForwardProxy

FEED = (
    b'<rss version="2.0"><channel><title>t</title><item><title>PBoC bans bitcoin OTC trading'
    b"</title><link>https://n.example/a</link></item></channel></rss>"
)
# Each test starts with no proxy variables set and sets what it means.
pytestmark = pytest.mark.usefixtures("without_proxy_environment")


@pytest.fixture
def source() -> Iterator[LoopbackSite]:
    with LoopbackSite(host="127.0.0.2") as server:
        server.pages["/feed"] = Page(FEED, "application/rss+xml")
        yield server


@pytest.fixture
def internal() -> Iterator[LoopbackSite]:
    with LoopbackSite() as server:
        server.pages["/feed"] = Page(FEED, "application/rss+xml")
        yield server


def poll(url: str, configured: str, policy: HttpPolicy, key: str = "s") -> int:
    """Poll `url` for the source configured at `configured`; the number of stories."""

    async def go() -> int:
        async with make_client(policy) as client:
            with fetching_for(key, [configured]):
                fetched = await poll_feed(
                    client, source_key=key, url=url, state=FetchState(), policy=policy
                )
        return len(fetched.stories)

    return asyncio.run(go())


def test_a_feed_is_fetched_through_http_proxy(source: LoopbackSite, proxy: ForwardProxy) -> None:
    url = source.url("/feed")
    assert poll(url, url, HttpPolicy(proxy=proxy.url)) == 1
    assert proxy.seen == [f"GET {url}"]
    assert [path for path, _ in source.requests] == ["/feed"]


def test_the_http_proxy_variable_is_honoured(
    source: LoopbackSite, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    url = source.url("/feed")
    assert poll(url, url, HttpPolicy()) == 1
    assert proxy.seen == [f"GET {url}"]


def test_the_https_proxy_variable_tunnels_https(
    source: LoopbackSite, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tunnel reaches the plain-HTTP site, so TLS fails; the CONNECT went through."""
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    url = source.url("/feed").replace("http://", "https://")
    with pytest.raises(FeedError):
        poll(url, url, HttpPolicy(deadline=5))
    host_port = url.split("/")[2]
    assert proxy.seen == [f"CONNECT {host_port}"]


def test_the_configured_proxy_wins_over_the_environment(
    source: LoopbackSite, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # discard: nothing answers
    url = source.url("/feed")
    assert poll(url, url, HttpPolicy(proxy=proxy.url)) == 1
    assert proxy.seen == [f"GET {url}"]


@pytest.mark.parametrize("configured", [True, False], ids=["http.proxy", "HTTP_PROXY"])
def test_no_proxy_hosts_go_direct(
    source: LoopbackSite, proxy: ForwardProxy, monkeypatch: pytest.MonkeyPatch, configured: bool
) -> None:
    monkeypatch.setenv("NO_PROXY", "example.org, 127.0.0.2")
    if not configured:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
    url = source.url("/feed")
    assert poll(url, url, HttpPolicy(proxy=proxy.url if configured else None)) == 1
    assert proxy.seen == []
    assert [path for path, _ in source.requests] == ["/feed"]


@pytest.mark.parametrize("target", ["127.0.0.1", "localhost"], ids=["literal", "name"])
def test_a_redirect_through_the_proxy_to_another_private_address_is_refused(
    source: LoopbackSite,
    internal: LoopbackSite,
    proxy: ForwardProxy,
    target: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = internal.base_url.rsplit(":", 1)[1]
    elsewhere = f"http://{target}:{port}/feed"
    source.pages["/moved"] = Page(b"", status=302, headers={"Location": elsewhere})
    moved = source.url("/moved")
    policy = HttpPolicy(proxy=proxy.url)

    async def twice() -> list[str]:
        errors = []
        async with make_client(policy) as client:
            for _ in range(2):
                with fetching_for("s", [source.url("/feed")]):
                    try:
                        await poll_feed(
                            client, source_key="s", url=moved, state=FetchState(), policy=policy
                        )
                    except FeedError as exc:
                        errors.append(str(exc))
        return errors

    with caplog.at_level(logging.WARNING, logger="crawler.netguard"):
        errors = asyncio.run(twice())
    assert len(errors) == 2
    assert all("refused non-public address 127.0.0.1" in e for e in errors), errors
    assert proxy.seen == [f"GET {moved}", f"GET {moved}"]
    assert internal.requests == []
    assert sum("source s: refused" in r.getMessage() for r in caplog.records) == 1  # once


def test_the_same_redirect_is_followed_when_private_networks_are_allowed(
    source: LoopbackSite, internal: LoopbackSite, proxy: ForwardProxy
) -> None:
    """The control: the redirect target is reachable through the proxy."""
    elsewhere = internal.url("/feed")
    source.pages["/moved"] = Page(b"", status=302, headers={"Location": elsewhere})
    moved = source.url("/moved")
    assert poll(moved, moved, HttpPolicy(proxy=proxy.url, allow_private_networks=True)) == 1
    assert proxy.seen == [f"GET {moved}", f"GET {elsewhere}"]


def test_a_configured_proxy_must_be_http_or_https() -> None:
    good = build_config({"http": {"proxy": "http://user:pw@10.0.0.1:3128"}}, {})
    assert good.http.proxy == "http://user:pw@10.0.0.1:3128"
    with pytest.raises(ConfigError, match=r"http\.proxy: 'socks5' proxy not supported"):
        build_config({"http": {"proxy": "socks5://10.0.0.1:1080"}}, {})


@pytest.mark.parametrize(
    ("url", "configured", "environment", "expected"),
    [
        ("http://a.cn/f", None, {}, None),
        ("http://a.cn/f", "http://p:1", {}, "http://p:1"),
        ("https://a.cn/f", None, {"http": "http://h:1"}, None),
        ("https://a.cn/f", None, {"https": "http://s:1", "all": "http://a:1"}, "http://s:1"),
        ("http://a.cn/f", None, {"all": "http://a:1"}, "http://a:1"),
        ("http://a.cn/f", "http://p:1", {"http": "http://h:1"}, "http://p:1"),
        ("http://news.a.cn/f", "http://p:1", {"no": "x.org, .a.cn"}, None),
        ("http://a.cn:8080/f", None, {"http": "http://h:1", "no": "a.cn:8080"}, None),
        ("http://a.cn/f", None, {"http": "http://h:1", "no": "a.cn:8080"}, "http://h:1"),
        ("http://a.cn/f", "http://p:1", {"no": "*"}, None),
    ],
)
def test_which_proxy_a_url_goes_through(
    url: str, configured: str | None, environment: dict[str, str], expected: str | None
) -> None:
    assert proxy_for(url, configured, environment) == expected


def test_chromium_gets_the_proxy_with_its_credentials_apart() -> None:
    proxy = browser_proxy("http://u%40x:p%3Aw@10.0.0.1:3128", {"no": "a.cn"})
    assert proxy == {
        "server": "http://10.0.0.1:3128",
        "username": "u@x",
        "password": "p:w",
        "bypass": "a.cn",
    }
    assert browser_proxy(None, {"http": "http://h:1"}) == {"server": "http://h:1"}
    assert browser_proxy(None, {}) is None
