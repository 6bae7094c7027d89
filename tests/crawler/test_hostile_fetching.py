"""Fetching from hostile servers over loopback: bombs, trickles, huge fields, undeclared charsets.

Memory is measured with tracemalloc (the decompressors' output buffers are
Python bytes), so a bound here is the fetch's own, whatever else runs.
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc
import zlib
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from crackdown.demo.site import LoopbackSite, Page
from crawler.extract import fetch_article
from crawler.feeds import FeedError, parse_feed, poll_feed
from crawler.http import FetchError, HttpPolicy, make_client
from crawler.types import BODY_MAX, SUMMARY_MAX, TITLE_MAX, FetchState
from tests.hostile import BROTLI_BOMB, TrickleServer, gzip_bomb

LIMIT = 1_000_000
POLICY = HttpPolicy(max_bytes=LIMIT, deadline=2.0, allow_private_networks=True)


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    gzipped = gzip_bomb(256)
    deflated = zlib.compress(bytes(64 << 20), 9)  # 64 MiB in 64 KB
    return {"br": BROTLI_BOMB, "gzip": gzipped, "deflate": deflated}


@pytest.fixture
def trickle() -> Iterator[TrickleServer]:
    with TrickleServer(content_type="text/html") as server:
        yield server


def measured(make: Callable[[], Coroutine[Any, Any, object]]) -> tuple[BaseException, float, int]:
    """Run a coroutine that must fail; its error, seconds and tracemalloc peak (bytes)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        asyncio.run(make())
    except (FeedError, FetchError) as exc:
        error: BaseException = exc
    else:
        raise AssertionError("the fetch succeeded")
    finally:
        seconds = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f"\n{seconds:.2f} s, peak {peak / 1e6:.1f} MB: {error}")
    return error, seconds, peak


async def poll(url: str) -> object:
    async with make_client(POLICY) as client:
        return await poll_feed(client, source_key="s", url=url, state=FetchState(), policy=POLICY)


async def article(url: str) -> object:
    async with make_client(POLICY) as client:
        return await fetch_article(client, url, POLICY)


@pytest.mark.parametrize("encoding", ["br", "gzip", "deflate"])
@pytest.mark.parametrize("fetcher", [poll, article], ids=["feed", "full-text"])
def test_a_compression_bomb_stops_at_max_bytes_while_inflating(
    site: LoopbackSite,
    bombs: dict[str, bytes],
    encoding: str,
    fetcher: Callable[[str], Coroutine[Any, Any, object]],
) -> None:
    site.pages["/bomb"] = Page(bombs[encoding], "text/html", headers={"Content-Encoding": encoding})
    error, seconds, peak = measured(lambda: fetcher(site.url("/bomb")))
    assert f"exceeds {LIMIT} bytes" in str(error)
    assert peak < 6 * LIMIT  # the old code held one inflated network chunk: 64 MB and more
    assert seconds < 5


def test_an_unsupported_coding_is_refused(site: LoopbackSite) -> None:
    site.pages["/z"] = Page(b"\x28\xb5\x2f\xfd", headers={"Content-Encoding": "zstd"})
    error, _, _ = measured(lambda: poll(site.url("/z")))
    assert "unsupported Content-Encoding 'zstd'" in str(error)


def test_stacked_codings_are_undone_in_order(site: LoopbackSite) -> None:
    feed = b"<rss><channel><item><title>x</title><link>https://x.example/1</link></item></channel></rss>"
    compressor = zlib.compressobj(wbits=zlib.MAX_WBITS | 16)
    gzipped = compressor.compress(feed) + compressor.flush()
    site.pages["/two"] = Page(zlib.compress(gzipped), headers={"Content-Encoding": "gzip, deflate"})
    fetched = asyncio.run(poll(site.url("/two")))
    assert [s.title for s in fetched.stories] == ["x"]  # type: ignore[attr-defined]


@pytest.mark.parametrize("fetcher", [poll, article], ids=["feed", "full-text"])
def test_a_trickling_server_fails_at_the_deadline(
    trickle: TrickleServer, fetcher: Callable[[str], Coroutine[Any, Any, object]]
) -> None:
    error, seconds, _ = measured(lambda: fetcher(trickle.url("/slow")))
    assert "within the 2s deadline" in str(error)
    assert seconds < 4  # the read timeout (30 s) never fires: a byte comes every second


def test_huge_fields_are_cut_before_they_cost_anything() -> None:
    huge = "比特币 bitcoin " * 550_000  # 9.9 MB
    feed = (
        f"<rss><channel><item><title>{huge}</title><link>https://x.example/1</link>"
        f"<description>{huge}</description></item></channel></rss>"
    ).encode()
    started = time.perf_counter()
    (story,), _ = parse_feed(feed, source_key="s", base_url="https://x.example/")
    assert time.perf_counter() - started < 10
    assert len(story.title) == TITLE_MAX and len(story.summary) == SUMMARY_MAX
    assert story.title.startswith("比特币 bitcoin 比特币")


def test_a_raw_story_keeps_at_most_its_caps() -> None:
    from crawler.types import RawStory

    story = RawStory("s", "https://x.example/", "t" * 5000, "s" * 50_000, "b" * 300_000)
    assert (len(story.title), len(story.summary), len(story.body)) == (
        TITLE_MAX,
        SUMMARY_MAX,
        BODY_MAX,
    )


@pytest.mark.parametrize(
    ("title", "encoding"),
    [
        ("支付宝：将关停用于比特币场外交易的账户", "gbk"),
        ("央行等七部门：全面叫停ICO代币发行融资𠀀", "gb18030"),
        ("支付寶：將關停用於比特幣場外交易的帳戶", "big5"),
    ],
)
@pytest.mark.parametrize("content_type", ["application/rss+xml", "text/xml"])
def test_a_feed_without_a_declared_charset_is_decoded_like_a_page(
    site: LoopbackSite, title: str, encoding: str, content_type: str
) -> None:
    items = "".join(
        f"<item><title>{title} {n}</title><link>https://x.example/{n}</link>"
        f"<description>{title}。{title}。</description></item>"
        for n in range(3)
    )
    site.pages["/feed"] = Page(
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>c</title>{items}"
        "</channel></rss>".encode(encoding),
        content_type,
    )
    fetched = asyncio.run(poll(site.url("/feed")))
    assert [s.title for s in fetched.stories] == [f"{title} {n}" for n in range(3)]  # type: ignore[attr-defined]


def test_an_undeclared_latin_feed_is_not_read_as_chinese() -> None:
    title = "Crypto : la Banque de France durcit le contrôle des plateformes étrangères"
    feed = (
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>c</title><item><title>{title}"
        "</title><link>https://x.example/1</link><description>Les autorités ont publié un "
        "règlement élargi.</description></item></channel></rss>"
    ).encode("cp1252")
    (story,), _ = parse_feed(
        feed, source_key="s", base_url="https://x.example/", headers={"content-type": "text/xml"}
    )
    assert story.title == title
