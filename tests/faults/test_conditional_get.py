"""Servers that get conditional GET wrong, polled for months.

Old code: a Last-Modified in the future (a server clock ahead, a file touched with a
future mtime) was kept and sent back as If-Modified-Since; a server that answers 304
while If-Modified-Since >= its page's time (many hand-written ones do) then hid every new
story until its clock reached that date. A 304 to a request that sent no validators (a
broken cache in front) was "not modified" for ever: polled ok, nothing, no error shown.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import pytest

from crackdown.demo.site import LoopbackSite, Page
from crawler.feeds import FeedError, poll_feed
from crawler.http import HttpPolicy, make_client
from crawler.netguard import fetching_for
from crawler.types import FeedFetch, FetchState


def _rss(*titles: str) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>https://x.example/{i}</link></item>"
        for i, t in enumerate(titles)
    )
    return f"<rss version='2.0'><channel><title>c</title>{items}</channel></rss>".encode()


def _poll(site: LoopbackSite, state: FetchState) -> FeedFetch:
    policy = HttpPolicy()

    async def go() -> FeedFetch:
        with fetching_for("s", [site.base_url]):
            async with make_client(policy) as client:
                return await poll_feed(
                    client, source_key="s", url=site.url("/feed"), state=state, policy=policy
                )

    return asyncio.run(go())


def test_a_last_modified_in_the_future_does_not_hide_new_stories(site: LoopbackSite) -> None:
    future = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    body = {"feed": _rss("first story")}

    def naive_server(_: str) -> Page:
        """Answers 304 while If-Modified-Since is not older than its page's stated time."""
        asked = site.requests[-1][1].get("If-Modified-Since")
        if asked and parsedate_to_datetime(asked) >= future:
            return Page(b"", status=304)
        headers = {"Last-Modified": format_datetime(future, usegmt=True)}
        return Page(body["feed"], "application/rss+xml", headers=headers)

    site.pages["/feed"] = naive_server
    first = _poll(site, FetchState())
    assert [s.title for s in first.stories] == ["first story"]
    body["feed"] = _rss("first story", "second story")
    second = _poll(site, first.state)
    assert [s.title for s in second.stories] == ["first story", "second story"]


def test_a_last_modified_in_the_past_is_still_sent_back(site: LoopbackSite) -> None:
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"
    site.pages["/feed"] = Page(_rss("a"), headers={"Last-Modified": stamp})
    fetched = _poll(site, FetchState())
    assert fetched.state.last_modified == stamp


def test_a_304_to_an_unconditional_request_is_an_error(site: LoopbackSite) -> None:
    site.pages["/feed"] = Page(b"", status=304)
    with pytest.raises(FeedError, match="304"):
        _poll(site, FetchState())
    # A 304 to a conditional request is what it says: not modified.
    assert _poll(site, FetchState(etag='"x"')).not_modified


def test_an_etag_that_changes_every_poll_over_the_same_bytes_is_unchanged(
    site: LoopbackSite,
) -> None:
    """A server (a load balancer's nodes, a per-response ETag) whose ETag never repeats:
    each poll is a 200, and the same bytes are found unchanged, not parsed and stored
    again; new bytes are read. Already so; checked here."""
    state = FetchState()
    seen: list[tuple[bool, list[str]]] = []
    for poll, body in enumerate([_rss("a"), _rss("a"), _rss("a", "b")]):
        site.pages["/feed"] = Page(body, headers={"ETag": f'"node-{poll}"'})
        fetched = _poll(site, state)
        seen.append((fetched.not_modified, [s.title for s in fetched.stories]))
        state = fetched.state
    assert seen == [(False, ["a"]), (True, []), (False, ["a", "b"])]
