"""Poll RSS/Atom feeds: conditional GET over httpx, parsing by feedparser."""

from __future__ import annotations

import calendar
import contextlib
import hashlib
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import urljoin

import feedparser
import httpx

from crawler import hints
from crawler.http import FetchError, HttpPolicy, fetch
from crawler.schedule import CacheHints
from crawler.text import clean_text
from crawler.types import FeedFetch, FetchState, RawStory

log = logging.getLogger(__name__)


class FeedError(Exception):
    """A poll that yielded nothing usable (HTTP error, not a feed).

    `hints` carries a Retry-After the server sent with the error.
    """

    def __init__(self, message: str, hints: CacheHints | None = None) -> None:
        super().__init__(message)
        self.hints = hints or CacheHints()


def _entry_time(entry: Mapping[str, Any]) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    return None


def _entry_link(entry: Mapping[str, Any], base_url: str) -> str | None:
    link = entry.get("link")
    if not link:
        guid = entry.get("id") or ""
        link = guid if guid.startswith(("http://", "https://")) else None
    return urljoin(base_url, link) if link else None


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
    # clean_text() reduces titles and summaries to plain text right below, so
    # feedparser's HTML sanitizer and relative-URI rewriting would each re-parse
    # every summary only for markup that is thrown away: ~40% of parse time.
    parsed = feedparser.parse(
        content,
        response_headers=dict(headers or {}),
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    keyed: list[Any] | None = None  # the entries as `_stable_key` has always seen them
    warning = None
    if parsed.get("bozo"):
        warning = f"{type(parsed.get('bozo_exception')).__name__}: {parsed.get('bozo_exception')}"
        if not parsed.entries:
            raise FeedError(f"not a feed ({warning})")
    feed_lang = lang or (parsed.feed.get("language") or "").split("-")[0].lower() or None
    stories = []
    for index, entry in enumerate(parsed.entries):
        link = _entry_link(entry, base_url)
        if link is None and keyed is None:
            # A link-less item's key hashes its title and summary as feedparser
            # sanitizes them by default: parse once more (rare) so keys stay stable.
            keyed = feedparser.parse(content, response_headers=dict(headers or {})).entries
            if len(keyed) != len(parsed.entries):
                keyed = parsed.entries
        title = clean_text(entry.get("title"))
        summary_html = entry.get("summary") or ""
        if not summary_html and entry.get("content"):
            summary_html = entry["content"][0].get("value", "")
        stories.append(
            RawStory(
                source_key=source_key,
                url=link or _stable_key(source_key, (keyed or parsed.entries)[index], base_url),
                title=title,
                summary=clean_text(summary_html),
                published_at=_entry_time(entry),
                lang=feed_lang,
                guid=entry.get("id"),
            )
        )
    return stories, warning, parsed.feed.get("ttl")


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
        last_modified=response.headers.get("last-modified"),
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
