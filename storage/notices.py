"""Notices: messages that are not stories (operator alerts, broadcasts), sent via the outbox."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import insert_for
from storage.models import Delivery, Notice, Subscriber


def queue_notice(session: Session, kind: str, html: str, chat_ids: Iterable[int]) -> int:
    """Queue one notice (already Telegram HTML) for each chat; return the rows queued.

    Chats not seen before (an operator who never sent /start) get a
    subscriber row with no subscriptions, so they receive notices only.
    Chats that stopped the bot or blocked it are left alone.
    """
    chats = list(dict.fromkeys(chat_ids))
    if not chats:
        return 0
    notice = Notice(kind=kind, text=html)
    session.add(notice)
    # ON CONFLICT DO NOTHING: another daemon may be queueing a notice to a new chat too.
    session.execute(
        insert_for(session, Subscriber)
        .values([{"chat_id": chat_id, "chat_type": "private"} for chat_id in chats])
        .on_conflict_do_nothing(index_elements=["chat_id"])
    )
    session.flush()
    known = {
        row.chat_id: row
        for row in session.scalars(select(Subscriber).where(Subscriber.chat_id.in_(chats)))
    }
    queued = 0
    for chat_id in chats:
        subscriber = known[chat_id]
        if subscriber.active:
            session.add(Delivery(notice_id=notice.id, subscriber_id=subscriber.id))
            queued += 1
    return queued
