"""`crackdown status`: what an operator checks first (delivery, chats, sources)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime

from crackdown.app import App
from crackdown.tables import table
from storage import outbox, subscribers
from storage.records import LedgerEntry, OutboxCounts
from storage.sources import list_sources


def _age(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "-"
    seconds = max(0, int((now - since).total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def collect(app: App) -> dict[str, object]:
    """Everything `status` shows, as plain data (also the --json output)."""
    with app.db.session() as session:
        counts = outbox.counts(session)
        active, inactive = subscribers.counts(session)
        records = list_sources(session)
    configured = {s.key for s in app.config.sources}
    records = [r for r in records if r.key in configured]
    return {
        "delivery": asdict(counts),
        "chats": {"active": active, "inactive": inactive},
        "sources": {
            "total": len(records),
            "failing": sorted(r.key for r in records if r.consecutive_failures),
            "paused": sorted(r.key for r in records if r.paused),
        },
    }


def render(data: dict[str, object], now: datetime | None = None) -> str:
    """The status report as a few aligned lines."""
    now = now or datetime.now(UTC)
    delivery = OutboxCounts(**data["delivery"])  # type: ignore[arg-type]
    chats: dict[str, int] = data["chats"]  # type: ignore[assignment]
    sources: dict[str, object] = data["sources"]  # type: ignore[assignment]
    failing: list[str] = sources["failing"]  # type: ignore[assignment]
    rows = [
        ("pending", str(delivery.pending), "due or waiting for a retry"),
        ("sending", str(delivery.sending), "claimed, in flight"),
        ("sent", str(delivery.sent), ""),
        ("failed", str(delivery.failed), "gave up; reasons in --chat"),
        ("skipped", str(delivery.skipped), "chat blocked us, left or unsubscribed"),
        ("retries", str(delivery.retries), "sends tried again after an error"),
        ("429s", str(delivery.rate_limited), "Telegram flood control answers"),
        ("oldest waiting", _age(delivery.oldest_due, now), ""),
    ]
    lines = [
        "Delivery",
        table(("counter", "value", "meaning"), rows),
        "",
        f"Chats: {chats['active']} active, {chats['inactive']} inactive",
        f"Sources: {sources['total']} configured, {len(failing)} failing"
        + (f" ({', '.join(failing)})" if failing else "")
        + "; details: crackdown sources",
    ]
    return "\n".join(lines)


def render_ledger(chat_id: int, entries: Sequence[LedgerEntry]) -> str:
    """One chat's latest deliveries: when, outcome, tries, 429s, reason."""
    if not entries:
        return f"no deliveries to chat {chat_id}"
    rows = [
        (
            _when(e.finished_at or e.created_at),
            e.status,
            str(e.attempts),
            str(e.rate_limited),
            e.what[:50],
            (e.reason or "")[:70],
        )
        for e in entries
    ]
    return f"Deliveries to chat {chat_id}, newest first\n" + table(
        ("when (UTC)", "status", "tries", "429s", "what", "reason"), rows
    )


def status_command(app: App, *, chat_id: int | None, limit: int, as_json: bool) -> str:
    if chat_id is not None:
        with app.db.session() as session:
            entries = outbox.ledger(session, chat_id, limit)
        if as_json:
            return json.dumps([asdict(e) for e in entries], default=str, ensure_ascii=False)
        return render_ledger(chat_id, entries)
    data = collect(app)
    return json.dumps(data, default=str) if as_json else render(data)
