"""Channels attached by the operator in config: the config is their only source of truth."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage import subscribers
from storage.models import Subscriber, Subscription

REMOVED = "removed from config"


@dataclass(frozen=True)
class ChannelSpec:
    """What one configured channel follows and how its alerts look."""

    chat_id: int
    title: str | None
    language: str
    timezone: str
    digest: str = "off"
    digest_at: int | None = None
    follows: tuple[tuple[str, str], ...] = ()  # (kind, value): topic, entity or query


@dataclass
class ChannelSync:
    """What a sync changed, for the start-up log line."""

    added: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"channels: {len(self.added)} added, {len(self.changed)} changed, "
            f"{len(self.removed)} removed"
        )


def _configured(session: Session) -> dict[int, Subscriber]:
    rows = session.scalars(select(Subscriber).where(Subscriber.chat_type == "channel"))
    return {row.chat_id: row for row in rows}


def _sync_one(session: Session, spec: ChannelSpec, known: Subscriber | None) -> bool:
    """Make one channel's row and subscriptions equal the spec; True if anything changed."""
    was_active = known is not None and known.active
    row = subscribers.ensure(
        session, spec.chat_id, chat_type="channel", title=spec.title, language=spec.language
    )
    changed = known is None or not was_active or row.chat_type != "channel"
    wanted = {
        "chat_type": "channel",
        "title": spec.title,
        "language": spec.language,
        "timezone": spec.timezone,
        "digest": spec.digest,
        "digest_at": spec.digest_at,
    }
    for name, value in wanted.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    have: set[tuple[str, str]] = {
        (kind, value)
        for kind, value in session.execute(
            select(Subscription.kind, Subscription.value).where(
                Subscription.subscriber_id == row.id
            )
        )
    }
    want = set(spec.follows)
    for kind, value in have - want:
        subscribers.remove(session, spec.chat_id, kind, value)
    for kind, value in sorted(want - have):
        session.add(Subscription(subscriber_id=row.id, kind=kind, value=value))
    session.flush()
    return changed or have != want


def sync_channels(session: Session, specs: Iterable[ChannelSpec]) -> ChannelSync:
    """Attach, update and detach channels so the database matches the config.

    A channel dropped from the config stops receiving alerts (its queue is
    skipped with the reason) but keeps its ledger, so `status --chat` can
    still explain what it got. One the bot was removed from is re-activated
    by a sync: the operator listed it, so we try again and the first send
    tells.
    """
    report = ChannelSync()
    wanted: Sequence[ChannelSpec] = list(specs)
    known = _configured(session)
    for spec in wanted:
        row = (
            known.get(spec.chat_id)
            or session.scalars(
                select(Subscriber).where(Subscriber.chat_id == spec.chat_id)
            ).one_or_none()
        )
        is_new = row is None or row.chat_type != "channel"
        if _sync_one(session, spec, row) or is_new:
            (report.added if is_new else report.changed).append(spec.chat_id)
    listed = {spec.chat_id for spec in wanted}
    for chat_id, row in known.items():
        if chat_id not in listed and row.active:
            session.execute(delete(Subscription).where(Subscription.subscriber_id == row.id))
            subscribers.deactivate(session, chat_id, REMOVED)
            report.removed.append(chat_id)
    return report
