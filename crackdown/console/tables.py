"""Plain-text tables for the terminal."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from crackdown.console.terminal import clip, pad, width
from crawler.urls import without_password
from storage.records import SourceRecord


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else "never"


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned as a terminal shows them (a Chinese character is two columns wide)."""
    widths = [max(width(str(c)) for c in column) for column in zip(headers, *rows, strict=False)]
    lines = [
        "  ".join(pad(str(c), w) for c, w in zip(row, widths, strict=True))
        for row in [headers, *rows]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def _short(text: str, columns: int = 60) -> str:
    return clip(text, columns)


def sources_table(records: Sequence[SourceRecord]) -> str:
    """key, URL, last success, failures, items seen, last error."""
    rows = [
        (
            r.key + (" (paused)" if r.paused else ""),
            _short(
                f"{without_password(r.url)} -> {without_password(r.fetch_url)}"
                if r.fetch_url
                else without_password(r.url)
            ),
            _when(r.last_success_at),
            str(r.consecutive_failures),
            _when(r.next_poll_at) if r.next_poll_at else "now",
            str(r.items_seen),
            (r.last_error or "")[:60],
        )
        for r in records
    ]
    if not rows:
        return "no sources configured"
    return table(
        ("key", "url", "last success (UTC)", "failures", "next poll", "items", "last error"), rows
    )
