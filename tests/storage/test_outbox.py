"""The outbox as a set of per-chat queues: order, fairness, the ledger, chat failures."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, update

from crawler.normalize import normalise
from crawler.types import RawStory
from storage import notices, outbox, sources, stories, subscribers
from storage.db import Database
from storage.models import Base, Delivery
from storage.search import is_search_table
from tests.probing import shipped_matcher
from tests.statistics import gather_planner_statistics

TOPIC = "china-crypto-enforcement"
MATCHER = shipped_matcher()
LEASE = timedelta(minutes=2)


def later(seconds: float = 1) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def queue(db: Database, chats: list[int], n: int, *, group: bool = False) -> None:
    """`n` relevant stories, each fanned out to every chat in `chats`."""
    with db.session() as session:
        sources.sync_sources(session, [("feed", "feed", "https://a.example/feed")])
        for chat in chats:
            subscribers.subscribe(
                session, chat, topic=TOPIC, chat_type="group" if group else "private"
            )
    for i in range(n):
        story = normalise(
            RawStory("feed", f"https://n.example/{i}", f"PBoC bans bitcoin OTC trading, part {i}"),
            fetched_at=datetime.now(UTC),
        )
        with db.session() as session:
            stories.store_story(session, story, MATCHER.match(story))


def claim(db: Database, limit: int = 50, at: datetime | None = None) -> list:  # type: ignore[type-arg]
    with db.session() as session:
        return outbox.claim_due(session, at or later(), limit=limit, lease=LEASE)


def _modelled(obj: object, name: str | None, type_: str, *_: object) -> bool:
    """Leave out the search index: migration 0010 makes it per dialect, outside the models."""
    table = getattr(obj, "table", None)
    return not is_search_table(name if type_ == "table" or table is None else table.name)


def test_models_and_migrations_describe_the_same_schema(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_object": _modelled})
        diff = compare_metadata(context, Base.metadata)
    assert _without_unnamed_fk_pairs(diff) == []


def _fk_key(fk: object) -> tuple[str, tuple[str, ...], str]:
    return (
        fk.parent.name,  # type: ignore[attr-defined]
        tuple(c.name for c in fk.columns),  # type: ignore[attr-defined]
        fk.referred_table.name,  # type: ignore[attr-defined]
    )


def _without_unnamed_fk_pairs(diff: list[object]) -> list[object]:
    """SQLite does not report the name of a foreign key added with ALTER TABLE ADD COLUMN
    (migration 0011 adds one that way, to keep the search index's trigger on `stories`):
    the same key, unnamed in the database and named in the models, is not a difference."""
    removed = {_fk_key(d[1]) for d in diff if d[0] == "remove_fk" and d[1].name is None}  # type: ignore[index,union-attr]
    return [
        d
        for d in diff
        if not (d[0] in ("remove_fk", "add_fk") and _fk_key(d[1]) in removed)  # type: ignore[index]
    ]


def test_a_claim_takes_one_row_per_chat_so_a_backlog_cannot_starve_others(db: Database) -> None:
    queue(db, [1], 30)  # a noisy chat with a backlog
    queue(db, [2, 3], 0)
    with db.session() as session:  # two quiet chats get one alert each, queued last
        subscribers.subscribe(session, 2, topic=TOPIC)
    story = normalise(
        RawStory("feed", "https://n.example/late", "PBoC bans bitcoin OTC trading late"),
        fetched_at=datetime.now(UTC),
    )
    with db.session() as session:
        stories.store_story(session, story, MATCHER.match(story))
    claimed = claim(db)
    assert sorted(a.chat_id for a in claimed) == [1, 2, 3]


def test_a_chat_receives_its_alerts_in_order_one_at_a_time(db: Database) -> None:
    queue(db, [1], 3)
    first = claim(db)
    assert [a.title for a in first] == ["PBoC bans bitcoin OTC trading, part 0"]
    assert claim(db) == []  # the head is in flight: nothing else for this chat
    with db.session() as session:
        outbox.mark_sent(session, first[0], 10, later())
    assert [a.title for a in claim(db)] == ["PBoC bans bitcoin OTC trading, part 1"]


def test_deferring_and_429s_do_not_use_up_attempts(db: Database) -> None:
    queue(db, [1], 1)
    (alert,) = claim(db)
    with db.session() as session:
        outbox.defer(session, alert.delivery_id, later(5))
    assert claim(db) == []  # not due yet
    (alert,) = claim(db, at=later(6))
    assert alert.attempts == 1
    with db.session() as session:
        outbox.mark_retry(session, alert.delivery_id, "429", later(7), throttled=True)
    (alert,) = claim(db, at=later(8))
    assert alert.attempts == 1
    with db.session() as session:
        outbox.mark_retry(session, alert.delivery_id, "502 Bad Gateway", later(9))
    (alert,) = claim(db, at=later(10))
    assert alert.attempts == 2
    with db.session() as session:
        counts = outbox.counts(session)
    assert (counts.sending, counts.retries, counts.rate_limited) == (1, 1, 1)


def test_the_ledger_shows_each_outcome_with_reason_and_time(db: Database) -> None:
    queue(db, [1], 2)
    (first,) = claim(db)
    with db.session() as session:
        outbox.mark_sent(session, first, 77, later())
    (second,) = claim(db)
    with db.session() as session:
        outbox.mark_final(session, second.delivery_id, "failed", "Bad Request: boom", later())
        entries = outbox.ledger(session, 1)
        counts = outbox.counts(session)
    assert [(e.status, e.reason, e.message_id) for e in entries] == [
        ("failed", "Bad Request: boom", None),
        ("sent", None, 77),
    ]
    assert all(e.finished_at is not None for e in entries)
    assert (counts.sent, counts.failed, counts.backlog, counts.oldest_due) == (1, 1, 0, None)


def test_a_chat_is_deactivated_only_after_repeated_failures_and_success_resets(
    db: Database,
) -> None:
    queue(db, [1], 2)
    (alert,) = claim(db)
    with db.session() as session:
        assert not subscribers.record_failure(session, alert.subscriber_id, "chat not found", 3)
        assert not subscribers.record_failure(session, alert.subscriber_id, "chat not found", 3)
    with db.session() as session:
        outbox.mark_sent(session, claim_again(db, alert), 5, later())
    with db.session() as session:  # the success reset the count
        assert not subscribers.record_failure(session, alert.subscriber_id, "chat not found", 3)
        assert not subscribers.record_failure(session, alert.subscriber_id, "chat not found", 3)
        assert subscribers.record_failure(session, alert.subscriber_id, "chat not found", 3)
        assert subscribers.topics_of(session, 1) == []
        assert outbox.counts(session).skipped == 1


def claim_again(db: Database, alert):  # type: ignore[no-untyped-def]
    """The same row, reclaimed after its lease, carrying the chat's failure count."""
    (again,) = claim(db, at=later(LEASE.total_seconds() + 5))
    assert again.delivery_id == alert.delivery_id and again.chat_failures == 2
    return again


def test_a_migrated_group_keeps_its_queue_under_the_new_id(db: Database) -> None:
    queue(db, [-100], 2, group=True)
    with db.session() as session:
        assert subscribers.migrate(session, -100, -100200300)
    assert [a.chat_id for a in claim(db)] == [-100200300]
    with db.session() as session:
        assert subscribers.topics_of(session, -100200300) == [TOPIC]
        assert subscribers.topics_of(session, -100) == []


def test_a_migration_onto_a_known_chat_retires_the_old_one(db: Database) -> None:
    queue(db, [-100, -200], 1, group=True)
    with db.session() as session:
        assert not subscribers.migrate(session, -100, -200)
        assert subscribers.topics_of(session, -100) == []
        assert outbox.counts(session).skipped == 1


def test_next_due_counts_only_rows_that_can_be_claimed(db: Database) -> None:
    """Rows queued behind a deferred head are not due, whatever their own due time says."""
    queue(db, [1], 3)
    (head,) = claim(db)
    in_an_hour = later(3600)
    with db.session() as session:
        outbox.defer(session, head.delivery_id, in_an_hour)
        assert outbox.next_due(session) == in_an_hour


# -- the chat's head, with planner statistics ------------------------------------------------


def queue_notices(db: Database, chats: list[int], n: int) -> None:
    """`n` notices, each queued to every chat in `chats` (one outbox row per chat and notice)."""
    for i in range(n):
        with db.session() as session:
            notices.queue_notice(session, "test", f"notice {i}", chats)


def finish_all(db: Database) -> None:
    """Every row so far was sent: the ledger of a database that has run a while."""
    with db.session() as session:
        session.execute(update(Delivery).values(status="sent", finished_at=later(-60)))


def test_rows_a_crash_left_sending_are_claimed_again_once_statistics_exist(db: Database) -> None:
    """A worker killed mid-send leaves its rows `sending`; after the lease they must go again."""
    chats = list(range(1, 31))
    queue_notices(db, chats, 3)
    finish_all(db)
    queue_notices(db, chats, 2)  # each chat: its head in flight, one more behind it
    assert sorted(a.chat_id for a in claim(db)) == chats  # ...then the worker dies
    gather_planner_statistics(db)
    reclaimed = claim(db, at=later(LEASE.total_seconds() + 5))
    assert sorted(a.chat_id for a in reclaimed) == chats
    assert all(a.attempts == 2 for a in reclaimed)
    assert claim(db, at=later(LEASE.total_seconds() + 5)) == []  # one in flight per chat


def test_claims_take_exactly_each_chats_oldest_open_row_whatever_the_statistics(
    db: Database,
) -> None:
    """The claim and next_due against a model of the queues, over random queue states."""
    rng = random.Random(15)
    chats = list(range(1, 41))
    queue_notices(db, chats, 6)
    now = later()
    past, future = now - timedelta(minutes=5), now + timedelta(minutes=5)
    with db.session() as session:
        ids = {row.id: row.subscriber_id for row in session.scalars(select(Delivery))}
    for _ in range(6):
        states = {
            row: (
                rng.choice(("sent", "failed", "skipped", "pending", "sending")),
                rng.choice((past, future)),
                rng.choice((past, future)),
            )
            for row in ids
        }
        with db.session() as session:
            for row, (status, due, lease) in states.items():
                session.execute(
                    update(Delivery)
                    .where(Delivery.id == row)
                    .values(status=status, next_attempt_at=due, lease_until=lease)
                )
        gather_planner_statistics(db)
        heads = {}
        for row in sorted(ids):
            if states[row][0] in ("pending", "sending"):
                heads.setdefault(ids[row], row)
        due_heads = {
            row
            for row in heads.values()
            if (states[row][0] == "pending" and states[row][1] <= now)
            or (states[row][0] == "sending" and states[row][2] < now)
        }
        pending_heads = [states[row][1] for row in heads.values() if states[row][0] == "pending"]
        with db.session() as session:
            assert outbox.next_due(session) == min(pending_heads, default=None)
            claimed = outbox.claim_due(session, now, limit=len(ids), lease=LEASE)
            assert {a.delivery_id for a in claimed} == due_heads
            session.rollback()


def test_the_sole_sender_takes_back_every_lease_left_in_flight(db: Database) -> None:
    queue_notices(db, [1, 2, 3], 2)
    first, *rest = claim(db)
    with db.session() as session:
        outbox.mark_sent(session, first, 10, later())
    in_flight = {a.delivery_id for a in [*rest, *claim(db)]}  # then the process is killed
    now = later()
    with db.session() as session:
        assert outbox.take_back_leases(session, now) == len(in_flight) == 3
        counts = outbox.counts(session)
    assert (counts.sending, counts.pending, counts.sent) == (0, 5, 1)
    assert {a.delivery_id for a in claim(db, at=now)} == in_flight  # at once, not after the lease


def test_a_chats_held_rows_are_released_and_other_chats_left_alone(db: Database) -> None:
    queue_notices(db, [1, 2], 2)
    held = claim(db)
    in_a_month = later(30 * 86400)
    with db.session() as session:
        for alert in held:  # as the worker holds them for a /mute 30d
            outbox.defer(session, alert.delivery_id, in_a_month)
    assert claim(db) == []
    now = later()
    with db.session() as session:
        assert outbox.release_held(session, held[0].subscriber_id, now) == 1
    assert [a.delivery_id for a in claim(db, at=now)] == [held[0].delivery_id]


def test_a_claimed_alert_carries_what_happened_and_who_acted(db: Database) -> None:
    queue(db, [7], 1)
    (claimed,) = claim(db)
    assert claimed.actions == ("ban",) and claimed.actors == ("pboc",)
