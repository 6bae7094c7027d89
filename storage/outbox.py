"""The outbox: claim due deliveries with a lease, then record how each went.

A claimed row is `sending` until its lease runs out; a worker that dies
mid-send leaves it to be reclaimed, so nothing is lost (and only a send in
flight at the crash can be repeated).

Each chat's rows form a queue in id order: only the oldest open row of a
chat can be claimed. That keeps a chat's alerts in order, lets one chat have
at most one send in flight, and makes a claim take one row from many chats
rather than many rows from one (the fairness rule the README describes).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    Row,
    ScalarSelect,
    Select,
    Table,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from storage.models import Delivery, MatchRow, Notice, Source, StoryRow, StorySource, Subscriber
from storage.records import Alert, EditTarget, LedgerEntry, OutboxCounts

OPEN = ("pending", "sending")
# The table itself: the per-send UPDATEs go through Core, not the ORM's bulk-update path.
_DELIVERIES = cast(Table, Delivery.__table__)
_SUBSCRIBERS = cast(Table, Subscriber.__table__)


def _oldest(status: str) -> ScalarSelect[int]:
    """The id of the chat's oldest row in `status` (NULL if none): one index seek."""
    row = aliased(Delivery)  # the outer row is Delivery: the subquery correlates on it
    return (
        select(func.min(row.id))
        .where(row.subscriber_id == Delivery.subscriber_id, row.status == status)
        .scalar_subquery()
    )


@cache
def _chat_head() -> ColumnElement[bool]:
    """True for the oldest open row of its chat: no open row of the chat is older.

    Built once: its aliased subqueries took two-thirds of a claim's CPU when built at
    each claim (6 of 9 ms), on the loop that sends.

    Compared with the chat's oldest row of each open status, each found by equality on
    ix_deliveries_chat_queue. Not "NOT EXISTS an earlier open row (status IN (...) AND
    id < ...)": once ANALYZE or PRAGMA optimize has run, SQLite 3.35 to 3.45.2 (3.40.1 of
    Debian 12 among them) answer that one wrongly for `sending` rows, so rows a crash left
    `sending` were never claimed again and their chats were silenced for ever. With no IN
    and no range on the index, this avoids the optimisation at fault (fixed in 3.45.3).
    """
    return and_(*(Delivery.id <= func.coalesce(_oldest(status), Delivery.id) for status in OPEN))


@cache
def _with_content() -> Select[Any]:
    """Deliveries with their chat, and their story (source, match) or notice, as plain columns.

    Columns, not ORM entities: a claim reads a few hundred rows of one story, and
    building, identity-mapping and flushing an object per row cost more than the send.

    The chat is joined on `subscriber_id + 0`, which no index serves: with planner
    statistics SQLite otherwise reads every chat's whole ledger through
    ix_deliveries_subscriber_id (0.7 s a claim with 200,000 rows sent) instead of the
    few due rows through ix_deliveries_due (7 ms). Callers select deliveries by their
    own columns, so this costs nothing elsewhere.
    """
    return (
        select(
            Delivery.id,
            Delivery.attempts,
            Delivery.parts_sent,
            Delivery.created_at,
            Delivery.story_id,
            Delivery.edit_of_id,
            Delivery.status,
            Delivery.message_id,
            Subscriber.id.label("subscriber_id"),
            Subscriber.chat_id,
            Subscriber.chat_type,
            Subscriber.language,
            Subscriber.failures,
            Subscriber.timezone,
            Subscriber.muted_until,
            Subscriber.quiet_start,
            Subscriber.quiet_end,
            Subscriber.digest,
            Subscriber.digest_at,
            StoryRow.id.label("story_row"),
            StoryRow.url,
            StoryRow.title,
            StoryRow.summary,
            StoryRow.published_at,
            MatchRow.id.label("match_row"),
            MatchRow.entities,
            MatchRow.hits,
            MatchRow.actions,
            MatchRow.actors,
            Source.key.label("source_key"),
            Notice.text.label("notice"),
        )
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id + 0)
        .outerjoin(StoryRow, StoryRow.id == Delivery.story_id)
        .outerjoin(Source, Source.id == StoryRow.source_id)
        .outerjoin(MatchRow, MatchRow.story_id == StoryRow.id)
        .outerjoin(Notice, Notice.id == Delivery.notice_id)
    )


