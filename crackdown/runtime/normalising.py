"""A source's items normalised, by canonical URL: the part of the pipeline a parse worker runs.

Why a module of its own: a parse worker imports what it runs (`runtime.feed_work`),
and `runtime.pipeline` brings the storage layer and SQLAlchemy with it, about half
a second of a worker's start for code it never calls.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from crawler.normalize import normalise
from crawler.types import RawStory, Story
from crawler.urls import is_web_url


def normalised(raw: Iterable[RawStory], fetched_at: datetime) -> tuple[dict[str, Story], list[str]]:
    """`pipeline.prepare` without its log lines: the batch, and whose items it dropped."""
    batch: dict[str, Story] = {}
    dropped: list[str] = []
    for item in raw:
        if not is_web_url(item.url):
            dropped.append(item.source_key)
            continue
        story = normalise(item, fetched_at=fetched_at)
        batch[story.canonical_url] = story
    return batch, dropped
