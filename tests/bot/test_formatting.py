"""Alert formatting: escaped, linked, capped, with the hit in bold."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.formatting import TELEGRAM_LIMIT, format_alert, hashtag
from crackdown.standin.html_entities import parse_html
from storage.records import Alert

LABELS = {"alipay": "Alipay", "wechat-pay": "WeChat Pay", "otc": "OTC"}


def alert(**overrides: object) -> Alert:
    fields: dict[str, object] = {
        "delivery_id": 1,
        "attempts": 1,
        "chat_id": 1,
        "chat_type": "private",
        "language": "en",
        "story_url": "https://news.example/a?x=1&y=2",
        "title": "Alipay cuts off OTC accounts",
        "summary": "Ant said Alipay will cut off accounts used for OTC trading.",
        "source_key": "ledger",
        "published_at": datetime(2018, 1, 19, 9, 30, tzinfo=UTC),
        "entities": ("alipay", "otc"),
        "hits": (
            {"entity": "alipay", "field": "summary", "start": 9, "end": 15, "term": "Alipay"},
        ),
    }
    fields.update(overrides)
    return Alert(**fields)  # type: ignore[arg-type]


def test_alert_layout() -> None:
    text = format_alert(alert(), LABELS)
    assert text.splitlines() == [
        '<b><a href="https://news.example/a?x=1&amp;y=2">Alipay cuts off OTC accounts</a></b>',
        "ledger · 2018-01-19 09:30 UTC",
        "#Alipay #OTC",
        "Ant said <b>Alipay</b> will cut off accounts used for OTC trading.",
    ]


def test_hostile_strings_are_escaped_and_telegram_accepts_the_result() -> None:
    hostile = alert(
        title='<script>alert("x")</script> & <b>bold',
        summary="<i>Alipay</i> & co",
        hits=({"entity": "alipay", "field": "summary", "start": 3, "end": 9, "term": "Alipay"},),
        story_url='https://evil.example/"><b>x',
    )
    text = format_alert(hostile, LABELS)
    assert "<script>" not in text and "&lt;script&gt;" in text
    plain, _entities = parse_html(text)  # the stand-in's Telegram HTML parser must accept it
    assert '<script>alert("x")</script> & <b>bold' in plain


def test_long_text_is_capped() -> None:
    text = format_alert(
        alert(
            title="A" * 10_000,
            summary="B" * 10_000 + " Alipay " + "C" * 10_000,
            hits=(
                {
                    "entity": "alipay",
                    "field": "summary",
                    "start": 10_001,
                    "end": 10_007,
                    "term": "Alipay",
                },
            ),
        ),
        LABELS,
    )
    assert len(text) <= TELEGRAM_LIMIT
    assert "<b>Alipay</b>" in text


def test_hashtags() -> None:
    assert hashtag("WeChat Pay") == "#WeChatPay"
    assert hashtag("Ant Financial") == "#AntFinancial"
    assert hashtag("支付宝") == "#支付宝"
    assert hashtag("virtual currency") == "#VirtualCurrency"


def test_an_alert_says_what_happened_and_who_acted_in_the_chats_language() -> None:
    labels = {**LABELS, "pboc": "PBoC"}
    english = format_alert(alert(actions=("arrest", "judgment"), actors=("pboc",)), labels)
    assert "⚖ arrest, sentence or judgment · by PBoC" in english.splitlines()
    chinese = format_alert(
        alert(language="zh", actions=("shutdown-block",), actors=("alipay",)), {"alipay": "支付宝"}
    )
    assert "⚖ 关停/封禁 · 执行方：支付宝" in chinese.splitlines()
    assert len(format_alert(alert(), LABELS).splitlines()) == 4  # nothing known: no line