def claim_due(
    session: Session,
    now: datetime,
    *,
    limit: int,
    lease: timedelta,
    exclude: Collection[int] = (),
) -> list[Alert]:
    """Lease up to `limit` due rows, each the head of its chat's queue, oldest first.

    `exclude` names rows this worker still has in flight (a send that outlived
    its lease must not be claimed twice by the same worker).

    The rows are picked first, by id, in two queries that each walk
    ix_deliveries_due in due order and stop after `limit` heads: pending rows
    due by now, and rows whose lease ran out. One query with both (an OR) made
    SQLite find, join and sort every due row at each claim: 50 ms with 10,000
    queued, which stalled the sends the claim's event loop also runs.
    """
    picked: list[tuple[datetime, int]] = []
    for due in (
        and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
        and_(Delivery.status == "sending", Delivery.lease_until < now),
    ):
        query = (
            select(Delivery.next_attempt_at, Delivery.id)
            .join(Subscriber, Subscriber.id == Delivery.subscriber_id + 0)
            .where(due, _chat_head(), Subscriber.active.is_(True))
            .order_by(Delivery.next_attempt_at, Delivery.id)
            .limit(limit)
            .with_for_update(of=Delivery, skip_locked=True)
        )
        if exclude:
            query = query.where(Delivery.id.not_in(list(exclude)))
        picked.extend((when, delivery_id) for when, delivery_id in session.execute(query))
    ids = [delivery_id for _, delivery_id in sorted(picked)[:limit]]
    if not ids:
        return []
    query = (
        _with_content().where(Delivery.id.in_(ids)).order_by(Delivery.next_attempt_at, Delivery.id)
    )
    return _lease(session, query, now, lease)


def claim_chat(
    session: Session,
    subscriber_id: int,
    now: datetime,
    *,
    lease: timedelta,
    created_before: datetime,
    exclude: Collection[int] = (),
) -> list[Alert]:
    """Lease a chat's open rows queued before `created_before`, in order (one digest's worth).

    Only the worker holding the chat's head row calls this.
    """
    query = (
        _with_content()
        .where(
            Delivery.subscriber_id == subscriber_id,
            Delivery.created_at < created_before,
            # The caller holds the chat's head row, and so the chat: rows of an interrupted
            # digest are taken back whatever their lease says.
            Delivery.status.in_(OPEN),
        )
        .order_by(Delivery.id)
        .with_for_update(of=Delivery, skip_locked=True)
    )
    if exclude:
        query = query.where(Delivery.id.not_in(list(exclude)))
    return _lease(session, query, now, lease)


