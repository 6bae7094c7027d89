"""Operator commands (telegram.admin_ids only): /stats /sources /pause /resume /broadcast."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

from bot.request import Deps, Request
from storage import admin, notices, subscribers
from storage.sources import list_sources


async def stats(deps: Deps, request: Request) -> None:
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with deps.db.session() as session:
        figures = admin.stats(session, today)
    box = figures.outbox
    await request.reply(
        "stats",
        active=figures.chats_active,
        inactive=figures.chats_inactive,
        stories=figures.stories_today,
        matched=figures.matched_today,
        pending=box.backlog,
        sent=box.sent,
        failed=box.failed,
        skipped=box.skipped,
        rate_limited=box.rate_limited,
    )


async def sources(deps: Deps, request: Request) -> None:
    """One line per source: health at a glance."""
    with deps.db.session() as session:
        records = list_sources(session)
    if not records:
        await request.reply("sources_empty")
        return
    lines = []
    for r in records:
        state = "⏸" if r.paused else ("❌" if r.consecutive_failures else "✅")
        last = f"{r.last_success_at:%m-%d %H:%M}" if r.last_success_at else "never"
        error = f" · {escape((r.last_error or '')[:60], quote=False)}" if r.last_error else ""
        lines.append(
            f"{state} <b>{escape(r.key, quote=False)}</b> · ok {last} · "
            f"{r.consecutive_failures} failures · {r.items_seen} items{error}"
        )
    await request.reply_html("\n".join(lines))


async def _set_paused(deps: Deps, request: Request, paused: bool) -> None:
    key = request.argument.strip()
    if not key:
        await request.reply("pause_usage")
        return
    with deps.db.session() as session:
        found = admin.set_paused(session, key, paused)
    if not found:
        await request.reply("no_source", key=key[:100])
        return
    await request.reply("paused" if paused else "resumed", key=key)


async def pause(deps: Deps, request: Request) -> None:
    await _set_paused(deps, request, True)


async def resume(deps: Deps, request: Request) -> None:
    await _set_paused(deps, request, False)


async def broadcast(deps: Deps, request: Request) -> None:
    """Queue a message to every active chat, through the outbox (paced, never lost)."""
    message = request.argument.strip()
    if not message:
        await request.reply("broadcast_usage")
        return
    with deps.db.session() as session:
        chats = subscribers.active_chats(session)
        count = notices.queue_notice(session, "broadcast", escape(message, quote=False), chats)
    await request.reply("broadcast_queued", count=count)
