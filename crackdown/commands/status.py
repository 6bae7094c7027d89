"""`crackdown status`: what an operator checks first (delivery, chats, sources)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime

from sqlalchemy.engine import make_url

from crackdown.app import App
from crackdown.console.tables import table
from crackdown.console.terminal import clip
from storage import outbox, subscribers
from storage.errors import recent_failed_deliveries
from storage.housekeeping import database_bytes
from storage.records import LedgerEntry, OutboxCounts
from storage.sources import list_sources


def _age(since: datetime | None, now: datetime) -> str:
    return "-" if since is None else _span((now - since).total_seconds())


def _span(seconds: float) -> str:
    """90061 -> '1d': the largest whole unit, as operators read ages and waits."""
    seconds = max(0, int(seconds))
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
        failed = recent_failed_deliveries(session, 5)
    configured = {s.key for s in app.config.sources if s.enabled}
    records = [r for r in records if r.key in configured]
    upcoming = sorted(
        (r for r in records if not r.paused),
        key=lambda r: r.next_poll_at or datetime.min.replace(tzinfo=UTC),
    )
    return {
        "database": {
            "url": _safe_url(app.config.storage.url),
            "bytes": database_bytes(app.db),
            "read_only": app.db.read_only,
        },
        "delivery": asdict(counts),
        "chats": {"active": active, "inactive": inactive},
        "sources": {
            "total": len(records),
            "failing": sorted(r.key for r in records if r.consecutive_failures),
            "paused": sorted(r.key for r in records if r.paused),
        },
        "next_polls": [{"source": r.key, "at": r.next_poll_at} for r in upcoming[:5]],
        "source_errors": [
            {"source": r.key, "failures": r.consecutive_failures, "error": r.last_error}
            for r in sorted(records, key=lambda r: -r.consecutive_failures)
            if r.consecutive_failures
        ][:10],
        "failed_deliveries": [
            {"at": when, "chat_id": chat, "reason": reason} for when, chat, reason in failed
        ],
    }


def _safe_url(url: str) -> str:
    """The database URL without its password."""
    return make_url(url).render_as_string(hide_password=True)


def _size(value: object) -> str:
    if not isinstance(value, int):
        return "-"
    return f"{value / 1_048_576:.1f} MB" if value >= 1_048_576 else f"{value / 1024:.0f} KB"


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
    database: dict[str, object] = data["database"]  # type: ignore[assignment]
    lines = [
        f"Database: {database['url']}, {_size(database['bytes'])}"
        + (" (read-only: read as it is)" if database.get("read_only") else ""),
        "",
        "Delivery",
        table(("counter", "value", "meaning"), rows),
        "",
        f"Chats: {chats['active']} active, {chats['inactive']} inactive",
        f"Sources: {sources['total']} configured, {len(failing)} failing"
        + (f" ({', '.join(failing)})" if failing else "")
        + "; details: crackdown sources",
    ]
    upcoming: list[dict[str, object]] = data["next_polls"]  # type: ignore[assignment]
    if upcoming:
        polls = [(str(p["source"]), _when(p["at"]), _until(p["at"], now)) for p in upcoming]  # type: ignore[arg-type]
        lines += ["", "Next polls", table(("source", "at (UTC)", "in"), polls)]
    errors: list[dict[str, object]] = data["source_errors"]  # type: ignore[assignment]
    if errors:
        rows = [(str(e["source"]), str(e["failures"]), str(e["error"] or "")[:80]) for e in errors]
        lines += ["", "Failing sources", table(("source", "failures", "last error"), rows)]
    failed: list[dict[str, object]] = data["failed_deliveries"]  # type: ignore[assignment]
    if failed:
        rows = [(_when(f["at"]), str(f["chat_id"]), str(f["reason"])[:80]) for f in failed]  # type: ignore[arg-type]
        lines += ["", "Alerts given up on", table(("when (UTC)", "chat", "reason"), rows)]
    return "\n".join(lines)


def _until(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "now"
    seconds = (when - now).total_seconds()
    return "now" if seconds <= 0 else _span(seconds)


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
            clip(e.what, 50),
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