def take_back_leases(session: Session, now: datetime) -> int:
    """Put every `sending` row back in the queue, due now; return how many there were.

    Only for the one process that may send from this database (the SQLite daemon
    holding its lock): every lease is then a dead run's, and waiting it out would
    only delay the chats whose sends a crash cut short.
    """
    result = session.execute(
        update(Delivery)
        .where(Delivery.status == "sending")
        .values(status="pending", lease_until=None, next_attempt_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def _lease(session: Session, query: Select[Any], now: datetime, lease: timedelta) -> list[Alert]:
    """Mark the rows a query selects as `sending` under a lease; return them as Alerts.

    One UPDATE for the whole claim: the rows are locked by the query on PostgreSQL
    (FOR UPDATE) and by the transaction's write on SQLite.
    """
    rows = session.execute(query).all()
    if not rows:
        return []
    session.execute(
        update(_DELIVERIES)
        .where(_DELIVERIES.c.id.in_([row.id for row in rows]))
        .values(status="sending", lease_until=now + lease, attempts=_DELIVERIES.c.attempts + 1)
    )
    return [_alert(row, attempts=row.attempts + 1) for row in rows]


def _alert(row: Row[Any], *, attempts: int | None = None) -> Alert:
    """An Alert from a `_with_content` row; `attempts` as the claim left it."""
    chat = {
        "delivery_id": row.id,
        "attempts": row.attempts if attempts is None else attempts,
        "chat_id": row.chat_id,
        "chat_type": row.chat_type,
        "language": row.language,
        "subscriber_id": row.subscriber_id,
        "chat_failures": row.failures,
        "parts_sent": row.parts_sent,
        "timezone": row.timezone,
        "muted_until": row.muted_until,
        "quiet": (
            (row.quiet_start, row.quiet_end)
            if row.quiet_start is not None and row.quiet_end is not None
            else None
        ),
        "digest": row.digest,
        "digest_at": row.digest_at,
        "created_at": row.created_at,
        "story_id": row.story_id,
        "edit_of": row.edit_of_id,
    }
    if row.story_row is None:
        return Alert(**chat, notice=row.notice or "")
    matched = row.match_row is not None
    return Alert(
        **chat,
        story_url=row.url,
        title=row.title,
        summary=row.summary,
        source_key=row.source_key or "",
        published_at=row.published_at,
        entities=tuple(row.entities) if matched else (),
        hits=tuple(row.hits) if matched else (),
        actions=tuple(row.actions or ()) if matched else (),
        actors=tuple(row.actors or ()) if matched else (),
    )


def edit_target(session: Session, delivery_id: int) -> EditTarget | None:
    """The row an edit updates, with the content of its story (None if it is gone)."""
    row = session.execute(_with_content().where(Delivery.id == delivery_id)).first()
    if row is None:
        return None
    return EditTarget(
        status=row.status, message_id=row.message_id, parts_sent=row.parts_sent, alert=_alert(row)
    )


def also_reported(session: Session, story_id: int) -> list[tuple[str, str]]:
    """(source, url) of the other reports of a story's event: its cluster and repeats.

    In the order they were first seen; the story's own first source is left out.
    """
    found_story = session.execute(
        select(StoryRow.cluster_id, Source.key)
        .join(Source, Source.id == StoryRow.source_id)
        .where(StoryRow.id == story_id)
    ).first()
    if found_story is None:
        return []
    cluster, own = found_story
    same_event = StoryRow.id == story_id
    if cluster is not None:  # None: its event's first story was deleted; itself only
        same_event = or_(same_event, StoryRow.cluster_id == cluster)
    members = select(StoryRow.id).where(same_event)
    rows = session.execute(
        select(Source.key, StorySource.url)
        .join(Source, Source.id == StorySource.source_id)
        .where(StorySource.story_id.in_(members))
        .order_by(StorySource.id)
    )
    found: dict[str, str] = {}
    for key, url in rows:
        if key != own:
            found.setdefault(key, url)
    return list(found.items())


def also_reported_for(
    session: Session, alerts: Collection[Alert]
) -> dict[int, list[tuple[str, str]]]:
    """`also_reported` for each story the alerts (not edits) carry, once a story."""
    stories = {a.story_id for a in alerts if a.story_id is not None and a.edit_of is None}
    return {story: also_reported(session, story) for story in sorted(stories)}


def recent_sends(session: Session, since: datetime) -> list[tuple[int, str, datetime]]:
    """(chat_id, chat_type, sent_at) of sends since `since`: a restarted sender's pacing memory."""
    query = (
        select(Subscriber.chat_id, Subscriber.chat_type, Delivery.sent_at)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.status == "sent", Delivery.sent_at >= since)
        .order_by(Delivery.sent_at)
    )
    return [(chat_id, chat_type, sent_at) for chat_id, chat_type, sent_at in session.execute(query)]


def next_due(session: Session) -> datetime | None:
    """When the next claimable row becomes due (None: nothing pending).

    Only chat heads count: a row queued behind another of its chat is not
    claimable, however old its due time.
    """
    return session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(Delivery.status == "pending", _chat_head())
    )


# Built once: an alert sent is the one write a send costs, and building the statement
# (SQLAlchemy's coercions) cost more than running it.
_SENT = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery_id"))
    .values(
        status="sent",
        sent_at=bindparam("when", type_=_DELIVERIES.c.sent_at.type),
        finished_at=bindparam("when", type_=_DELIVERIES.c.finished_at.type),
        lease_until=None,
        last_error=None,
        parts_sent=bindparam("parts", type_=Integer()),
        message_id=func.coalesce(
            bindparam("message_id", type_=BigInteger()), _DELIVERIES.c.message_id
        ),
    )
)


def mark_sent(
    session: Session | Connection,
    alert: Alert,
    message_id: int | None,
    when: datetime,
    parts: int = 1,
) -> None:
    """The row is delivered; a chat that was failing is healthy again.

    Takes a plain connection too (`Database.transaction`): the sender's hot path.
    """
    session.execute(
        _SENT,
        {"delivery_id": alert.delivery_id, "when": when, "parts": parts, "message_id": message_id},
    )
    if alert.chat_failures:
        session.execute(
            update(_SUBSCRIBERS).where(_SUBSCRIBERS.c.id == alert.subscriber_id).values(failures=0)
        )


def mark_batch_sent(
    session: Session | Connection,
    delivery_ids: Collection[int],
    message_id: int | None,
    when: datetime,
) -> None:
    """Rows delivered inside another row's message (a digest)."""
    if delivery_ids:
        session.execute(
            update(_DELIVERIES)
            .where(_DELIVERIES.c.id.in_(list(delivery_ids)))
            .values(
                status="sent",
                sent_at=when,
                finished_at=when,
                lease_until=None,
                last_error=None,
                message_id=message_id,
            )
        )


def mark_part_sent(session: Session, delivery_id: int, parts: int, message_id: int | None) -> None:
    """Record progress through a split message, so a retry resumes after the last part."""
    values: dict[str, object] = {"parts_sent": parts}
    if message_id is not None:
        values["message_id"] = message_id
    session.execute(update(_DELIVERIES).where(_DELIVERIES.c.id == delivery_id).values(**values))


