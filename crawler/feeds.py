"""Poll RSS/Atom feeds: conditional GET over httpx; lxml (crawler.fastfeed) or feedparser parses."""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import logging
import os
import re
import threading
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urljoin

import feedparser
import httpx

from crawler import hints
from crawler.challenge import NEEDS_BROWSER, is_challenge
from crawler.charrefs import without_bad_charrefs
from crawler.fastfeed import entry_time_tuple, parse_fast
from crawler.http import FetchError, HttpPolicy, fetch
from crawler.inflate import BoundedDecoder, DecodeError, TooLarge
from crawler.schedule import CacheHints
from crawler.text import clean_text
from crawler.types import SUMMARY_MAX, TITLE_MAX, FeedFetch, FetchState, RawStory

log = logging.getLogger(__name__)
# Markup kept per field before its tags are stripped: RawStory cuts the text at its cap, and
# stripping tags from more than this (in the worst case 10 MB) is time spent on text not kept.
MARKUP_PER_CHARACTER = 8
_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>")
_DECLARED_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*encoding\s*=\s*["'][^"']+["']""")
_HEADER_CHARSET = re.compile(r";\s*charset\s*=\s*[\"']?[^\s;\"']", re.I)
# Entries read from one feed: real feeds carry tens, a few thousands at most. A feed of
# 100,000 items (a dump, a hostile server) took 90 s and 650 MB to store in one poll.
MAX_ENTRIES = 5000
GZIP_MAGIC = b"\x1f\x8b"  # no feed starts so: XML, JSON and HTML are text
# A server clock this far ahead of ours still gets its Last-Modified back as If-Modified-Since.
LAST_MODIFIED_SKEW = timedelta(minutes=5)
_FIRST_TAG = re.compile(rb"<([A-Za-z][\w:.-]{0,40})")
_TITLE = re.compile(rb"<title[^>]*>([^<]{1,400})", re.I)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")  # UTF-8, UTF-16/32 LE, BE


class FeedError(Exception):
    """A poll that yielded nothing usable (HTTP error, not a feed).

    `hints` carries a Retry-After the server sent with the error.
    """

    def __init__(self, message: str, hints: CacheHints | None = None) -> None:
        super().__init__(message)
        self.hints = hints or CacheHints()


def _entry_time_tuple(entry: Mapping[str, Any]) -> Any:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            return parsed
    return None


def _entry_link(entry: Mapping[str, Any], base_url: str) -> str | None:
    link = entry.get("link")
    if not link:
        guid = entry.get("id") or ""
        link = guid if guid.startswith(("http://", "https://")) else None
    if not link:
        return None
    try:
        return urljoin(base_url, link)
    except ValueError:  # "http://[abc/x", an unreadable host: keyed as a link-less item
        return None


def _stable_key(source_key: str, entry: Mapping[str, Any], base_url: str) -> str:
    """A URL-shaped key for items without a link, stable across polls."""
    material = "\x1f".join(str(entry.get(k, "")) for k in ("id", "title", "summary", "published"))
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:24]
    return urljoin(base_url, f"#{source_key}-{digest}")


ParsedFeed = tuple[list[RawStory], str | None, str | None]  # stories, bozo warning, RSS <ttl>
# How poll_feed parses: `parse_content` itself, or one that runs it elsewhere (a process pool).
FeedParser = Callable[
    [bytes, str, str, Mapping[str, str] | None, str | None], Awaitable[ParsedFeed]
]


def as_declared_feed(
    content: bytes, headers: Mapping[str, str] | None
) -> tuple[bytes, dict[str, str]]:
    """Feed bytes that declare their charset, as UTF-8 if they declared none; and the headers.

    Without a charset in the Content-Type, the XML declaration or a BOM,
    feedparser falls back to windows-1252, and a GBK or Big5 feed becomes
    mojibake that nothing matches. Such bytes (unless they are UTF-8) are
    decoded the way pages are (`crawler.spiders.decoding`: charset_normalizer,
    Chinese encodings first) and handed over as UTF-8, declared as such.
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    content_type = headers.get("content-type", "")
    if content.startswith(_BOMS):
        return content, headers
    declared = _declared_codec(content, content_type)
    if declared is not None:
        try:
            content.decode(declared)
            return content, headers
        except (UnicodeDecodeError, LookupError):
            # A charset that lies (GBK bytes declared UTF-8): feedparser would fall back to
            # windows-1252 and every title would be mojibake that nothing matches.
            pass
    try:
        content.decode("utf-8")
        return content, headers
    except UnicodeDecodeError:
        pass
    from crawler.spiders.decoding import decode_page  # trafilatura: imported only when needed

    decoded = decode_page(content, content_type)
    body = _XML_DECLARATION.sub(b"", decoded.text.encode("utf-8"), count=1)
    if content_type:
        headers["content-type"] = content_type.split(";")[0].strip() + "; charset=utf-8"
    return b"<?xml version='1.0' encoding='utf-8'?>" + body, headers


