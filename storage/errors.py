"""Recent failures an operator should see first in `crackdown status`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Delivery, Subscriber


def recent_failed_deliveries(session: Session, limit: int = 5) -> list[tuple[datetime, int, str]]:
    """(when, chat id, reason) of the latest alerts given up on, newest first."""
    query = (
        select(Delivery.finished_at, Subscriber.chat_id, Delivery.last_error)
        .join(Subscriber, Subscriber.id == Delivery.subscriber_id)
        .where(Delivery.status == "failed", Delivery.finished_at.is_not(None))
        .order_by(Delivery.finished_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    return [(when, chat, reason or "") for when, chat, reason in session.execute(query)]
