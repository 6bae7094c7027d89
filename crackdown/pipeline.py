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

    Each new story is stored with its match and its outbox rows in one
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
    for url, story in batch.items():
        if url in seen:
            continue
        match = matcher.match(story)
        try:
            with db.session() as session:
                outcome = story_store.store_story(session, story, match)
        except IntegrityError:  # another process stored it between our check and insert
            continue
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
