"""Feed parsing and polling against hand-made feeds and httpx.MockTransport servers."""

from __future__ import annotations

import asyncio
from xml.sax.saxutils import escape

import httpx
import pytest

from crawler.feeds import FeedError, ParsedFeed, parse_content, parse_feed, poll_feed
from crawler.http import HttpPolicy, make_client
from crawler.types import FetchState

RSS = """<?xml version="1.0" encoding="{encoding}"?>
<rss version="2.0"><channel><title>t</title><link>https://site.example/</link>
<item><title>{title}</title><link>{link}</link><guid>g1</guid>
<pubDate>Fri, 19 Jan 2018 17:30:00 +0800</pubDate><description>{summary}</description></item>
</channel></rss>"""


def rss(
    title: str = "T",
    link: str = "https://site.example/a",
    summary: str = "S",
    encoding: str = "utf-8",
) -> bytes:
    return RSS.format(title=title, link=link, summary=summary, encoding=encoding).encode(encoding)


def test_rss_item_becomes_a_raw_story_with_utc_time() -> None:
    stories, warning = parse_feed(rss(), source_key="s", base_url="https://site.example/feed")
    assert warning is None
    (story,) = stories
    assert story.url == "https://site.example/a"
    assert (
        story.published_at is not None
        and story.published_at.isoformat() == "2018-01-19T09:30:00+00:00"
    )


def test_gbk_feed_is_decoded() -> None:
    body = rss(title="支付宝关停比特币场外交易账户", summary="央行", encoding="gbk")
    (story,), _ = parse_feed(body, source_key="s", base_url="https://site.example/feed")
    assert story.title == "支付宝关停比特币场外交易账户"
    assert story.summary == "央行"


def test_markup_in_titles_is_stripped_and_entities_decoded() -> None:
    body = rss(title="&lt;b&gt;PBoC&lt;/b&gt; bans ICOs &amp;amp; more")
    (story,), _ = parse_feed(body, source_key="s", base_url="https://site.example/feed")
    assert story.title == "PBoC bans ICOs & more"


@pytest.mark.parametrize("cdata", [True, False])
def test_summaries_keep_their_words_and_lose_scripts_styles_and_markup(cdata: bool) -> None:
    """feedparser's sanitizer is off (clean_text reduces everything to words anyway)."""
    html = (
        "<p>Banks <b>must not</b> serve&nbsp;exchanges.</p><script>track()</script>"
        "<style>p{color:red}</style><applet>Java</applet><noscript>Enable JS</noscript>"
        "<a href='/more'>Read more</a> &amp; comment"
    )
    summary = f"<![CDATA[{html}]]>" if cdata else escape(html)
    (story,), _ = parse_feed(
        rss(summary=summary), source_key="s", base_url="https://site.example/feed"
    )
    assert story.summary == "Banks must not serve exchanges. Read more & comment"


def test_relative_links_are_resolved_against_the_feed_url() -> None:
    (story,), _ = parse_feed(
        rss(link="/news/1.html"), source_key="s", base_url="https://site.example/feed.xml"
    )
    assert story.url == "https://site.example/news/1.html"


def test_items_without_link_get_a_stable_key() -> None:
    body = b"""<rss version="2.0"><channel><title>t</title>
    <item><title>No link here</title><description>x</description></item></channel></rss>"""
    first, _ = parse_feed(body, source_key="s", base_url="https://site.example/feed")
    again, _ = parse_feed(body, source_key="s", base_url="https://site.example/feed")
    assert first[0].url == again[0].url
    assert first[0].url.startswith("https://site.example/feed#s-")


def test_link_less_keys_did_not_change_when_the_sanitizer_was_turned_off() -> None:
    """The key hashes the item as feedparser sanitizes it, as it always did: no second alert."""
    body = (
        b'<rss version="2.0"><channel><title>t</title><item><guid isPermaLink="false">notice-7'
        b"</guid><title>Notice &lt;b&gt;7&lt;/b&gt;</title><description>&lt;p onclick="
        b'"x()"&gt;Banks must&lt;br&gt;stop&lt;/p&gt;&lt;script&gt;t()&lt;/script&gt;'
        b"</description></item></channel></rss>"
    )
    (story,), _ = parse_feed(body, source_key="s", base_url="https://site.example/feed")
    assert story.url == "https://site.example/feed#s-f7ef81b3b8c1fdc2d1ce6538"  # as before
    assert (story.title, story.summary) == ("Notice 7", "Banks must stop")


