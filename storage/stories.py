"""Storing stories and fanning matches out to the outbox, in one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import cast

from sqlalchemy import Connection, Table, select
from sqlalchemy.orm import Session

from crawler.cluster import Signature, reports_an_event, title_names, with_names
from crawler.types import Hit, MatchResult, Story
from storage import search
from storage.clusters import ClusterSettings, plan_clusters
from storage.db import insert_for
from storage.models import (
    Delivery,
    MatchRow,
    Source,
    StoryRow,
    StorySource,
    Subscriber,
    Subscription,
    utcnow,
)
from storage.records import IngestOutcome
from storage.rows import insert_rows


def known_urls(session: Session, canonical_urls: list[str]) -> set[str]:
    """The subset of `canonical_urls` already stored (the dedup check)."""
    if not canonical_urls:
        return set()
    rows = session.scalars(
        select(StoryRow.canonical_url).where(StoryRow.canonical_url.in_(canonical_urls))
    )
    return set(rows)


def record_also_reported(session: Session, source_key: str, urls: dict[str, str]) -> int:
    """Note that `source_key` also carried these stored stories ({canonical: url}).

    A story repeated by the source that first carried it, or already noted,
    is left alone. Returns how many new reports were recorded.
    """
    return record_also_reported_many(session, [(source_key, urls)])[0]


def record_also_reported_many(
    session: Session, reports: Sequence[tuple[str, dict[str, str]]]
) -> list[int]:
    """`record_also_reported` for several sources at once, in order: each one's count.

    Why: a transaction of a first cycle's polls called it once a poll, three
    queries each; these are three queries in all and one INSERT.
    """
    wanted = [(key, urls) for key, urls in reports if urls]
    if not wanted:
        return [0] * len(reports)
    keys = {key for key, _ in wanted}
    source_ids = dict(
        session.execute(select(Source.key, Source.id).where(Source.key.in_(keys))).all()
    )
    canonicals = list(dict.fromkeys(c for _, urls in wanted for c in urls))
    story_ids = dict(
        session.execute(
            select(StoryRow.canonical_url, StoryRow.id).where(
                StoryRow.canonical_url.in_(canonicals)
            )
        ).all()
    )
    noted = {
        (story_id, source_id)
        for story_id, source_id in session.execute(
            select(StorySource.story_id, StorySource.source_id).where(
                StorySource.source_id.in_(list(source_ids.values())),
                StorySource.story_id.in_(list(story_ids.values())),
            )
        )
    }
    added: list[dict[str, object]] = []
    counts = []
    for key, urls in reports:
        before = len(added)
        source_id = source_ids[key] if urls else 0
        for canonical, url in urls.items():
            story_id = story_ids.get(canonical)
            if story_id is None or (story_id, source_id) in noted:
                continue
            noted.add((story_id, source_id))
            added.append({"story_id": story_id, "source_id": source_id, "url": url})
        counts.append(len(added) - before)
    insert_rows(session.connection(), _STORY_SOURCES, added)  # seen_at: the model's default
    return counts


def reporting_sources(session: Session, story_id: int) -> list[str]:
    """Keys of every source that carried a story, first one first."""
    query = (
        select(Source.key)
        .join(StorySource, StorySource.source_id == Source.id)
        .where(StorySource.story_id == story_id)
        .order_by(StorySource.seen_at, StorySource.id)
    )
    return list(session.scalars(query))


class SubscriptionIndex:
    """Who follows what, loaded once per batch: (kind, value) -> active subscriber ids."""

    def __init__(self, session: Session) -> None:
        self._followers: dict[tuple[str, str], set[int]] = {}
        # by what a verdict names: a general feed's stories name the same few places
        self._seen: dict[tuple[tuple[str, ...], ...], list[int]] = {}
        query = (
            select(Subscription.kind, Subscription.value, Subscription.subscriber_id)
            .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
            .where(Subscriber.active.is_(True))
        )
        for kind, value, subscriber_id in session.execute(query):
            self._followers.setdefault((kind, value), set()).add(subscriber_id)

    def interested(self, match: MatchResult) -> list[int]:
        """Active chats following one of the matched topics, watchlist keys or queries.

        The list is shared by verdicts that name the same: read it, do not change it.
        """
        named = (match.topics, match.entities, match.signals, match.queries)
        found = self._seen.get(named)
        if found is None:
            found = self._seen[named] = self._interested(match)
        return found

    def _interested(self, match: MatchResult) -> list[int]:
        wanted = (
            [("topic", t) for t in match.topics]
            + [("entity", key) for key in dict.fromkeys((*match.entities, *match.signals))]
            + [("query", query) for query in match.queries]
        )
        ids: set[int] = set()
        for pair in wanted:
            ids |= self._followers.get(pair, set())
        return sorted(ids)


def enqueue(session: Session, story_id: int, subscriber_ids: list[int]) -> int:
    """Add outbox rows, skipping pairs that exist; return how many were new."""
    if not subscriber_ids:
        return 0
    statement = (
        insert_for(session, Delivery)
        .values([{"story_id": story_id, "subscriber_id": sid} for sid in subscriber_ids])
        .on_conflict_do_nothing(index_elements=["story_id", "subscriber_id"])
    )
    result = session.execute(statement)
    return max(result.rowcount or 0, 0)


def store_stories(
    session: Session,
    items: Sequence[tuple[Story, MatchResult]],
    *,
    skip_known: bool = True,
    search_docs: Mapping[str, str] | None = None,
    signatures: Mapping[str, Signature | None] | None = None,
) -> list[IngestOutcome]:
    """Insert new stories, their matches and their outbox rows, in the caller's transaction.

    A story whose canonical URL is stored already is left alone: one story,
    one alert, however many times feeds repeat it (so is a second item with
    the same canonical URL in `items`). A caller that has just checked may
    pass `skip_known=False` and rely on the unique constraint (an
    IntegrityError) should another writer store one meanwhile.

    Why Core and not the ORM: a poll stores ~50 stories at once, and one
    multi-row INSERT ... RETURNING per table costs a fraction of a unit of
    work with a flush per story (the first polling cycle's biggest cost).
    Outbox rows are inserted in story order, then subscriber order, as
    `enqueue` would: a chat's queue is served in id order. `search_docs` are
    stories' search documents made already, by canonical URL (`search.index_stories`);
    `signatures` their MinHash signatures made without names (`crawler.cluster.with_names`),
    where made.
    """
    known = known_urls(session, [s.canonical_url for s, _ in items]) if skip_known else set()
    fresh: dict[str, int] = {}  # canonical URL -> index in `items` of the one to insert
    for index, (story, _) in enumerate(items):
        if story.canonical_url not in known:
            fresh.setdefault(story.canonical_url, index)
    if not fresh:
        return [IngestOutcome(story_id=None) for _ in items]
    chosen = list(fresh.values())
    keys = {items[i][0].source_key for i in chosen}
    source_ids = dict(
        session.execute(select(Source.key, Source.id).where(Source.key.in_(keys))).all()
    )
    fetched_at = utcnow()
    rows = [_story_values(items[i][0], source_ids, fetched_at) for i in chosen]
    connection = session.connection()
    story_ids = dict(zip(chosen, _new_story_ids(connection, len(rows)), strict=True))
    matches = [i for i in chosen if _has_match(items[i][1])]
    # Clustering is the config's choice (`Database(settings={"clustering": ...})`); without
    # one, every story is an event of its own.
    clustering: ClusterSettings = session.info.get("clustering") or UNCLUSTERED
    followers = SubscriptionIndex(session) if matches else None
    # Clustering folds alerts (issue 20): only a story that can be alerted, or can report
    # an event that was, is clustered; the rest of a general feed (most of it names no more
    # than a country) is each its own event, at no cost.
    quiet = clustering.places | clustering.background
    worth = {i for i in matches if _worth_clustering(items[i][1], quiet, followers)}
    names = {
        story_ids[i]: title_names(items[i][0], items[i][1], clustering.families)
        for i in worth
        if clustering.enabled and clustering.families
    }
    ready: dict[int, Signature | None] = {}  # by story id, the signatures made already
    for i in worth if clustering.enabled and signatures else ():
        if (url := items[i][0].canonical_url) in signatures:
            sig, story_id = signatures[url], story_ids[i]
            ready[story_id] = None if sig is None else with_names(sig, names.get(story_id, ()))
    # In the order stored, each seeing only those before it: which polls share this
    # transaction must not change the clusters (`plan_clusters`). Clustered before the
    # stories are inserted (every read leaves them out), so each is inserted with its
    # cluster id rather than updated once more.
    plan = plan_clusters(
        session,
        [(story_ids[i], items[i][0]) for i in chosen],
        clustering,
        names,
        alone={story_ids[i] for i in chosen if i not in worth},
        signatures=ready,
    )
    cluster_of = plan.assigned
    _insert_stories(
        connection,
        [
            row | {"id": story_ids[i], "cluster_id": cluster_of.get(story_ids[i], story_ids[i])}
            for i, row in zip(chosen, rows, strict=True)
        ],
    )
    search.index_stories(
        connection,
        [
            (story_ids[i], row["title"], row["summary"], row["body"])
            for i, row in zip(chosen, rows, strict=True)
        ],
        [search_docs.get(items[i][0].canonical_url) for i in chosen] if search_docs else (),
    )
    insert_rows(
        connection,
        _STORY_SOURCES,
        [
            {
                "story_id": story_ids[i],
                "source_id": row["source_id"],
                "url": row["url"],
                "seen_at": fetched_at,
            }
            for i, row in zip(chosen, rows, strict=True)
        ],
    )
    insert_rows(connection, _MATCHES, [_match_values(story_ids[i], items[i][1]) for i in matches])
    plan.write()
    queued, outbox = _fan_out(session, items, chosen, matches, story_ids, cluster_of, followers)
    # The stories are new in this transaction: no outbox row for them exists yet.
    insert_rows(connection, _DELIVERIES, outbox)
    return [
        IngestOutcome(story_id=story_ids[i], deliveries=queued.get(i, 0))
        if i in story_ids
        else IngestOutcome(story_id=None)
        for i in range(len(items))
    ]


UNCLUSTERED = ClusterSettings(enabled=False)
_HIT_FIELDS = tuple(f.name for f in fields(Hit))  # a hit's JSON, as `asdict` made it


def _fan_out(
    session: Session,
    items: Sequence[tuple[Story, MatchResult]],
    chosen: list[int],
    matches: list[int],
    story_ids: dict[int, int],
    cluster_of: dict[int, int],
    followers: SubscriptionIndex | None,
) -> tuple[dict[int, int], list[dict[str, int | None]]]:
    """Outbox rows for new stories: one alert per event and chat, edits for later reports.

    A story that joins an event a chat was already alerted to becomes an edit
    of that alert ("also reported by"), not a second alert, unless the chat
    chose /everysource on. A chat already getting the event's first story in
    this batch gets nothing more: that alert lists the others when it is sent.
    Digest chats get no edits; their digest lists the event once.
    """
    first_of_event = {i: cluster_of.get(story_ids[i], story_ids[i]) == story_ids[i] for i in chosen}
    joined = {cluster_of[story_ids[i]] for i in chosen if not first_of_event[i]}
    alerted = _alerted_in(session, joined)  # event -> {subscriber: its alert's delivery id}
    wanted = {i: followers.interested(items[i][1]) for i in matches} if followers else {}
    chats = {sub for subs in wanted.values() for sub in subs}
    chats.update(sub for subs in alerted.values() for sub in subs)
    prefs = _event_prefs(session, chats)  # subscriber -> (every source, digest chat)
    queued: dict[int, int] = {}
    rows: list[dict[str, int | None]] = []
    in_batch: dict[int, set[int]] = {}  # event -> chats alerted to it by this batch
    for i in chosen:
        story_id = story_ids[i]
        event = cluster_of.get(story_id, story_id)
        earlier = alerted.get(event, {}) if not first_of_event[i] else {}
        told = in_batch.setdefault(event, set())
        for sub in wanted.get(i, []):
            every, _ = prefs.get(sub, (False, False))
            if not every and (sub in earlier or sub in told):
                continue
            rows.append({"story_id": story_id, "subscriber_id": sub, "edit_of_id": None})
            told.add(sub)
            queued[i] = queued.get(i, 0) + 1
        for sub, delivery_id in earlier.items():
            every, digest = prefs.get(sub, (False, False))
            if not every and not digest:
                rows.append({"story_id": story_id, "subscriber_id": sub, "edit_of_id": delivery_id})
                queued[i] = queued.get(i, 0) + 1
    return queued, rows


def _alerted_in(session: Session, events: set[int]) -> dict[int, dict[int, int]]:
    """For each event (cluster), the chats alerted to it and their first alert's row."""
    if not events:
        return {}
    query = (
        select(StoryRow.cluster_id, Delivery.subscriber_id, Delivery.id)
        .join(Delivery, Delivery.story_id == StoryRow.id)
        .where(
            StoryRow.cluster_id.in_(events),
            Delivery.edit_of_id.is_(None),
            Delivery.status.not_in(("failed", "skipped")),
        )
        .order_by(Delivery.id)
    )
    found: dict[int, dict[int, int]] = {}
    for event, subscriber_id, delivery_id in session.execute(query):
        found.setdefault(event, {}).setdefault(subscriber_id, delivery_id)
    return found


def _event_prefs(session: Session, subscriber_ids: set[int]) -> dict[int, tuple[bool, bool]]:
    if not subscriber_ids:
        return {}
    rows = session.execute(
        select(Subscriber.id, Subscriber.every_source, Subscriber.digest).where(
            Subscriber.id.in_(subscriber_ids), Subscriber.active.is_(True)
        )
    )
    return {sub: (bool(every), digest != "off") for sub, every, digest in rows}


def store_story(session: Session, story: Story, match: MatchResult) -> IngestOutcome:
    """One story: see `store_stories`."""
    return store_stories(session, [(story, match)])[0]


_STORIES = cast(Table, StoryRow.__table__)
_STORY_SOURCES = cast(Table, StorySource.__table__)
_MATCHES = cast(Table, MatchRow.__table__)
_DELIVERIES = cast(Table, Delivery.__table__)


def _worth_clustering(
    match: MatchResult, quiet: frozenset[str], followers: SubscriptionIndex | None
) -> bool:
    """Whether a story can be alerted, or can report an event that was (issue 20).

    Clustering exists to fold alerts. A story is alerted for a topic, a
    watched query or a key a chat follows. Another report of that event need
    not match the topic ("“链加”钱包传销案宣判：主犯获刑11年" names a court, a
    sentence and pyramid selling, not the crypto the alerted reports name),
    but it names what happened or who acted: a reported entity, an action of
    a kind, an enforcer, an illicit activity. A story naming no more than
    places and background words (prices, licensing, "ordered", an altcoin:
    `ClusterSettings.background`) is not such a report: in bench/feeds.py's
    corpus those were 5,146 of the 6,636 stories clustered, and leaving them
    out loses no labelled pair (tests/crawler/test_cluster_eval.py).
    """
    if reports_an_event(match, quiet):  # `quiet`: `ClusterSettings` places and background
        return True
    return bool(followers and followers.interested(match))


def _has_match(match: MatchResult) -> bool:
    """A match row is kept for anything found, not only a topic: the alert shows entities."""
    return bool(match.topics or match.entities or match.signals or match.queries)


def _new_story_ids(connection: Connection, count: int) -> list[int]:
    """The ids `count` new stories will take, ascending, chosen before they are inserted.

    Why: each is inserted with its cluster id (`plan_clusters`), not updated
    after. On PostgreSQL they come from the table's sequence; on SQLite they
    follow max(id), as SQLite itself would number them, read once this
    transaction holds the write lock (taken by a write that changes nothing,
    as BEGIN IMMEDIATE would: the driver begins its transaction at the first
    write), so that no other writer takes them before the INSERT.
    """
    if connection.dialect.name == "postgresql":
        return sorted(
            connection.exec_driver_sql(
                "SELECT nextval(pg_get_serial_sequence('stories', 'id'))"
                " FROM generate_series(1, %s)",
                (count,),
            ).scalars()
        )
    connection.exec_driver_sql("UPDATE stories SET id = id WHERE 0")  # the write lock
    last = connection.exec_driver_sql("SELECT coalesce(max(id), 0) FROM stories").scalar_one()
    return list(range(last + 1, last + count + 1))


def _insert_stories(connection: Connection, rows: list[dict[str, object]]) -> None:
    """Insert story rows with their ids and cluster ids (`_new_story_ids`, `plan_clusters`)."""
    insert_rows(connection, _STORIES, rows)


def _story_values(
    story: Story, source_ids: dict[str, int], fetched_at: datetime
) -> dict[str, object]:
    return {
        "canonical_url": story.canonical_url,
        "url": story.url,
        "source_id": source_ids[story.source_key],
        "title": story.title,
        "summary": story.summary,
        "body": story.body,
        "lang": story.lang,
        "published_at": story.published_at,
        "fetched_at": fetched_at,
        "fingerprint": story.fingerprint,
    }


def _match_values(story_id: int, match: MatchResult) -> dict[str, object]:
    return {
        "story_id": story_id,
        "entities": list(match.entities),
        "topics": list(match.topics),
        "hits": [{name: getattr(hit, name) for name in _HIT_FIELDS} for hit in match.hits],
        "score": match.score,
        "actions": list(match.actions),
        "actors": list(match.actors),
    }
