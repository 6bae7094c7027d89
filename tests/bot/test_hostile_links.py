"""The last guard in formatting: stored rows from before the clean-up are shown safely."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from bot.digest import format_digest
from bot.formatting import also_reported, format_alert, linked
from storage.records import Alert

HOSTILE_LINKS = [
    "javascript:alert(1)",
    " JavaScript:alert(1)",
    "tg://resolve?domain=evil",
    "data:text/html,<b>x</b>",
    "file:///etc/passwd",
    "http:no-host",
]


def alert(url: str, title: str = "PBoC \u202egpj.exe\u200b", summary: str = "") -> Alert:
    return Alert(
        delivery_id=1,
        attempts=0,
        chat_id=1,
        chat_type="private",
        language="en",
        story_url=url,
        title=title,
        summary=summary,
        source_key="src",
        published_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


@pytest.mark.parametrize("url", HOSTILE_LINKS)
def test_non_web_links_are_not_linked(url: str) -> None:
    assert linked(url, "title") == "title"
    assert "href" not in format_alert(alert(url), {})
    assert "href" not in also_reported([("other", url)], "en")
    assert "href" not in format_digest([alert(url)], {}, "en", "UTC")


def test_web_links_are_linked_and_escaped() -> None:
    assert (
        linked('https://a.example/?q="x"', "t")
        == '<a href="https://a.example/?q=&quot;x&quot;">t</a>'
    )


def test_invisible_characters_are_dropped_from_titles_and_snippets() -> None:
    summary = "before \u2066bitcoin\u2069 after\u200b"
    hit = {"field": "summary", "start": 8, "end": 15}
    message = format_alert(
        dataclasses.replace(alert("https://a.example/", summary=summary), hits=[hit]), {}
    )
    for char in "\u202e\u200b\u2066\u2069":
        assert char not in message
    assert "PBoC gpj.exe" in message and "<b>bitcoin</b>" in message
