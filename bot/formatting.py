"""Alert messages in Telegram HTML: every outside string escaped, length capped."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from html import escape

from bot.hold import zone
from bot.texts import TEXTS, text
from crawler.snippets import make_snippet
from crawler.text import strip_invisible
from crawler.urls import is_web_url
from storage.records import Alert

TELEGRAM_LIMIT = 4096
TITLE_LIMIT = 300
MAX_TAGS = 12
_HASHTAG_JUNK = re.compile(r"[^\w]+", re.UNICODE)


SOURCE_LABEL = "source:"  # labels["source:KEY"]: a source's display name (config `name`)


def source_name(key: str, labels: Mapping[str, str]) -> str:
    """A source as readers see it: its configured display name, else its key; escaped."""
    return escape(labels.get(SOURCE_LABEL + key, key), quote=False)


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


def display_text(text: str) -> str:
    """Outside text for an HTML message: bidi and zero-width characters removed, escaped.

    Stories are cleaned when stored; this is the last guard for older rows.
    """
    return escape(strip_invisible(text), quote=False)


def linked(url: str, label: str) -> str:
    """`label` (HTML) as a link to `url`, or alone when `url` is not http(s).

    A `javascript:`, `data:` or `tg://` link must never reach a subscriber.
    """
    if not is_web_url(url):
        return label
    return f'<a href="{escape(url.strip(), quote=True)}">{label}</a>'


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
        display_text(window.text[: window.start]),
        display_text(window.text[window.start : window.end]),
        display_text(window.text[window.end :]),
    )
    return f"{before}<b>{hit}</b>{after}"


LEAD_LIMIT = 160
BEIJING_MIDNIGHT_UTC = 16  # 00:00 UTC+8, the hour a Chinese site's date-only notice gets


def date_only(published: datetime) -> datetime | None:
    """The day a date-only story was published, as local midnight; None if it has a time.

    Feeds and spiders store a bare date as the site's midnight (UTC, or UTC+8 for
    Chinese sites). Shown as a time in the reader's zone, that midnight becomes an
    invented 00:00, or 16:00 the day before: such a story is shown as its date.
    """
    moment = published.astimezone(UTC)
    if moment.minute or moment.second or moment.microsecond:
        return None
    if moment.hour == 0:
        return moment
    if moment.hour == BEIJING_MIDNIGHT_UTC:
        return moment.astimezone(zone("Asia/Shanghai"))
    return None


def _when(published: datetime | None, tz: str) -> str:
    if published is not None and (day := date_only(published)) is not None:
        return day.strftime("%Y-%m-%d")
    local = (published or datetime.now(UTC)).astimezone(zone(tz))
    return local.strftime("%Y-%m-%d %H:%M ") + utc_offset(local)


def _lead(summary: str) -> str:
    """The summary's start, when the hits are elsewhere (a regulator's notice: the title)."""
    text = " ".join(summary.split())
    return escape(_cap(text, LEAD_LIMIT), quote=False)


def happened_line(
    actions: Sequence[str], actors: Sequence[str], language: str, labels: Mapping[str, str]
) -> str:
    """'⚖ arrest, judgment · by Police' in `language`, plain text; empty when nothing is known.

    Alerts, digests, /latest and `crackdown search` all say it this way.
    """
    if not actions:
        return ""
    acts = ", ".join(
        text(f"act_{kind}", language) if f"act_{kind}" in TEXTS else kind for kind in actions[:3]
    )
    names = ", ".join(labels.get(key, key) for key in actors[:2])
    line = text("what_happened", language, acts=acts)
    if names:
        line += " · " + text("by_actor", language, actors=names)
    return line


def what_happened(alert: Alert, labels: Mapping[str, str]) -> str:
    """The alert's what-happened line in the chat's language, as HTML."""
    line = happened_line(alert.actions, alert.actors, alert.language, labels)
    return escape(line, quote=False)


def format_alert(alert: Alert, labels: Mapping[str, str]) -> str:
    """The message a subscriber reads: linked title, source and time, tags, snippet."""
    if alert.notice is not None:  # already HTML; the sender splits what is too long
        return alert.notice
    title = display_text(_cap(alert.title or alert.story_url, TITLE_LIMIT))
    when = _when(alert.published_at, alert.timezone)
    lines = [
        f"<b>{linked(alert.story_url, title)}</b>",
        f"{source_name(alert.source_key, labels)} · {when}",
    ]
    tags = " ".join(
        list(dict.fromkeys(hashtag(labels.get(e, e)) for e in alert.entities))[:MAX_TAGS]
    )
    if tags:
        lines.append(tags)
    happened = what_happened(alert, labels)
    if happened:
        lines.append(happened)
    body = snippet(alert.summary, alert.hits, "summary") or _lead(alert.summary)
    if body:
        lines.append(body)
    message = "\n".join(lines)
    if len(message) > TELEGRAM_LIMIT:  # only a pathological URL gets here: drop the link
        message = "\n".join([f"<b>{title}</b>", *lines[1:]])
    return message


MAX_ALSO = 8
_ALSO = {"en": "Also reported by", "zh": "其他来源"}
_MORE = {"en": "and {n} more", "zh": "等 {n} 家"}


def also_reported(
    sources: Sequence[tuple[str, str]], lang: str, labels: Mapping[str, str] | None = None
) -> str:
    """'Also reported by: <a>Reuters</a>, <a>8btc</a>' for the other sources of an event."""
    if not sources:
        return ""
    shown = [linked(url, source_name(key, labels or {})) for key, url in sources[:MAX_ALSO]]
    if len(sources) > MAX_ALSO:
        shown.append(_MORE.get(lang, _MORE["en"]).format(n=len(sources) - MAX_ALSO))
    return f"{_ALSO.get(lang, _ALSO['en'])}: " + ", ".join(shown)


def with_also_reported(
    message: str,
    sources: Sequence[tuple[str, str]],
    lang: str,
    labels: Mapping[str, str] | None = None,
) -> str:
    """The alert with its other sources appended, if that still fits in one message."""
    line = also_reported(sources, lang, labels)
    if not line:
        return message
    combined = f"{message}\n{line}"
    return combined if len(combined) <= TELEGRAM_LIMIT else message
