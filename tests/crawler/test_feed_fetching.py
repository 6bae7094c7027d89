"""Fetching real feeds over loopback: compression, encodings, redirects."""

from __future__ import annotations

import asyncio
import gzip
import zlib

import brotli
import pytest

from crackdown.demo.site import LoopbackSite, Page
from crawler.feeds import FeedError, poll_feed
from crawler.http import HttpPolicy, make_client
from crawler.netguard import fetching_for
from crawler.types import FeedFetch, FetchState

TITLE = "支付宝关停比特币场外交易账户"


def rss(title: str = TITLE, encoding: str = "utf-8", declared: bool = True) -> bytes:
    head = f'<?xml version="1.0" encoding="{encoding}"?>' if declared else '<?xml version="1.0"?>'
    body = (
        f"{head}<rss version='2.0'><channel><title>c</title><item><title>{title}</title>"
        "<link>https://x.example/1</link></item></channel></rss>"
    )
    return body.encode(encoding)


def fetch(site: LoopbackSite, path: str, policy: HttpPolicy | None = None) -> FeedFetch:
    policy = policy or HttpPolicy()

    async def go() -> FeedFetch:
        with fetching_for("s", [site.base_url]):
            async with make_client(policy) as client:
                return await poll_feed(
                    client, source_key="s", url=site.url(path), state=FetchState(), policy=policy
                )

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("br", brotli.compress)],
)
def test_compressed_responses_are_decoded(
    site: LoopbackSite, encoding: str, compress: object
) -> None:
    site.pages["/feed"] = Page(compress(rss()), headers={"Content-Encoding": encoding})  # type: ignore[operator]
    assert [s.title for s in fetch(site, "/feed").stories] == [TITLE]


def test_a_compression_bomb_is_cut_off_by_the_size_cap(site: LoopbackSite) -> None:
    site.pages["/bomb"] = Page(
        gzip.compress(b" " * 20_000_000), headers={"Content-Encoding": "gzip"}
    )
    with pytest.raises(FeedError, match="exceeds 1000000 bytes"):
        fetch(site, "/bomb", HttpPolicy(max_bytes=1_000_000))


@pytest.mark.parametrize(
    ("title", "encoding", "declared", "content_type"),
    [
        ("支付寶關停帳戶", "big5", True, "application/xml"),
        ("支付宝𠀀关停", "gb18030", True, "application/xml"),
        (TITLE, "gbk", False, "application/rss+xml; charset=gbk"),  # declared only by HTTP
        (TITLE, "gb2312", True, "text/xml"),
    ],
)
def test_chinese_encodings(
    site: LoopbackSite, title: str, encoding: str, declared: bool, content_type: str
) -> None:
    site.pages["/feed"] = Page(rss(title, encoding, declared), content_type)
    assert [s.title for s in fetch(site, "/feed").stories] == [title]


def test_a_byte_order_mark_is_honoured(site: LoopbackSite) -> None:
    site.pages["/feed"] = Page(b"\xef\xbb\xbf" + rss(declared=False), "application/xml")
    assert [s.title for s in fetch(site, "/feed").stories] == [TITLE]


def test_a_permanent_redirect_is_reported_a_temporary_one_is_not(site: LoopbackSite) -> None:
    site.pages["/new"] = Page(rss())
    site.pages["/old"] = Page(b"", status=301, headers={"Location": "/new"})
    site.pages["/for-now"] = Page(b"", status=302, headers={"Location": "/new"})
    assert fetch(site, "/old").moved_to == site.url("/new")
    assert fetch(site, "/for-now").moved_to is None


def test_redirect_loops_stop_at_the_limit(site: LoopbackSite) -> None:
    site.pages["/a"] = Page(b"", status=301, headers={"Location": "/b"})
    site.pages["/b"] = Page(b"", status=301, headers={"Location": "/a"})
    with pytest.raises(FeedError, match="too many redirects"):
        fetch(site, "/a", HttpPolicy(max_redirects=3))


def test_a_redirect_to_a_javascript_url_is_a_fetch_error(site: LoopbackSite) -> None:
    """httpx raises InvalidURL (no HTTPError) for it: it escaped as an 'internal error'."""
    site.pages["/js"] = Page(b"", status=302, headers={"Location": "javascript:alert(1)"})
    with pytest.raises(FeedError, match="InvalidURL"):
        fetch(site, "/js")


@pytest.mark.parametrize(
    "body",
    [
        b"<html><head><title>502 Bad Gateway</title></head><body><h1>502</h1></body></html>",
        b'<?xml version="1.0"?><error><code>AccessDenied</code></error>',
    ],
    ids=["html", "xml-error"],
)
def test_a_200_that_is_no_feed_is_an_error_not_an_empty_feed(
    site: LoopbackSite, body: bytes
) -> None:
    """A well-formed page in place of the feed parsed as a feed with no entries: a source
    whose URL now answers an error page polled 'ok' for ever."""
    site.pages["/error-page"] = Page(body, "application/rss+xml")
    with pytest.raises(FeedError, match="not a feed"):
        fetch(site, "/error-page")
    site.pages["/empty"] = Page(
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>c</title></channel></rss>'
    )
    assert fetch(site, "/empty").stories == ()  # an empty feed is still a feed


def test_a_login_page_served_for_the_feed_is_named_as_such(site: LoopbackSite) -> None:
    """Old code: "not a feed (SAXParseException: <unknown>:2:60: not well-formed (invalid
    token))", which sends the operator to look for a broken feed, not a login wall."""
    site.pages["/login"] = Page(
        b"<!DOCTYPE html>\n<html><head><title>\n Sign in - Portal </title></head><body>"
        b"<form action=/login><input name=user><br></form></body></html>",
        "text/html; charset=utf-8",
    )
    with pytest.raises(FeedError) as raised:
        fetch(site, "/login")
    assert str(raised.value) == (
        "not a feed (an HTML page titled 'Sign in - Portal': a login, block or error page?)"
    )
