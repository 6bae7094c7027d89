"""Alert messages in Telegram HTML: every outside string escaped, length capped."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC
from html import escape

from storage.records import Alert

TELEGRAM_LIMIT = 4096
TITLE_LIMIT = 300
SNIPPET_RADIUS = 90
MAX_TAGS = 12
_HASHTAG_JUNK = re.compile(r"[^\w]+", re.UNICODE)


def hashtag(label: str) -> str:
    """'WeChat Pay' -> '#WeChatPay'; Telegram hashtags are word characters only."""
    words = _HASHTAG_JUNK.split(label)
    return "#" + "".join(w[:1].upper() + w[1:] for w in words if w)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def snippet(text: str, hits: Sequence[Mapping[str, object]], field: str) -> str:
    """A window of `text` around its first hit, the hit in bold, all escaped."""
    field_hits = [h for h in hits if h.get("field") == field]
    if not text or not field_hits:
        return ""
    first = min(field_hits, key=lambda h: int(str(h["start"])))
    start, end = int(str(first["start"])), int(str(first["end"]))
    left = max(0, start - SNIPPET_RADIUS)
    right = min(len(text), end + SNIPPET_RADIUS)
    prefix = ("…" if left else "") + escape(text[left:start], quote=False)
    suffix = escape(text[end:right], quote=False) + ("…" if right < len(text) else "")
    return f"{prefix}<b>{escape(text[start:end], quote=False)}</b>{suffix}"


def format_alert(alert: Alert, labels: Mapping[str, str]) -> str:
    """The message a subscriber reads: linked title, source and time, tags, snippet."""
    title = escape(_cap(alert.title or alert.story_url, TITLE_LIMIT), quote=False)
    when = alert.published_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f'<b><a href="{escape(alert.story_url, quote=True)}">{title}</a></b>',
        f"{escape(alert.source_key, quote=False)} · {when}",
    ]
    tags = " ".join(
        list(dict.fromkeys(hashtag(labels.get(e, e)) for e in alert.entities))[:MAX_TAGS]
    )
    if tags:
        lines.append(tags)
    body = snippet(alert.summary, alert.hits, "summary")
    if body:
        lines.append(body)
    message = "\n".join(lines)
    if len(message) > TELEGRAM_LIMIT:  # only a pathological URL gets here: drop the link
        message = "\n".join([f"<b>{title}</b>", *lines[1:]])
    return message
