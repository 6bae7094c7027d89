"""A parse worker's job for the poller: parse a feed, normalise its stories, match them.

Why: in a first cycle the poller's process did the per-story work (normalise,
match, the search index's text) on the same GIL as the event loop and the
storing thread, while the parse worker idled. The worker does that work now
and hands over what the storing thread would have computed; storing only
dedups, clusters, inserts and fans out.

The worker matches with a copy of the poller's filter built from the spec it
had when the pool started (`FilterBook.from_spec`). The poller uses those
verdicts only while its filter's spec is still that one
(`PreparedFeed.spec`); otherwise it matches again in-line, so a /watch added
meanwhile is never missed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from multiprocessing.connection import Connection

from crackdown.runtime import filters
from crackdown.runtime.filters import FilterBook, FilterSpec
from crackdown.runtime.normalising import normalised
from crawler.feeds import ParsedFeed, init_parse_worker, parse_content
from crawler.search_text import document
from crawler.types import MatchResult, Story

_filter: FilterBook | None = None  # this worker's copy of the poller's filter


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
    spec: FilterSpec | None = None


def init_worker(niceness: int, poller_alive: Connection, spec: FilterSpec | None) -> None:
    """A pool's initializer: `init_parse_worker`, and this worker's filter built meanwhile.

    Building the filter takes about a second; the worker parses and
    normalises from the start, and matches once its filter is there (until
    then the poller matches).
    """
    init_parse_worker(niceness, poller_alive)
    if spec is not None:
        threading.Thread(target=_build, args=(spec,), name="filter-build", daemon=True).start()


def _build(spec: FilterSpec) -> None:
    global _filter
    # The poller has logged which watched queries it ignores; the worker need not repeat it.
    logging.getLogger(filters.__name__).setLevel(logging.ERROR)
    _filter = FilterBook.from_spec(spec)


def parse_and_prepare(
    content: bytes,
    source_key: str,
    base_url: str,
    headers: Mapping[str, str] | None,
    lang: str | None,
    fetched_at: datetime,
) -> tuple[ParsedFeed, PreparedFeed]:
    """`parse_content`, and its stories normalised and (if the worker has a filter) matched."""
    parsed = parse_content(content, source_key, base_url, headers, lang)
    batch, dropped = normalised(parsed[0], fetched_at)
    book, matches = _filter, None
    if book is not None:
        matches = {url: book.match(story) for url, story in batch.items()}
    docs = {url: document(s.title, s.summary, s.body) for url, s in batch.items()}
    return parsed, PreparedFeed(batch, dropped, matches, docs)


def has_filter() -> bool:
    """Whether this worker matches yet (its filter is built); for tests and diagnostics."""
    return _filter is not None
