"""A parse worker's job for the poller: parse a feed, normalise its stories, match them.

Why: in a first cycle the poller's process did the per-story work (normalise,
match, the search index's text) on the same GIL as the event loop and the
storing thread, while the parse worker idled. The worker does that work now
and hands over what the storing thread would have computed; storing only
dedups, clusters, inserts and fans out. It hands back no raw items (the
poller needs only their count), and it skips the items the feed had at its
last poll stored (`known`, by `item_key`): in steady state most items of a
changed feed are, and storing would only find them known.

The worker matches with a copy of the poller's filter built from the spec it
had when the pool started (`FilterBook.from_spec`). The poller uses those
verdicts only while its filter's spec is still that one
(`PreparedFeed.spec`); otherwise it matches again in-line, so a /watch added
meanwhile is never missed.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from crackdown.runtime import filters
from crackdown.runtime.filters import FilterBook, FilterSpec
from crackdown.runtime.normalising import normalised
from crawler.feeds import ParsedFeed, init_parse_worker, parse_content
from crawler.search_text import document
from crawler.types import MatchResult, Story
from crawler.urls import is_web_url

if TYPE_CHECKING:  # numpy: imported once the worker has started (`_build`)
    from crawler.cluster import Signature

_filter: FilterBook | None = None  # this worker's copy of the poller's filter
# The watchlist keys that make no story worth clustering (`crawler.cluster.reports_an_event`);
# None: clustering is off, no signatures made.
_quiet: frozenset[str] | None = None
KEY_BYTES = 8  # `item_key`'s length


@dataclass
class PreparedFeed:
    """A feed's stories as `pipeline.prepare` gives them, with their verdicts if matched.

    `spec` is the poller's filter spec the verdicts were made by, set in the
    poller's process (the same object, so `is` compares it).
    """

    batch: dict[str, Story]
    dropped: list[str]  # the source of each item dropped for a non-web link
    matches: dict[str, MatchResult] | None
    search_docs: dict[str, str]  # `crawler.search_text.document` of each story
    items: int = 0  # items the feed had (its raw items stay in the worker)
    keys: bytes = b""  # `item_key`s of the items kept (a web link), one after another
    skipped: int = 0  # items left out as known (`parse_and_prepare`'s `known`)
    # MinHash signatures without names (`crawler.cluster.with_names`) of the stories whose
    # verdict reports an event: those storing clusters, unless a chat's following decides
    signatures: dict[str, Signature | None] | None = None
    spec: FilterSpec | None = None


def init_worker(
    niceness: int,
    poller_alive: Connection,
    spec: FilterSpec | None,
    quiet: frozenset[str] | None = None,
) -> None:
    """A pool's initializer: `init_parse_worker`, and this worker's filter built meanwhile.

    Building the filter takes about a second; the worker parses and
    normalises from the start, and matches once its filter is there (until
    then the poller matches). `quiet`: clustering's places and background
    (None: clustering is off), for the signatures made with the verdicts.
    """
    init_parse_worker(niceness, poller_alive)
    if spec is not None:
        thread = threading.Thread(target=_build, args=(spec, quiet), name="filter-build")
        thread.daemon = True
        thread.start()


def _build(spec: FilterSpec, quiet: frozenset[str] | None) -> None:
    global _filter, _quiet
    # The poller has logged which watched queries it ignores; the worker need not repeat it.
    logging.getLogger(filters.__name__).setLevel(logging.ERROR)
    if quiet is not None:
        import crawler.cluster  # noqa: F401  numpy, before the first verdict needs it

        _quiet = quiet
    _filter = FilterBook.from_spec(spec)


def parse_and_prepare(
    content: bytes,
    source_key: str,
    base_url: str,
    headers: Mapping[str, str] | None,
    lang: str | None,
    fetched_at: datetime,
    known: bytes = b"",
) -> tuple[ParsedFeed, PreparedFeed]:
    """`parse_content`'s warning and ttl, and its new stories normalised and matched.

    Items whose `item_key` is in `known` (the feed's items at its last poll
    stored, as `PreparedFeed.keys`) are left out: their story is stored, or
    noted for this source, and the same link makes the same story key. A
    changed link is a new key.
    The raw items are not returned (`PreparedFeed.items` counts them).
    """
    raw, warning, ttl = parse_content(content, source_key, base_url, headers, lang)
    keys = [item_key(item.url) for item in raw]
    seen = {known[at : at + KEY_BYTES] for at in range(0, len(known), KEY_BYTES)}
    fresh = [item for item, key in zip(raw, keys, strict=True) if key not in seen]
    batch, dropped = normalised(fresh, fetched_at)
    book, matches = _filter, None
    if book is not None:
        matches = {url: book.match(story) for url, story in batch.items()}
    docs = {url: document(s.title, s.summary, s.body) for url, s in batch.items()}
    quiet, signatures = _quiet, None
    if quiet is not None and matches is not None:
        from crawler.cluster import reports_an_event, signature

        signatures = {
            url: signature(batch[url])
            for url, match in matches.items()
            if reports_an_event(match, quiet)
        }
    kept = b"".join(
        dict.fromkeys(
            key for item, key in zip(raw, keys, strict=True) if key in seen or is_web_url(item.url)
        )
    )
    skipped = len(raw) - len(fresh)
    prepared = PreparedFeed(batch, dropped, matches, docs, len(raw), kept, skipped, signatures)
    return ([], warning, ttl), prepared


def item_key(url: str) -> bytes:
    """A feed item's link as 8 bytes: what the poller keeps of a feed's last items.

    A digest, not the link, and a feed's keys as one `bytes`, not a set: a
    thousand feeds of 50 items are 50,000 links (a set of ints was 3-4 MB).
    Keyed by the link as the feed gives it (`normalise` makes the story's key
    from it alone), so an item whose link changed is never taken for known.
    """
    return hashlib.blake2b(url.encode(), digest_size=KEY_BYTES).digest()


def has_filter() -> bool:
    """Whether this worker matches yet (its filter is built); for tests and diagnostics."""
    return _filter is not None