def test_broken_feed_keeps_what_parsed_and_warns() -> None:
    body = rss().replace(
        b"</channel></rss>",
        b"<item><title>second</title><link>https://site.example/b</link></item><oops",
    )
    stories, warning = parse_feed(body, source_key="s", base_url="https://site.example/feed")
    assert warning is not None
    assert [s.url for s in stories][:1] == ["https://site.example/a"]


def test_html_page_is_not_a_feed() -> None:
    with pytest.raises(FeedError, match="not a feed"):
        parse_feed(b"<html><body><p>hello", source_key="s", base_url="https://site.example/")


def _poll(
    handler: httpx.MockTransport,
    state: FetchState | None = None,
    policy: HttpPolicy | None = None,
):
    state = state or FetchState()
    policy = policy or HttpPolicy()

    async def go():
        async with make_client(policy, transport=handler) as client:
            return await poll_feed(
                client, source_key="s", url="https://site.example/feed", state=state, policy=policy
            )

    return asyncio.run(go())


def test_conditional_get_sends_validators_and_304_parses_nothing() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(304)

    state = FetchState(etag='"abc"', last_modified="Fri, 19 Jan 2018 09:30:00 GMT")
    result = _poll(httpx.MockTransport(handler), state)
    assert result.not_modified and result.stories == () and result.state == state
    assert seen[0].headers["If-None-Match"] == '"abc"'
    assert seen[0].headers["If-Modified-Since"] == "Fri, 19 Jan 2018 09:30:00 GMT"


def test_new_validators_are_returned() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=rss(), headers={"ETag": '"v2"', "Last-Modified": "x"})

    result = _poll(httpx.MockTransport(handler))
    assert (result.state.etag, result.state.last_modified) == ('"v2"', "x")
    assert result.state.content_hash is not None
    assert len(result.stories) == 1


def test_server_error_is_a_feed_error() -> None:
    with pytest.raises(FeedError, match="HTTP 503"):
        _poll(httpx.MockTransport(lambda request: httpx.Response(503)))


def test_oversized_response_is_refused_while_streaming() -> None:
    async def chunks():
        for _ in range(64):
            yield b"x" * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())  # streamed, no Content-Length

    with pytest.raises(FeedError, match="exceeds 4096 bytes"):
        _poll(httpx.MockTransport(handler), policy=HttpPolicy(max_bytes=4096))


def test_declared_oversized_response_is_refused_before_reading() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 5000)

    with pytest.raises(FeedError, match="5000 bytes exceeds 4096"):
        _poll(httpx.MockTransport(handler), policy=HttpPolicy(max_bytes=4096))


def test_connection_failure_is_a_feed_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(FeedError, match="ConnectError"):
        _poll(httpx.MockTransport(handler))


def test_a_server_without_validators_repeating_itself_costs_no_parse() -> None:
    body = rss()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)  # no ETag, no Last-Modified

    first = _poll(httpx.MockTransport(handler))
    assert len(first.stories) == 1 and not first.not_modified
    again = _poll(httpx.MockTransport(handler), first.state)
    assert again.not_modified and again.stories == () and again.state == first.state
    body = rss(title="Changed")
    changed = _poll(httpx.MockTransport(handler), first.state)
    assert [s.title for s in changed.stories] == ["Changed"]


def test_poll_feed_parses_with_the_parser_it_is_given() -> None:
    """The poller passes one that runs in a worker process; it gets the response's bytes."""
    seen: list[tuple[bytes, str, str]] = []

    async def elsewhere(
        content: bytes, key: str, base: str, headers: object, lang: str | None
    ) -> ParsedFeed:
        seen.append((content, key, base))
        return parse_content(content, key, base, None, lang)

    async def go() -> None:
        transport = httpx.MockTransport(lambda _request: httpx.Response(200, content=rss()))
        async with make_client(HttpPolicy(), transport=transport) as client:
            fetched = await poll_feed(
                client,
                source_key="s",
                url="https://site.example/feed",
                state=FetchState(),
                policy=HttpPolicy(),
                parse=elsewhere,
            )
        assert [s.url for s in fetched.stories] == ["https://site.example/a"]

    asyncio.run(go())
    assert seen == [(rss(), "s", "https://site.example/feed")]
