"""The product in one place: normalise, dedup, match, store, fan out.

`ingest` reads like the flow in DESIGN.md; every other module does one step
(`crackdown.polling` collects, `bot.delivery` sends).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory
from storage import stories as story_store
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """New stories stored, how many matched a topic, outbox rows created."""

    stories: int = 0
    matched: int = 0
    queued: int = 0
    also_reported: int = 0  # stories already stored, now also seen from another source

    def add(self, other: IngestReport) -> None:
        self.stories += other.stories
        self.matched += other.matched
        self.queued += other.queued
        self.also_reported += other.also_reported


def ingest(
    db: Database, matcher: Matcher, raw: Iterable[RawStory], fetched_at: datetime
) -> IngestReport:
    """Normalise, dedup, match, store and fan out a batch of collected stories.

    New stories are stored with their matches and outbox rows in one
    transaction, so an alert is queued exactly when its story is stored.
    """
    report = IngestReport()
    batch = {
        story.canonical_url: story for story in (normalise(r, fetched_at=fetched_at) for r in raw)
    }
    with db.session() as session:
        seen = story_store.known_urls(session, list(batch))
        by_source: dict[str, dict[str, str]] = {}
        for url in seen:
            by_source.setdefault(batch[url].source_key, {})[url] = batch[url].url
        for source_key, urls in by_source.items():  # one story, one alert: just note the source
            report.also_reported += story_store.record_also_reported(session, source_key, urls)
    new = [(story, matcher.match(story)) for url, story in batch.items() if url not in seen]
    if not new:
        return report
    try:  # the whole batch in one transaction: each story with its match and outbox rows
        with db.session() as session:
            outcomes = story_store.store_stories(session, new, skip_known=False)
    except IntegrityError:  # another writer stored some meanwhile: one at a time, skipping those
        outcomes = []
        for item in new:
            with db.session() as session:
                outcomes += story_store.store_stories(session, [item])
    for (story, match), outcome in zip(new, outcomes, strict=True):
        if outcome.story_id is None:
            continue
        report.stories += 1
        report.matched += int(match.matched)
        report.queued += outcome.deliveries
        if match.matched:
            log.info(
                "match %s: %s %s", ",".join(match.topics), story.title[:80], list(match.entities)
            )
    return report