def _declared_codec(content: bytes, content_type: str) -> str | None:
    """The charset the header or the XML declaration names (header first), if any."""
    if _HEADER_CHARSET.search(content_type):
        return content_type.lower().split("charset=", 1)[-1].split(";")[0].strip(" \"'")
    declared = _DECLARED_ENCODING.match(content[:1024])
    if declared is None:
        return None
    found = re.search(rb"""encoding\s*=\s*["']([^"']+)""", declared.group(0))
    return found.group(1).decode("ascii", "replace") if found else None


def parse_feed(
    content: bytes,
    *,
    source_key: str,
    base_url: str,
    headers: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> tuple[list[RawStory], str | None]:
    """Parse feed bytes into stories; return them with a warning for bozo feeds.

    A feed that parsed only partly keeps what parsed. Raises FeedError when
    the bytes are not a feed at all.
    """
    stories, warning, _ttl = parse_content(content, source_key, base_url, headers, lang)
    return stories, warning


def parse_content(
    content: bytes,
    source_key: str,
    base_url: str,
    headers: Mapping[str, str] | None,
    lang: str | None,
) -> ParsedFeed:
    """`parse_feed`, plus the feed's RSS `<ttl>`; positional and picklable for a worker process."""
    content, headers = as_declared_feed(content, headers)
    fast = parse_fast(content, headers)
    if fast is not None:
        feed_lang = lang or (fast.language or "").split("-")[0].lower() or None
        entries = fast.entries[:MAX_ENTRIES]
        links = [_entry_link(entry, base_url) for entry in entries]
        if None not in links:  # a link-less item's key needs feedparser's sanitized text
            stories = [
                _story(entry, source_key, link, entry_time_tuple(entry), feed_lang)
                for entry, link in zip(entries, links, strict=True)
            ]
            return distinct_links(stories), _too_many(len(fast.entries)), fast.ttl
    return parse_with_feedparser(content, source_key, base_url, headers, lang)


def distinct_links(stories: list[RawStory]) -> list[RawStory]:
    """Stories of one feed that share a link (a CMS linking every item to its list page)
    but tell different things: each keyed by its link plus a fragment of its own.

    Keyed by the link alone, all but the first were taken for it and lost for good.
    """
    titles: dict[str, set[str]] = {}
    for story in stories:
        titles.setdefault(story.url, set()).add(story.title)
    if all(len(seen) == 1 for seen in titles.values()):
        return stories
    return [
        replace(story, url=_item_url(story)) if len(titles[story.url]) > 1 else story
        for story in stories
    ]


def _item_url(story: RawStory) -> str:
    """`story`'s link with the fragment `crawler.urls` keeps as an item's key."""
    material = "\x1f".join((story.title, story.summary))
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()[:24]
    return f"{story.url.partition('#')[0]}#{story.source_key}-{digest}"


def _too_many(entries: int) -> str | None:
    """The warning for a feed longer than MAX_ENTRIES (None if it is not)."""
    if entries <= MAX_ENTRIES:
        return None
    return f"{entries} entries: only the first {MAX_ENTRIES} read"


def html_page(content: bytes) -> str | None:
    """How a one-line error names an HTML page served for a feed (a login, block or error
    page with a 200), with its title: the parser's "not well-formed" says nothing useful."""
    if _root_name(content) != "html":
        return None
    found = _TITLE.search(content[:16384])
    title = " ".join(found.group(1).decode("utf-8", "replace").split())[:80] if found else ""
    named = f" titled {title!r}" if title else ""
    return f"an HTML page{named}: a login, block or error page?"


def _root_name(content: bytes) -> str:
    """The first element's name, for a one-line error ("html", "error"...)."""
    found = _FIRST_TAG.search(content[:4096])
    return found.group(1).decode("ascii", "replace").lower() if found else "?"


def parse_with_feedparser(
    content: bytes,
    source_key: str,
    base_url: str,
    headers: Mapping[str, str],
    lang: str | None,
) -> ParsedFeed:
    """`parse_content` by feedparser alone, on bytes that `as_declared_feed` has seen."""
    # clean_text() reduces titles and summaries to plain text right below, so
    # feedparser's HTML sanitizer and relative-URI rewriting would each re-parse
    # every summary only for markup that is thrown away: ~40% of parse time.
    content = without_bad_charrefs(content)
    parsed = feedparser.parse(
        content,
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    keyed: list[Any] | None = None  # the entries as `_stable_key` has always seen them
    warning = None
    if parsed.get("bozo"):
        warning = f"{type(parsed.get('bozo_exception')).__name__}: {parsed.get('bozo_exception')}"
        if not parsed.entries:
            raise FeedError(f"not a feed ({html_page(content) or warning})")
    if not parsed.entries and not parsed.get("version"):
        # Well-formed markup with no RSS, Atom or RDF root: an HTML error or login page
        # served with a 200 would otherwise poll "fine" with nothing in it, for months.
        raise FeedError(
            f"not a feed ({html_page(content) or f'a <{_root_name(content)}> document'})"
        )
    feed_lang = lang or (parsed.feed.get("language") or "").split("-")[0].lower() or None
    stories = []
    too_many = _too_many(len(parsed.entries))
    if too_many:
        warning = f"{warning}; {too_many}" if warning else too_many
    for index, entry in enumerate(parsed.entries[:MAX_ENTRIES]):
        link = _entry_link(entry, base_url)
        if link is None and keyed is None:
            # A link-less item's key hashes its title and summary as feedparser
            # sanitizes them by default: parse once more (rare) so keys stay stable.
            keyed = feedparser.parse(content, response_headers=headers).entries
            if len(keyed) != len(parsed.entries):
                keyed = parsed.entries
        url = link or _stable_key(source_key, (keyed or parsed.entries)[index], base_url)
        stories.append(_story(entry, source_key, url, _entry_time_tuple(entry), feed_lang))
    return distinct_links(stories), warning, parsed.feed.get("ttl")


def _gunzipped(content: bytes, limit: int) -> bytes:
    """A feed gzipped twice (a server compressing a `.xml.gz` again) or served as a `.gz`
    file: "not a feed" for ever before. Inflated here within the same size cap."""
    try:
        return BoundedDecoder("gzip", limit).decode(content)
    except TooLarge as exc:
        raise FeedError(f"response exceeds {limit} bytes") from exc
    except DecodeError as exc:
        raise FeedError(str(exc)) from exc


def _past_or_none(last_modified: str | None, now: datetime) -> str | None:
    """A Last-Modified worth sending back: not one in the future (a clock ahead, a file
    touched with a future time). Sent as If-Modified-Since, a server that answers 304 while
    that date is not older than its page's hid every new story until its clock got there."""
    if not last_modified:
        return None
    with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
        stamp = parsedate_to_datetime(last_modified)
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)
        if stamp > now + LAST_MODIFIED_SKEW:
            return None
    return last_modified


def _published(when: Any) -> datetime | None:
    """An entry's UTC time tuple as a datetime; None when it is not a date Python can hold
    (`9999-12-31T23:59:59-12:00` is in the year 10000 in UTC: one such entry failed its feed)."""
    if not when:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(when), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


def _story(
    entry: Mapping[str, Any], source_key: str, url: str, when: Any, lang: str | None
) -> RawStory:
    """A story from an entry as feedparser gives it (or `crawler.fastfeed` as feedparser would)."""
    title = clean_text((entry.get("title") or "")[: TITLE_MAX * MARKUP_PER_CHARACTER])
    summary_html = entry.get("summary") or ""
    if not summary_html and entry.get("content"):
        summary_html = entry["content"][0].get("value", "")
    summary_html = summary_html[: SUMMARY_MAX * MARKUP_PER_CHARACTER]
    return RawStory(
        source_key=source_key,
        url=url,
        title=title,
        summary=clean_text(summary_html),
        published_at=_published(when),
        lang=lang,
        guid=entry.get("id"),
    )


def init_parse_worker(niceness: int, poller_alive: Connection) -> None:
    """Set up a process that runs `parse_content` for a poller (a pool's initializer).

    Parsing is bulk work: at a lower priority it uses whatever CPU the
    poller's event loop (fetching, storing, commands, deliveries) leaves.
    A SIGKILLed poller cannot shut its pool down, and an idle worker would
    wait for work forever (the forkserver that forked it, too: it lives as
    long as any of its children). `poller_alive` is the read end of a pipe
    whose write end only the poller holds and never writes to: it reads EOF
    when the poller is gone, whatever way it went.
    """
    with contextlib.suppress(OSError):
        os.nice(niceness)

    def watch() -> None:
        with contextlib.suppress(EOFError, OSError):
            poller_alive.recv_bytes()
        os._exit(0)

    threading.Thread(target=watch, name="poller-watch", daemon=True).start()


async def poll_feed(
    client: httpx.AsyncClient,
    *,
    source_key: str,
    url: str,
    state: FetchState,
    policy: HttpPolicy,
    lang: str | None = None,
    parse: FeedParser | None = None,
) -> FeedFetch:
    """Fetch a feed with a conditional GET and parse it.

    A 304 returns no stories and the old state. Raises FeedError on any
    failure, with a message fit for the source's health record. `parse`
    replaces the in-line `parse_content` (the poller passes one that uses
    worker processes during a big cycle).
    """
    headers = {}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    try:
        response = await fetch(client, url, policy, headers)
    except FetchError as exc:
        raise FeedError(str(exc)) from exc
    now = datetime.now(UTC)
    if response.status == 304 and not headers:
        # Not modified since nothing: a broken cache in front, and "polled ok" for ever.
        raise FeedError("HTTP 304 to a request without validators")
    if response.status == 304:
        return FeedFetch(
            status=304,
            stories=(),
            state=state,
            not_modified=True,
            hints=hints.from_headers(response.headers, now),
            moved_to=response.moved_to,
        )
    if response.status >= 400:
        raise FeedError(
            f"HTTP {response.status}",
            CacheHints(retry_after=hints.retry_after(response.headers, now)),
        )
    if response.content.startswith(GZIP_MAGIC):
        response = replace(response, content=_gunzipped(response.content, policy.max_bytes))
    if is_challenge(response.content):
        raise FeedError(NEEDS_BROWSER)
    digest = hashlib.sha256(response.content).hexdigest()
    if digest == state.content_hash:  # same bytes as last time: nothing to parse or store
        return FeedFetch(
            status=response.status,
            stories=(),
            state=state,
            not_modified=True,
            hints=hints.from_headers(response.headers, now),
            moved_to=response.moved_to,
        )
    args = (response.content, source_key, response.url, response.headers, lang)
    stories, warning, ttl = await parse(*args) if parse else parse_content(*args)
    new_state = FetchState(
        etag=response.headers.get("etag"),
        last_modified=_past_or_none(response.headers.get("last-modified"), now),
        content_hash=digest,
    )
    return FeedFetch(
        status=response.status,
        stories=tuple(stories),
        state=new_state,
        warning=warning,
        hints=hints.from_headers(response.headers, now, ttl),
        moved_to=response.moved_to,
    )
