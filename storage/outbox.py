"""The outbox: claim due deliveries with a lease, then record how each went.

A claimed row is `sending` until its lease runs out; a worker that dies
mid-send leaves it to be reclaimed, so nothing is lost (and only a send in
flight at the crash can be repeated).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from storage.models import Delivery, MatchRow, Notice, Source, StoryRow, Subscriber
from storage.records import Alert, OutboxCounts


def claim_due(session: Session, now: datetime, *, limit: int, lease: timedelta) -> list[Alert]:
    """Lease up to `limit` due rows, oldest first, and return them as Alerts."""
    due = or_(
        and_(Delivery.status == "pending", Delivery.next_attempt_at <= now),
        and_(Delivery.status == "sending", Delivery.lease_until < now),
    )
    query = (
        select(Delivery, Subscriber, StoryRow, MatchRow, Source.key, Notice.text)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .outerjoin(StoryRow, StoryRow.id == Delivery.story_id)
        .outerjoin(Source, Source.id == StoryRow.source_id)
        .outerjoin(MatchRow, MatchRow.story_id == StoryRow.id)
        .outerjoin(Notice, Notice.id == Delivery.notice_id)
        .where(due, Subscriber.active.is_(True))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(of=Delivery, skip_locked=True)
    )
    alerts = []
    for delivery, subscriber, story, match, source_key, notice in session.execute(query):
        delivery.status = "sending"
        delivery.lease_until = now + lease
        delivery.attempts += 1
        chat = {
            "delivery_id": delivery.id,
            "attempts": delivery.attempts,
            "chat_id": subscriber.chat_id,
            "chat_type": subscriber.chat_type,
            "language": subscriber.language,
        }
        if story is None:
            alerts.append(Alert(**chat, notice=notice or ""))
            continue
        alerts.append(
            Alert(
                **chat,
                story_url=story.url,
                title=story.title,
                summary=story.summary,
                source_key=source_key or "",
                published_at=story.published_at,
                entities=tuple(match.entities) if match else (),
                hits=tuple(match.hits) if match else (),
            )
        )
    return alerts


def mark_sent(session: Session, delivery_id: int, message_id: int, when: datetime) -> None:
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(
            status="sent", message_id=message_id, sent_at=when, lease_until=None, last_error=None
        )
    )


def mark_retry(session: Session, delivery_id: int, error: str, next_attempt_at: datetime) -> None:
    """Put a row back in the queue for a later attempt."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(
            status="pending", next_attempt_at=next_attempt_at, lease_until=None, last_error=error
        )
    )


def mark_final(session: Session, delivery_id: int, status: str, error: str) -> None:
    """End a row as `failed` or `skipped`, with the reason."""
    session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id)
        .values(status=status, lease_until=None, last_error=error[:1000])
    )


def counts(session: Session) -> OutboxCounts:
    rows = dict(
        session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all()
    )
    return OutboxCounts(**{name: rows.get(name, 0) for name in OutboxCounts.__dataclass_fields__})
