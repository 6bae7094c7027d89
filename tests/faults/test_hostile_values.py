"""One hostile value in a source's answer costs that value or that item, not the poll.

- A digit Python's `str.isdigit` takes and `float`/`int` refuse (superscripts: "²") in
  RSS `<ttl>`, Cache-Control max-age or Retry-After, or in a JSON API item's date.
- An item link whose host cannot be read ("http://[abc/x": `urljoin` raises ValueError).
- A JSON API's error object where its item list should be (below).

Old code: each was "internal error: ValueError" with a traceback in the log, every poll,
and none of the feed's other stories was stored.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from crackdown.demo.site import LoopbackSite, Page
from crawler.feeds import FeedError
from crawler.http import HttpPolicy, make_client
from crawler.jsonapi import ApiItems, ApiSpec, poll_api
from crawler.netguard import fetching_for
from crawler.types import FeedFetch, FetchState
from tests.crawler.test_feed_fetching import fetch

POLICY = HttpPolicy()


def rss(ttl: str, *links: str) -> bytes:
    items = "".join(
        f"<item><title>story {n}</title><link>{link}</link></item>" for n, link in enumerate(links)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>c</title>'
        f"<ttl>{ttl}</ttl>{items}</channel></rss>"
    ).encode()


def poll_api_once(site: LoopbackSite, spec: ApiSpec) -> tuple[FeedFetch, ApiItems]:
    """One poll of the site's /api as a JSON API source."""

    async def poll() -> tuple[FeedFetch, ApiItems]:
        with fetching_for("s", [site.base_url]):
            async with make_client(POLICY) as client:
                return await poll_api(
                    client,
                    source_key="s",
                    url=site.url("/api"),
                    state=FetchState(),
                    policy=POLICY,
                    spec=spec,
                )

    return asyncio.run(poll())


def test_superscript_digits_in_ttl_and_caching_headers_are_ignored(site: LoopbackSite) -> None:
    site.pages["/feed"] = Page(
        rss("\u00b2", "https://x.example/1"),
        headers={"Retry-After": "\u00b2", "Cache-Control": "max-age=\u00b9"},
    )
    fetched = fetch(site, "/feed")
    assert [s.title for s in fetched.stories] == ["story 0"]
    assert fetched.hints.lower_bound() == 0.0  # no hint read from them


def test_an_unreadable_item_link_loses_no_other_story(site: LoopbackSite) -> None:
    site.pages["/feed"] = Page(rss("60", "http://[abc/x", "https://x.example/2"))
    fetched = fetch(site, "/feed")
    assert [s.title for s in fetched.stories] == ["story 0", "story 1"]
    assert fetched.stories[0].url.startswith(site.url("/feed#s-"))  # keyed as link-less
    assert fetched.hints.ttl == 3600


def test_a_json_item_with_a_hostile_date_or_link_loses_only_itself(site: LoopbackSite) -> None:
    items = [
        {"t": "a superscript date", "u": "https://x.example/1", "d": "\u00b2"},
        {"t": "an unreadable link", "u": "http://[abc/x", "d": "1700000000"},
        {"t": "a good one", "u": "https://x.example/3", "d": "1700000000"},
    ]
    site.pages["/api"] = Page(json.dumps({"items": items}).encode())
    fetched, found = poll_api_once(site, ApiSpec(title="t", link="u", items="items", date="d"))
    assert found.problems == ("item 1: unreadable link",)
    assert fetched.stories[0].published_at is None
    assert [s.title for s in fetched.stories] == ["a superscript date", "a good one"]


def test_a_json_error_object_served_with_200_is_a_failure_naming_its_keys(
    site: LoopbackSite,
) -> None:
    """Old code: an API whose items are the top-level list answering `{"code": 429, "msg":
    ...}` with a 200 polled "ok" with a warning, every poll: the source looked healthy and no
    operator notice ever came (they follow failures in a row)."""
    site.pages["/api"] = Page(json.dumps({"code": 429, "msg": "too frequent"}).encode())
    with pytest.raises(FeedError) as raised:
        poll_api_once(site, ApiSpec(title="t", link="u"))  # items: the document itself
    assert str(raised.value) == "no item readable (item 0: no title; its keys: code, msg)"
