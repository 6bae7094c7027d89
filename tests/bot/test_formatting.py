"""Alert formatting: escaped, linked, capped, with the hit in bold."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.formatting import TELEGRAM_LIMIT, format_alert, hashtag, with_also_reported
from crackdown.app import open_app
from crackdown.config import build_config
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


def test_a_hit_in_the_title_still_shows_the_summarys_lead() -> None:
    """A regulator's notice names the regulator in its title: the summary says the rest."""
    notice = alert(
        title="人民银行关于防范虚拟货币交易炒作风险的公告",
        summary="近期，虚拟货币交易炒作活动抬头，扰乱经济金融秩序。" * 10,
        hits=({"entity": "pboc", "field": "title", "start": 0, "end": 4, "term": "人民银行"},),
    )
    lines = format_alert(notice, LABELS).splitlines()
    assert lines[-1].startswith("近期，虚拟货币交易炒作活动抬头") and lines[-1].endswith("…")
    assert len(lines[-1]) <= 160


def test_a_date_only_notice_shows_its_date_not_an_invented_time() -> None:
    beijing_midnight = datetime(2021, 9, 24, 16, 0, tzinfo=UTC)  # 2021-09-25 00:00 UTC+8
    shown = format_alert(alert(published_at=beijing_midnight, timezone="UTC"), LABELS)
    assert shown.splitlines()[1] == "ledger · 2021-09-25"
    utc_midnight = datetime(2021, 9, 24, tzinfo=UTC)
    shown = format_alert(alert(published_at=utc_midnight, timezone="America/New_York"), LABELS)
    assert shown.splitlines()[1] == "ledger · 2021-09-24"  # not 2021-09-23 20:00 UTC-4
    timed = format_alert(alert(published_at=datetime(2021, 9, 24, 16, 5, tzinfo=UTC)), LABELS)
    assert timed.splitlines()[1] == "ledger · 2021-09-24 16:05 UTC"


def test_sources_are_shown_by_their_display_name() -> None:
    named = {**LABELS, "source:ledger": "Ledger Daily <HK>"}
    assert format_alert(alert(), named).splitlines()[1] == (
        "Ledger Daily &lt;HK&gt; · 2018-01-19 09:30 UTC"
    )
    assert format_alert(alert(), LABELS).splitlines()[1].startswith("ledger · ")  # no name
    also = with_also_reported("alert", [("ledger", "https://l.example/a")], "en", named)
    assert also.endswith('<a href="https://l.example/a">Ledger Daily &lt;HK&gt;</a>')


def test_the_config_name_reaches_the_labels() -> None:
    config = build_config(
        {
            "storage": {"url": "sqlite://"},
            "sources": [
                {"key": "pbc", "name": "人民银行", "url": "https://pbc.example/feed"},
                {"key": "wire", "url": "https://wire.example/feed"},
            ],
        },
        {},
    )
    app = open_app(config)
    try:
        labels = app.labels()
    finally:
        app.db.dispose()
    assert labels["zh"]["source:pbc"] == "人民银行" and "source:wire" not in labels["en"]


def test_an_alert_says_what_happened_and_who_acted_in_the_chats_language() -> None:
    labels = {**LABELS, "pboc": "PBoC"}
    english = format_alert(alert(actions=("arrest", "judgment"), actors=("pboc",)), labels)
    assert "⚖ arrest, sentence or judgment · by PBoC" in english.splitlines()
    chinese = format_alert(
        alert(language="zh", actions=("shutdown-block",), actors=("alipay",)), {"alipay": "支付宝"}
    )
    assert "⚖ 关停/封禁 · 执行方：支付宝" in chinese.splitlines()
    assert len(format_alert(alert(), LABELS).splitlines()) == 4  # nothing known: no line
