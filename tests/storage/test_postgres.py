"""PostgreSQL only: what several daemons sharing one database rely on.

Two workers claiming at the same moment (row locks, SKIP LOCKED), per-chat
order across workers, daemons starting together on an empty database, and
UTC datetimes whatever the connection's time zone.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from crawler.normalize import normalise
from crawler.types import RawStory
from storage import outbox, sources, stories, subscribers
from storage.db import Database
from storage.migrate import current_revision, head_revision
from storage.models import Delivery, Source
from tests.conftest import PgServer, postgresql_only
from tests.probing import shipped_matcher

TOPIC = "china-crypto-enforcement"
MATCHER = shipped_matcher()
LEASE = timedelta(minutes=2)


def later(seconds: float = 1) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def queue(db: Database, chats: list[int], n: int) -> None:
    """`n` relevant stories, each fanned out to every chat in `chats`, story by story."""
    with db.session() as session:
        sources.sync_sources(session, [("feed", "feed", "https://a.example/feed")])
        for chat in chats:
            subscribers.subscribe(session, chat, topic=TOPIC)
    for i in range(n):
        story = normalise(
            RawStory("feed", f"https://n.example/{i}", f"PBoC bans bitcoin OTC trading, part {i}"),
            fetched_at=datetime.now(UTC),
        )
        with db.session() as session:
            stories.store_story(session, story, MATCHER.match(story))


@postgresql_only
def test_a_second_worker_skips_locked_rows_and_the_chats_they_head(db: Database) -> None:
    """Worker B claims while A's claim is uncommitted: B takes other chats' heads, never
    A's rows (locked) nor the next row of A's chats (A's head is still open), and waits
    for nothing (a lock wait would hit lock_timeout and fail the test)."""
    queue(db, [1, 2, 3, 4], 2)
    with db.session() as a:
        mine = outbox.claim_due(a, later(), limit=2, lease=LEASE)
        assert sorted(x.chat_id for x in mine) == [1, 2]
        with db.session() as b:
            b.execute(text("SET LOCAL lock_timeout = '2s'"))
            theirs = outbox.claim_due(b, later(), limit=10, lease=LEASE)
        assert sorted(x.chat_id for x in theirs) == [3, 4]
        assert all(x.title.endswith("part 0") for x in mine + theirs)
    with db.session() as c:  # every chat's head is in flight: nothing can be claimed
        assert outbox.claim_due(c, later(), limit=10, lease=LEASE) == []
    with db.session() as session:
        outbox.mark_sent(session, mine[0], 1, later())
    with db.session() as session:
        (nxt,) = outbox.claim_due(session, later(), limit=10, lease=LEASE)
    assert (nxt.chat_id, nxt.title) == (mine[0].chat_id, "PBoC bans bitcoin OTC trading, part 1")


@postgresql_only
def test_two_workers_racing_claim_each_row_once_and_keep_each_chat_in_order(
    db: Database,
) -> None:
    """Two threads claim, 'send' and mark sent as fast as they can, on their own connections."""
    chats, per_chat = list(range(100, 130)), 5
    queue(db, chats, per_chat)
    lock = threading.Lock()
    in_flight: set[int] = set()
    claimed: dict[int, list[int]] = defaultdict(list)  # chat -> delivery ids, in claim order
    by_worker: dict[str, int] = defaultdict(int)
    violations: list[str] = []
    start = threading.Barrier(2)

    def work(name: str) -> None:
        start.wait()
        idle = 0
        while idle < 20:
            with db.session() as session:
                alerts = outbox.claim_due(session, later(), limit=4, lease=LEASE)
            if not alerts:
                idle += 1
                continue
            idle = 0
            with lock:
                for alert in alerts:
                    if alert.chat_id in in_flight:
                        violations.append(f"chat {alert.chat_id} claimed twice at once")
                    in_flight.add(alert.chat_id)
                    claimed[alert.chat_id].append(alert.delivery_id)
                    by_worker[name] += 1
            for alert in alerts:
                with lock:  # before the commit that lets the chat's next row be claimed
                    in_flight.discard(alert.chat_id)
                with db.session() as session:
                    outbox.mark_sent(session, alert, alert.delivery_id, later())

    workers = [threading.Thread(target=work, args=(name,)) for name in ("a", "b")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert violations == []
    ids = [i for chat in chats for i in claimed[chat]]
    assert len(ids) == len(set(ids)) == len(chats) * per_chat  # each row claimed exactly once
    for chat in chats:
        assert claimed[chat] == sorted(claimed[chat]), f"chat {chat} out of order"
    assert by_worker["a"] > 0 and by_worker["b"] > 0, dict(by_worker)
    with db.session() as session:
        counts = outbox.counts(session)
        attempts = session.scalar(select(func.max(Delivery.attempts)))
    assert (counts.sent, counts.backlog, attempts) == (len(chats) * per_chat, 0, 1)


@postgresql_only
def test_two_pollers_claiming_at_once_split_the_due_sources(db: Database) -> None:
    keys = [f"s{i}" for i in range(6)]
    with db.session() as session:
        sources.sync_sources(session, [(k, "feed", f"https://a.example/{k}") for k in keys])
    now = datetime.now(UTC)
    lease = timedelta(minutes=10)
    with db.session() as a:
        first = sources.claim_due(a, keys, now, lease)
        with db.session() as b:
            b.execute(text("SET LOCAL lock_timeout = '2s'"))
            second = sources.claim_due(b, keys, now, lease)
    assert sorted(first + second) == keys and not set(first) & set(second)
    assert first == keys  # (the first claims all that is due; the second finds them locked)
    with db.session() as session:
        assert sources.claim_due(session, keys, now + timedelta(minutes=1), lease) == []
        # A poller that died mid-poll: the lease runs out, the sources are due again.
        assert sources.claim_due(session, keys, now + lease + timedelta(seconds=1), lease) == keys


OPEN_APP = """
import sys, time
from storage import sources
from storage.db import Database
database = Database(sys.argv[1])
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all start at the same instant
database.upgrade()
with database.session() as session:
    sources.sync_sources(session, [("a", "feed", "https://a.example/feed")])
database.dispose()
"""


@postgresql_only
def test_daemons_starting_together_on_an_empty_database_all_start(
    pg_server: PgServer, database_url: str
) -> None:
    """Migrations take an advisory lock and sources are inserted ON CONFLICT DO NOTHING.

    Processes, as daemons are (Alembic's context is global: one migration per process).
    """
    name = f"{make_url(database_url).database}_empty"
    pg_server.execute(f'CREATE DATABASE "{name}"')
    url = pg_server.url_for(name)
    at = str(time.time() + 5)  # time to import, on a loaded machine too
    try:
        starts = [
            subprocess.Popen(
                [sys.executable, "-c", OPEN_APP, url, at],
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        errors = [p.communicate(timeout=120)[1] for p in starts]
        assert [p.returncode for p in starts] == [0, 0, 0], errors
        database = Database(url)
        assert current_revision(database.engine) == head_revision(database.engine)
        with database.session() as session:
            assert session.scalar(select(func.count()).select_from(Source)) == 1
        database.dispose()
    finally:
        pg_server.drop_database(name)


@postgresql_only
def test_datetimes_are_utc_whatever_the_sessions_time_zone(database_url: str) -> None:
    """timestamptz comes back in the connection's zone; every column still reads as UTC."""
    url = make_url(database_url).update_query_dict({"options": "-c timezone=Asia/Shanghai"})
    database = Database(url.render_as_string(hide_password=False))
    when = datetime(2026, 11, 25, 23, 30, tzinfo=UTC)  # already the 26th in Shanghai
    try:
        with database.session() as session:
            assert session.scalar(text("SHOW timezone")) == "Asia/Shanghai"
            sources.sync_sources(session, [("a", "feed", "https://a.example/feed")])
            sources.record_failure(session, "a", "HTTP 500", when, when + timedelta(hours=1))
        with database.session() as session:
            (record,) = sources.list_sources(session)
            assert record.last_polled_at == when and record.last_polled_at.tzinfo == UTC
            assert record.next_poll_at == when + timedelta(hours=1)
            # Compared in SQL too: due exactly from the stored instant on.
            assert sources.claim_due(session, ["a"], when + timedelta(minutes=59), LEASE) == []
            assert sources.claim_due(session, ["a"], when + timedelta(hours=1), LEASE) == ["a"]
    finally:
        database.dispose()


@postgresql_only
def test_leadership_is_given_up_even_when_the_unlock_fails(db: Database) -> None:
    """A failed unlock must not hand the lock-holding session back to the pool."""
    from storage.locks import COMMANDS_LOCK, Leadership

    leader = Leadership(db, COMMANDS_LOCK)
    assert leader.hold()
    assert leader._connection is not None
    raw = leader._connection.connection.dbapi_connection
    assert raw is not None
    raw.autocommit = False  # an aborted transaction: the unlock statement fails
    with contextlib.suppress(Exception):
        raw.cursor().execute("SELECT 1/0")
    leader.release()
    elsewhere = create_engine(db.engine.url, poolclass=NullPool)  # another daemon
    try:
        with elsewhere.connect() as other:
            assert other.scalar(select(func.pg_try_advisory_lock(COMMANDS_LOCK)))
            other.scalar(select(func.pg_advisory_unlock(COMMANDS_LOCK)))
    finally:
        elsewhere.dispose()
