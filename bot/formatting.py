"""Alert messages in Telegram HTML: every outside string escaped, length capped."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

from bot.hold import zone
from bot.texts import TEXTS, text
from crawler.snippets import make_snippet
from storage.records import Alert

TELEGRAM_LIMIT = 4096
TITLE_LIMIT = 300
MAX_TAGS = 12
_HASHTAG_JUNK = re.compile(r"[^\w]+", re.UNICODE)


def utc_offset(moment: datetime) -> str:
    """'UTC', 'UTC+8', 'UTC+5:30': unambiguous where zone abbreviations are not (CST)."""
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset else 0
    if not minutes:
        return "UTC"
    sign, minutes = ("+" if minutes > 0 else "-"), abs(minutes)
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours}" + (f":{rest:02d}" if rest else "")


def hashtag(label: str) -> str:
    """'WeChat Pay' -> '#WeChatPay'; Telegram hashtags are word characters only."""
    words = _HASHTAG_JUNK.split(label)
    return "#" + "".join(w[:1].upper() + w[1:] for w in words if w)


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def snippet(text: str, hits: Sequence[Mapping[str, object]], field: str) -> str:
    """About 120 characters of `text` around its first hit, the hit in bold, all escaped."""
    field_hits = [h for h in hits if h.get("field") == field]
    if not text or not field_hits:
        return ""
    first = min(field_hits, key=lambda h: int(str(h["start"])))
    window = make_snippet(text, int(str(first["start"])), int(str(first["end"])), field)
    before, hit, after = (
        escape(window.text[: window.start], quote=False),
        escape(window.text[window.start : window.end], quote=False),
        escape(window.text[window.end :], quote=False),
    )
    return f"{before}<b>{hit}</b>{after}"


def what_happened(alert: Alert, labels: Mapping[str, str]) -> str:
    """'⚖ arrest, judgment · by Police' in the chat's language; empty when nothing is known."""
    if not alert.actions:
        return ""
    acts = ", ".join(
        text(f"act_{kind}", alert.language) if f"act_{kind}" in TEXTS else kind
        for kind in alert.actions[:3]
    )
    actors = ", ".join(labels.get(key, key) for key in alert.actors[:2])
    line = text("what_happened", alert.language, acts=acts)
    if actors:
        line += " · " + text("by_actor", alert.language, actors=actors)
    return escape(line, quote=False)


def format_alert(alert: Alert, labels: Mapping[str, str]) -> str:
    """The message a subscriber reads: linked title, source and time, tags, snippet."""
    if alert.notice is not None:  # already HTML; the sender splits what is too long
        return alert.notice
    title = escape(_cap(alert.title or alert.story_url, TITLE_LIMIT), quote=False)
    published = (alert.published_at or datetime.now(UTC)).astimezone(zone(alert.timezone))
    when = published.strftime("%Y-%m-%d %H:%M ") + utc_offset(published)
    lines = [
        f'<b><a href="{escape(alert.story_url, quote=True)}">{title}</a></b>',
        f"{escape(alert.source_key, quote=False)} · {when}",
    ]
    tags = " ".join(
        list(dict.fromkeys(hashtag(labels.get(e, e)) for e in alert.entities))[:MAX_TAGS]
    )
    if tags:
        lines.append(tags)
    happened = what_happened(alert, labels)
    if happened:
        lines.append(happened)
    body = snippet(alert.summary, alert.hits, "summary")
    if body:
        lines.append(body)
    message = "\n".join(lines)
    if len(message) > TELEGRAM_LIMIT:  # only a pathological URL gets here: drop the link
        message = "\n".join([f"<b>{title}</b>", *lines[1:]])
    return message


MAX_ALSO = 8
_ALSO = {"en": "Also reported by", "zh": "其他来源"}
_MORE = {"en": "and {n} more", "zh": "等 {n} 家"}


def also_reported(sources: Sequence[tuple[str, str]], lang: str) -> str:
    """'Also reported by: <a>reuters</a>, <a>8btc</a>' for the other sources of an event."""
    if not sources:
        return ""
    shown = [
        f'<a href="{escape(url, quote=True)}">{escape(key, quote=False)}</a>'
        for key, url in sources[:MAX_ALSO]
    ]
    if len(sources) > MAX_ALSO:
        shown.append(_MORE.get(lang, _MORE["en"]).format(n=len(sources) - MAX_ALSO))
    return f"{_ALSO.get(lang, _ALSO['en'])}: " + ", ".join(shown)


def with_also_reported(message: str, sources: Sequence[tuple[str, str]], lang: str) -> str:
    """The alert with its other sources appended, if that still fits in one message."""
    line = also_reported(sources, lang)
    if not line:
        return message
    combined = f"{message}\n{line}"
    return combined if len(combined) <= TELEGRAM_LIMIT else message
