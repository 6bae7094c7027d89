"""The product in one place: poll, normalise, dedup, match, store, fan out.

`ingest` reads like the flow in DESIGN.md; every other module does one step.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from sqlalchemy.exc import IntegrityError

from crawler.feeds import FeedError, poll_feed
from crawler.http import HttpPolicy
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory
from storage import sources as source_store
from storage import stories as story_store
from storage.db import Database

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    """New stories stored, how many matched a topic, outbox rows created."""

    stories: int = 0
    matched: int = 0
    queued: int = 0

    def add(self, other: IngestReport) -> None:
        self.stories += other.stories
        self.matched += other.matched
        self.queued += other.queued


@dataclass
class PollReport(IngestReport):
    polled: int = 0
    failed: list[str] = field(default_factory=list)


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


async def poll_source(
    db: Database,
    matcher: Matcher,
    client: httpx.AsyncClient,
    policy: HttpPolicy,
    *,
    key: str,
    url: str,
    lang: str | None,
) -> IngestReport:
    """Poll one feed and ingest what it had; a failure is recorded, never raised."""
    with db.session() as session:
        state = source_store.fetch_state(session, key)
    now = datetime.now(UTC)
    try:
        result = await poll_feed(
            client, source_key=key, url=url, state=state, policy=policy, lang=lang
        )
    except FeedError as exc:
        with db.session() as session:
            streak = source_store.record_failure(session, key, str(exc), now)
        log.warning("source %s: poll failed (%d in a row): %s", key, streak, exc)
        raise
    if result.warning:
        log.warning(
            "source %s: feed is malformed, kept %d items: %s",
            key,
            len(result.stories),
            result.warning,
        )
    report = ingest(db, matcher, result.stories, now) if result.stories else IngestReport()
    with db.session() as session:
        source_store.record_success(session, key, result.state, report.stories, now)
    log.info(
        "source %s: %s, %d items, %d new, %d matched",
        key,
        "not modified" if result.not_modified else f"HTTP {result.status}",
        len(result.stories),
        report.stories,
        report.matched,
    )
    return report


async def poll_all(
    db: Database,
    matcher: Matcher,
    client: httpx.AsyncClient,
    policy: HttpPolicy,
    feeds: Iterable[tuple[str, str, str | None]],
    concurrency: int,
) -> PollReport:
    """Poll (key, url, lang) feeds concurrently; one broken feed never stops the others."""
    limit = asyncio.Semaphore(concurrency)
    report = PollReport()

    async def one(key: str, url: str, lang: str | None) -> None:
        async with limit:
            try:
                report.add(
                    await poll_source(db, matcher, client, policy, key=key, url=url, lang=lang)
                )
            except FeedError:
                report.failed.append(key)
            except Exception:
                log.exception("source %s: unexpected error while polling", key)
                with db.session() as session:
                    source_store.record_failure(
                        session, key, "internal error (see log)", datetime.now(UTC)
                    )
                report.failed.append(key)
            report.polled += 1

    await asyncio.gather(*(one(*feed) for feed in feeds))
    return report
