"""Chats and what they follow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, delete, func, select, update
from sqlalchemy.orm import Session

from storage import outbox
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
    was_active = row is not None and row.active
    added = add(
        session, chat_id, "topic", topic, chat_type=chat_type, title=title, language=language
    )
    return added or not was_active


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


def ensure(
    session: Session,
    chat_id: int,
    *,
    chat_type: str = "private",
    title: str | None = None,
    language: str = "en",
) -> Subscriber:
    """The chat's subscriber row, created (and re-activated) as needed."""
    row = _subscriber(session, chat_id)
    if row is None:
        row = Subscriber(chat_id=chat_id, chat_type=chat_type, title=title, language=language)
        session.add(row)
        session.flush()
    elif not row.active:
        row.active, row.inactive_reason, row.failures = True, None, 0
    return row


def add(
    session: Session,
    chat_id: int,
    kind: str,
    value: str,
    *,
    chat_type: str = "private",
    title: str | None = None,
    language: str = "en",
) -> bool:
    """Follow one more topic, entity or query (a new chat is created); False if it already did."""
    subscriber = ensure(session, chat_id, chat_type=chat_type, title=title, language=language)
    exists_ = session.scalars(
        select(Subscription.id).where(
            Subscription.subscriber_id == subscriber.id,
            Subscription.kind == kind,
            Subscription.value == value,
        )
    ).first()
    if exists_ is not None:
        return False
    session.add(Subscription(subscriber_id=subscriber.id, kind=kind, value=value))
    session.flush()
    return True


def remove(session: Session, chat_id: int, kind: str, value: str) -> bool:
    """Stop following one thing; False if the chat did not follow it."""
    row = _subscriber(session, chat_id)
    if row is None:
        return False
    result = session.execute(
        delete(Subscription).where(
            Subscription.subscriber_id == row.id,
            Subscription.kind == kind,
            Subscription.value == value,
        )
    )
    return bool(result.rowcount)


def following(session: Session, chat_id: int) -> list[tuple[str, str]]:
    """(kind, value) a chat follows: topics, then entities, then queries, each oldest first."""
    row = _subscriber(session, chat_id)
    if row is None or not row.active:
        return []
    order = case((Subscription.kind == "topic", 0), (Subscription.kind == "entity", 1), else_=2)
    query = (
        select(Subscription.kind, Subscription.value)
        .where(Subscription.subscriber_id == row.id)
        .order_by(order, Subscription.id)
    )
    return [(kind, value) for kind, value in session.execute(query)]


def language(session: Session, chat_id: int) -> str | None:
    """The language a chat chose (or was given at /start); None for an unknown chat."""
    row = _subscriber(session, chat_id)
    return row.language if row is not None else None


def set_language(session: Session, chat_id: int, lang: str) -> bool:
    """Set the language of a known chat; False if we do not know it (nothing is stored)."""
    row = _subscriber(session, chat_id)
    if row is None:
        return False
    row.language = lang
    return True


def forget(session: Session, chat_id: int) -> bool:
    """Delete everything we hold about a chat (/stop): subscriptions, ledger, the chat itself."""
    row = _subscriber(session, chat_id)
    if row is None:
        return False
    session.execute(delete(Delivery).where(Delivery.subscriber_id == row.id))
    session.execute(delete(Subscription).where(Subscription.subscriber_id == row.id))
    session.delete(row)
    return True


def active_chats(session: Session) -> list[int]:
    """Every chat that receives messages now."""
    return list(
        session.scalars(
            select(Subscriber.chat_id).where(Subscriber.active.is_(True)).order_by(Subscriber.id)
        )
    )


# Preferences that decide when an alert may go (bot.hold, bot.digest).
HOLDS = frozenset({"timezone", "muted_until", "quiet_start", "quiet_end", "digest", "digest_at"})


def set_preferences(session: Session, chat_id: int, **values: object) -> bool:
    """Set timezone, mute, quiet hours or digest of a known chat; False if unknown.

    A change to when alerts may go releases the alerts held under the old rule
    (/unmute, /quiet off, a shorter /mute, /digest off): they go at once, in order.
    """
    allowed = HOLDS | {"every_source"}
    if not set(values) <= allowed:
        raise ValueError(f"not a preference: {sorted(set(values) - allowed)}")
    row = _subscriber(session, chat_id)
    if row is None:
        return False
    changed = {name for name, value in values.items() if getattr(row, name) != value}
    for name, value in values.items():
        setattr(row, name, value)
    if changed & HOLDS:
        outbox.release_held(session, row.id, utcnow())
    return True


def preferences(session: Session, chat_id: int) -> tuple[str, int | None, int | None] | None:
    """(timezone, quiet_start, quiet_end) of a chat; None if unknown."""
    row = _subscriber(session, chat_id)
    return None if row is None else (row.timezone, row.quiet_start, row.quiet_end)


@dataclass(frozen=True)
class ChatSettings:
    """What /settings shows: how and when a chat gets its alerts."""

    language: str
    timezone: str
    quiet: tuple[int, int] | None  # minutes after local midnight: start, end
    muted_until: datetime | None
    digest: str  # off, hourly or daily
    digest_at: int | None  # daily: minutes after local midnight
    every_source: bool


def chat_settings(session: Session, chat_id: int) -> ChatSettings | None:
    """A chat's settings; None if it never subscribed."""
    row = _subscriber(session, chat_id)
    if row is None:
        return None
    quiet = None
    if row.quiet_start is not None and row.quiet_end is not None:
        quiet = (row.quiet_start, row.quiet_end)
    return ChatSettings(
        row.language,
        row.timezone,
        quiet,
        row.muted_until,
        row.digest,
        row.digest_at,
        row.every_source,
    )


def watched_queries(session: Session) -> list[str]:
    """Every distinct /watch query of an active chat (what the filter must evaluate)."""
    query = (
        select(Subscription.value)
        .join(Subscriber, Subscriber.id == Subscription.subscriber_id)
        .where(Subscription.kind == "query", Subscriber.active.is_(True))
        .distinct()
        .order_by(Subscription.value)
    )
    return list(session.scalars(query))
