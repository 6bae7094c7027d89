"""The product in one place: normalise, dedup, match, store, fan out.

`ingest` reads like the flow in DESIGN.md; every other module does one step
(`crackdown.runtime.polling` collects, `bot.delivery` sends). `store_found` is the
same flow for several sources in the caller's transaction, which is how the
poller stores a busy cycle: one transaction for many feeds costs far less
than one each.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crackdown.runtime.normalising import normalised
from crawler.cluster import Signature
from crawler.matcher import StoryFilter
from crawler.types import MatchResult, RawStory, Story
from storage import stories as story_store
from storage.db import Database
from storage.records import IngestOutcome

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


def prepare(raw: Iterable[RawStory], fetched_at: datetime) -> dict[str, Story]:
    """One source's items normalised, by canonical URL (a link the feed repeats: its last item).

    An item whose link is not http(s) (`javascript:`, `data:`, `tg:`) is
    dropped with a log line: its link would reach subscribers' messages.
    """
    batch, dropped = normalised(raw, fetched_at)
    log_dropped(dropped)
    return batch


def log_dropped(dropped: Iterable[str]) -> None:
    """`prepare`'s line for each item dropped for a non-web link, by its source."""
    for source_key in dropped:
        log.info("source %s: dropped an item linking to a non-web URL", source_key)


def ingest(
    db: Database, matcher: StoryFilter, raw: Iterable[RawStory], fetched_at: datetime
) -> IngestReport:
    """Normalise, dedup, match, store and fan out a batch of collected stories.

    New stories are stored with their matches and outbox rows in one
    transaction, so an alert is queued exactly when its story is stored.
    """
    batch = prepare(raw, fetched_at)
    if not batch:
        return IngestReport()
    try:
        with db.session() as session:
            (report,) = store_found(session, matcher, [batch])
        return report
    except IntegrityError:  # another writer stored some meanwhile: one at a time, skipping those
        return ingest_one_by_one(db, matcher, batch)


def store_found(
    session: Session,
    matcher: StoryFilter,
    batches: Sequence[dict[str, Story]],
    *,
    matches: Sequence[Mapping[str, MatchResult] | None] = (),
    search_docs: Sequence[Mapping[str, str] | None] = (),
    signatures: Sequence[Mapping[str, Signature | None] | None] = (),
) -> list[IngestReport]:
    """Dedup, match, store and fan out several sources' stories in the caller's transaction.

    `batches` are `prepare`d, one per source, in the order they were
    collected: a story in two of them is stored for the first and noted as
    "also reported" by the other, exactly as if they had been ingested one
    after the other. Only stories not stored yet are matched, unless
    `matches` (one per batch, or None) has their verdict already: a parse
    worker's, by `matcher` as it is now (`runtime.parse_pool`); `search_docs`
    (one per batch, or None) are their search documents, by canonical URL,
    made there too, and `signatures` (the same) their MinHash signatures without
    names (`crawler.cluster.with_names`), where made. A story stored
    by another writer since the check raises IntegrityError (the unique
    canonical URL); the caller rolls back and uses `ingest_one_by_one`.
    """
    reports = [IngestReport() for _ in batches]
    known = story_store.known_urls(
        session, list(dict.fromkeys(url for batch in batches for url in batch))
    )
    first: dict[str, str] = {}  # canonical URL -> the source that stores it in this batch
    new: list[tuple[Story, MatchResult]] = []
    owners: list[int] = []
    also: list[dict[str, dict[str, str]]] = [{} for _ in batches]  # source -> {canonical: url}
    verdicts = list(matches) + [None] * (len(batches) - len(matches))
    made = list(search_docs) + [None] * (len(batches) - len(search_docs))
    signed = list(signatures) + [None] * (len(batches) - len(signatures))
    docs: dict[str, str] = {}  # of the stories to store, where made already
    sigs: dict[str, Signature | None] = {}
    for index, (batch, verdict, made_docs) in enumerate(zip(batches, verdicts, made, strict=True)):
        made_sigs = signed[index]
        for url, story in batch.items():
            if url in known or url in first:
                if first.get(url) != story.source_key:  # a repeat by its own source is no news
                    also[index].setdefault(story.source_key, {})[url] = story.url
                continue
            first[url] = story.source_key
            if made_docs is not None and url in made_docs:
                docs[url] = made_docs[url]
            if made_sigs is not None and url in made_sigs:
                sigs[url] = made_sigs[url]
            match = verdict.get(url) if verdict is not None else None
            new.append((story, matcher.match(story) if match is None else match))
            owners.append(index)
    outcomes = (
        story_store.store_stories(session, new, skip_known=False, search_docs=docs, signatures=sigs)
        if new
        else []
    )
    for (story, match), owner, outcome in zip(new, owners, outcomes, strict=True):
        _count(reports[owner], story, match, outcome)
    for report, count in zip(reports, _note_all_also_reported(session, also), strict=True):
        report.also_reported += count
    return reports


def ingest_one_by_one(db: Database, matcher: StoryFilter, batch: dict[str, Story]) -> IngestReport:
    """`store_found` for one source, each new story in its own transaction, skipping known ones.

    The slow path after an IntegrityError: whatever another writer stored
    meanwhile is skipped, everything else is stored with its alerts.
    """
    report = IngestReport()
    with db.session() as session:
        known = story_store.known_urls(session, list(batch))
        by_source: dict[str, dict[str, str]] = {}
        for url in known:
            by_source.setdefault(batch[url].source_key, {})[url] = batch[url].url
        report.also_reported += _note_all_also_reported(session, [by_source])[0]
    for url, story in batch.items():
        if url in known:
            continue
        match = matcher.match(story)
        with db.session() as session:
            (outcome,) = story_store.store_stories(session, [(story, match)])
        _count(report, story, match, outcome)
    return report


def _note_all_also_reported(
    session: Session, batches: Sequence[dict[str, dict[str, str]]]
) -> list[int]:
    """One story, one alert: a stored story seen from another source just notes the source.

    For each batch's sources, in one round of queries for all; a count a batch.
    """
    pairs = [(source_key, urls) for by_source in batches for source_key, urls in by_source.items()]
    counts = iter(story_store.record_also_reported_many(session, pairs))
    return [sum(next(counts) for _ in by_source) for by_source in batches]


def _count(report: IngestReport, story: Story, match: MatchResult, outcome: IngestOutcome) -> None:
    if outcome.story_id is None:
        return
    report.stories += 1
    report.matched += int(match.matched)
    report.queued += outcome.deliveries
    if match.matched:
        log.info("match %s: %s %s", ",".join(match.topics), story.title[:80], list(match.entities))
