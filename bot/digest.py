"""Digests: a chat's alerts collected and sent as one message, hourly or daily at HH:MM.

Which digest a row belongs to follows from when it was queued: the first
boundary (the top of the hour, or the chat's HH:MM in its zone) after that.
No state is kept, so a restart or a crash mid-digest rebuilds the same
message, and a split digest resumes after the last part delivered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from html import escape

from bot.formatting import (
    display_text,
    hashtag,
    linked,
    snippet,
    source_name,
    utc_offset,
    what_happened,
)
from bot.hold import zone
from bot.texts import text
from storage.records import Alert

MODES = ("off", "hourly", "daily")


def last_boundary(now: datetime, mode: str, at: int | None, tz: str) -> datetime:
    """The latest digest time at or before `now`: rows queued before it are due."""
    local = now.astimezone(zone(tz))
    if mode == "hourly":
        return local.replace(minute=0, second=0, microsecond=0)
    minutes = at or 0
    today = local.replace(hour=minutes // 60, minute=minutes % 60, second=0, microsecond=0)
    return today if today <= local else today - timedelta(days=1)


def next_boundary(after: datetime, mode: str, at: int | None, tz: str) -> datetime:
    """The first digest time strictly after `after` (when a row queued then goes out)."""
    boundary = last_boundary(after, mode, at, tz)
    step = timedelta(hours=1) if mode == "hourly" else timedelta(days=1)
    return boundary + step


def format_digest(alerts: Sequence[Alert], labels: Mapping[str, str], lang: str, tz: str) -> str:
    """One message for many alerts: a header, then one short entry per story or notice."""
    lines = [f"<b>{escape(text('digest_header', lang, count=len(alerts)), quote=False)}</b>"]
    for alert in alerts:
        if alert.notice is not None:
            lines.append(alert.notice)
            continue
        title = display_text((alert.title or alert.story_url)[:300])
        when = ""
        if alert.published_at is not None:
            local = alert.published_at.astimezone(zone(tz))
            when = f" · {local:%m-%d %H:%M} {utc_offset(local)}"
        tags = " ".join(list(dict.fromkeys(hashtag(labels.get(e, e)) for e in alert.entities))[:6])
        lines.append(
            f"• {linked(alert.story_url, title)}\n"
            f"  {source_name(alert.source_key, labels)}{when}" + (f" {tags}" if tags else "")
        )
        happened = what_happened(alert, labels)
        if happened:
            lines.append(f"  {happened}")
        body = snippet(alert.summary, alert.hits, "summary")  # as in the alert itself
        if body:
            lines.append(f"  {body}")
    return "\n".join(lines)