def mark_retry(
    session: Session,
    delivery_id: int,
    error: str,
    next_attempt_at: datetime,
    *,
    throttled: bool = False,
) -> None:
    """Put a row back in the queue for a later attempt.

    A 429 is Telegram pacing us, not the row failing: it is counted apart
    and does not use up one of the row's attempts.
    """
    values: dict[str, object] = {
        "status": "pending",
        "next_attempt_at": next_attempt_at,
        "lease_until": None,
        "last_error": error[:1000],
    }
    if throttled:
        values["attempts"] = _DELIVERIES.c.attempts - 1
        values["throttled"] = _DELIVERIES.c.throttled + 1
    session.execute(update(_DELIVERIES).where(_DELIVERIES.c.id == delivery_id).values(**values))


def release(session: Session, delivery_ids: Collection[int]) -> None:
    """Hand back rows claimed for a digest that was not sent; no attempt used."""
    if delivery_ids:
        session.execute(
            update(_DELIVERIES)
            .where(_DELIVERIES.c.id.in_(list(delivery_ids)), _DELIVERIES.c.status == "sending")
            .values(status="pending", lease_until=None, attempts=_DELIVERIES.c.attempts - 1)
        )


HELD = "held: "  # a pending row's reason when its chat holds it (`defer`)


def defer(session: Session, delivery_id: int, until: datetime, held: str | None = None) -> None:
    """Hand back a claimed row unsent (its chat is at its rate limit); no attempt used.

    `held` says why the chat holds it (mute, quiet hours, digest): the ledger shows it.
    """
    values: dict[str, Any] = {"last_error": f"{HELD}{held}"} if held else {}
    session.execute(
        update(_DELIVERIES)
        .where(_DELIVERIES.c.id == delivery_id)
        .values(
            status="pending",
            next_attempt_at=until,
            lease_until=None,
            attempts=_DELIVERIES.c.attempts - 1,
            **values,
        )
    )


def release_held(session: Session, subscriber_id: int, now: datetime) -> int:
    """Make a chat's waiting rows due now; return how many were waiting.

    A held alert waits with its due time at the end of the hold, and the chat's
    newer alerts queue behind it; when the chat ends or changes a hold, that due
    time is stale. Released, the rows are claimed in order and the delivery worker
    applies the chat's hold as it is now (holding them again if it still holds).
    A row waiting out a retry's backoff is released too: it is tried once early.
    """
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.subscriber_id == subscriber_id,
            Delivery.status == "pending",
            Delivery.next_attempt_at > now,
        )
        .values(next_attempt_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def mark_final(session: Session, delivery_id: int, status: str, error: str, when: datetime) -> None:
    """End a row as `failed` or `skipped`, with the reason."""
    session.execute(
        update(_DELIVERIES)
        .where(_DELIVERIES.c.id == delivery_id)
        .values(status=status, lease_until=None, last_error=error[:1000], finished_at=when)
    )


def counts(session: Session) -> OutboxCounts:
    """Row counts by status plus retries, 429s and the oldest open row."""
    by_status = dict(
        session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    )
    retries, throttled, oldest = session.execute(
        select(
            func.coalesce(
                func.sum(case((Delivery.attempts > 1, Delivery.attempts - 1), else_=0)), 0
            ),
            func.coalesce(func.sum(Delivery.throttled), 0),
            func.min(case((Delivery.status.in_(OPEN), Delivery.next_attempt_at))),
        )
    ).one()
    return OutboxCounts(
        pending=by_status.get("pending", 0),
        sending=by_status.get("sending", 0),
        sent=by_status.get("sent", 0),
        failed=by_status.get("failed", 0),
        skipped=by_status.get("skipped", 0),
        retries=int(retries),
        rate_limited=int(throttled),
        oldest_due=oldest,
    )


def ledger(session: Session, chat_id: int, limit: int = 20) -> list[LedgerEntry]:
    """The latest deliveries to one chat, newest first, with outcome and reason."""
    query = (
        select(Delivery, StoryRow.title, Notice.kind)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .outerjoin(StoryRow, StoryRow.id == Delivery.story_id)
        .outerjoin(Notice, Notice.id == Delivery.notice_id)
        .where(Subscriber.chat_id == chat_id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return [
        LedgerEntry(
            delivery_id=row.id,
            status="held"
            if row.status == "pending" and (row.last_error or "").startswith(HELD)
            else row.status,
            what=title if title is not None else f"notice: {kind}",
            created_at=row.created_at,
            finished_at=row.finished_at,
            attempts=row.attempts,
            rate_limited=row.throttled,
            reason=row.last_error,
            message_id=row.message_id,
        )
        for row, title, kind in session.execute(query)
    ]
