"""A feed whose body is still gzipped after the Content-Encoding is undone: a server that
compresses a pre-compressed `.xml.gz` again, or serves the `.gz` file itself.

Old code: "not a feed (SAXParseException ... not well-formed)" on every poll, for good.

And the other way round: a Content-Encoding the body does not have (a proxy that keeps
"gzip" on a body it inflated, gzip labelled "deflate" or "br", "gzip, gzip" compressed
once, "Content-Encoding: UTF-8" for a charset). Old code: "corrupt compressed body" or
"unsupported Content-Encoding", every poll, for good; now the body is read as its first
bytes show (gzip, zlib or plain markup), within the same size cap.
"""

from __future__ import annotations

import gzip
import zlib

import pytest

from crackdown.demo.site import LoopbackSite, Page
from crawler.feeds import FeedError
from crawler.http import HttpPolicy
from tests.crawler.test_feed_fetching import TITLE, fetch, rss


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (gzip.compress(gzip.compress(rss())), {"Content-Encoding": "gzip"}),
        (gzip.compress(rss()), {"Content-Type": "application/gzip"}),
    ],
    ids=["gzipped-twice", "a-gz-file"],
)
def test_a_gzipped_body_is_read_as_the_feed(
    site: LoopbackSite, body: bytes, headers: dict[str, str]
) -> None:
    site.pages["/feed"] = Page(body, headers=headers)
    assert [s.title for s in fetch(site, "/feed").stories] == [TITLE]


def test_a_gzipped_body_keeps_the_size_cap_and_a_broken_one_is_one_line(
    site: LoopbackSite,
) -> None:
    site.pages["/bomb"] = Page(gzip.compress(b" " * 3_000_000))
    site.pages["/broken"] = Page(b"\x1f\x8bnot gzip at all")
    with pytest.raises(FeedError, match="exceeds 1000000 bytes"):
        fetch(site, "/bomb", HttpPolicy(max_bytes=1_000_000))
    with pytest.raises(FeedError, match="corrupt compressed body"):
        fetch(site, "/broken")


@pytest.mark.parametrize(
    ("body", "coding"),
    [
        (rss(), "gzip"),
        (gzip.compress(rss()), "deflate"),
        (gzip.compress(rss()), "br"),
        (gzip.compress(rss()), "gzip, gzip"),
        (zlib.compress(rss()), "gzip"),
        (rss(), "UTF-8"),
    ],
    ids=["plain-as-gzip", "gzip-as-deflate", "gzip-as-br", "gzip-twice-once", "zlib-as-gzip",
         "a-charset"],
)  # fmt: skip
def test_a_body_without_its_declared_coding_is_read_as_it_is(
    site: LoopbackSite, body: bytes, coding: str
) -> None:
    site.pages["/feed"] = Page(body, headers={"Content-Encoding": coding})
    assert [s.title for s in fetch(site, "/feed").stories] == [TITLE]


def test_a_misdeclared_body_keeps_the_size_cap_and_garbage_is_still_refused(
    site: LoopbackSite,
) -> None:
    site.pages["/bomb"] = Page(gzip.compress(b" " * 3_000_000), headers={"Content-Encoding": "br"})
    site.pages["/garbage"] = Page(b"\x00\x01 not a body", headers={"Content-Encoding": "gzip"})
    with pytest.raises(FeedError, match="exceeds 1000000 bytes"):
        fetch(site, "/bomb", HttpPolicy(max_bytes=1_000_000))
    with pytest.raises(FeedError, match="corrupt compressed body"):
        fetch(site, "/garbage")
