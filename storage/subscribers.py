"""Chats and what they follow."""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from storage.models import Delivery, Subscriber, Subscription, utcnow


def _subscriber(session: Session, chat_id: int) -> Subscriber | None:
    return session.scalars(select(Subscriber).where(Subscriber.chat_id == chat_id)).one_or_none()


def subscribe(
    session: Session,
    chat_id: int,
    *,
    topic: str,
    chat_type: str = "private",
    title: str | None = None,
    language: str = "en",
) -> bool:
    """Subscribe a chat to a topic (re-activating it); False if it already was."""
    row = _subscriber(session, chat_id)
    if row is None:
        row = Subscriber(chat_id=chat_id, chat_type=chat_type, title=title, language=language)
        session.add(row)
        session.flush()
    was_active = row.active
    row.active, row.inactive_reason = True, None
    existing = session.scalars(
        select(Subscription).where(
            Subscription.subscriber_id == row.id,
            Subscription.kind == "topic",
            Subscription.value == topic,
        )
    ).one_or_none()
    if existing is None:
        session.add(Subscription(subscriber_id=row.id, kind="topic", value=topic))
        return True
    return not was_active


def unsubscribe(session: Session, chat_id: int) -> bool:
    """Forget what a chat follows and stop its pending alerts; False if unknown."""
    row = _subscriber(session, chat_id)
    if row is None:
        return False
    session.execute(delete(Subscription).where(Subscription.subscriber_id == row.id))
    skip_pending(session, row.id, "unsubscribed")
    row.active, row.inactive_reason = False, "unsubscribed"
    return True


def skip_pending(session: Session, subscriber_id: int, reason: str) -> None:
    """End every open row of a chat as `skipped`, with the reason, in the ledger."""
    session.execute(
        update(Delivery)
        .where(Delivery.subscriber_id == subscriber_id, Delivery.status.in_(("pending", "sending")))
        .values(status="skipped", last_error=reason, lease_until=None, finished_at=utcnow())
    )


def deactivate(session: Session, chat_id: int, reason: str) -> None:
    """Stop sending to a chat that blocked us or vanished; its pending rows are skipped."""
    row = _subscriber(session, chat_id)
    if row is not None:
        row.active, row.inactive_reason = False, reason
        skip_pending(session, row.id, reason)


def record_failure(session: Session, subscriber_id: int, reason: str, limit: int) -> bool:
    """Count a send that failed as if the chat were gone; deactivate at `limit` in a row.

    Returns True when the chat was deactivated (its open rows are then skipped).
    """
    row = session.get(Subscriber, subscriber_id)
    if row is None or not row.active:
        return True
    row.failures += 1
    if row.failures < limit:
        return False
    row.active, row.inactive_reason = False, f"{row.failures} failures in a row: {reason}"[:1000]
    skip_pending(session, row.id, row.inactive_reason)
    return True


def migrate(session: Session, old_chat_id: int, new_chat_id: int) -> bool:
    """Follow a group that became a supergroup. False when the new id was already known.

    Telegram gives the new id in the error for a send to the old one; the chat
    keeps its subscriptions and queue. If the new id already has its own
    subscriber (it ran /start after the upgrade), the old one is retired.
    """
    row = _subscriber(session, old_chat_id)
    if row is None:
        return False
    if _subscriber(session, new_chat_id) is None:
        row.chat_id, row.chat_type = new_chat_id, "supergroup"
        return True
    deactivate(session, old_chat_id, f"migrated to {new_chat_id}")
    return False


def topics_of(session: Session, chat_id: int) -> list[str]:
    row = _subscriber(session, chat_id)
    if row is None or not row.active:
        return []
    return list(
        session.scalars(
            select(Subscription.value).where(
                Subscription.subscriber_id == row.id, Subscription.kind == "topic"
            )
        )
    )


def counts(session: Session) -> tuple[int, int]:
    """(active, inactive) chats."""
    rows = dict(
        session.execute(select(Subscriber.active, func.count()).group_by(Subscriber.active)).all()
    )
    return rows.get(True, 0), rows.get(False, 0)
