"""Channels attached in config: validated against the watchlist, kept equal to the config."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crackdown.app import open_app
from crackdown.config import ConfigError, build_config
from storage import outbox, subscribers
from storage.models import Delivery, Subscriber
from storage.notices import queue_notice

NEWS, ROUNDUP = -1001000000001, -1001000000002


def _document(tmp_path: Path, channels: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "storage": {"url": f"sqlite:///{tmp_path / 'c.db'}"},
        "telegram": {"channels": channels},
    }


def _open(tmp_path: Path, channels: list[dict[str, Any]]) -> Any:
    return open_app(build_config(_document(tmp_path, channels), {}))


def test_a_configured_channel_follows_exactly_what_the_config_says(tmp_path: Path) -> None:
    app = _open(
        tmp_path,
        [
            {
                "chat_id": NEWS,
                "name": "China crypto news",
                "topics": ["china-crypto-enforcement"],
                "entities": ["支付宝", "OTC"],  # aliases are stored as entity keys
                "queries": ["  binance   AND  license "],
                "lang": "zh",
                "timezone": "Asia/Shanghai",
            },
            {"chat_id": ROUNDUP, "topics": ["china-crypto-enforcement"], "digest": "daily 08:30"},
        ],
    )
    with app.db.session() as session:
        assert subscribers.following(session, NEWS) == [
            ("topic", "china-crypto-enforcement"),
            ("entity", "alipay"),
            ("entity", "otc"),
            ("query", "binance AND license"),
        ]
        news = session.scalars(select(Subscriber).where(Subscriber.chat_id == NEWS)).one()
        assert (news.chat_type, news.title, news.language, news.timezone) == (
            "channel",
            "China crypto news",
            "zh",
            "Asia/Shanghai",
        )
        roundup = session.scalars(select(Subscriber).where(Subscriber.chat_id == ROUNDUP)).one()
        assert (roundup.digest, roundup.digest_at) == ("daily", 8 * 60 + 30)
        # The channel's query is evaluated by the filter like any /watch.
        assert "binance AND license" in subscribers.watched_queries(session)
    app.db.dispose()


def test_editing_the_config_updates_channels_and_a_removed_one_stops(tmp_path: Path) -> None:
    first = _open(
        tmp_path,
        [
            {"chat_id": NEWS, "topics": ["china-crypto-enforcement"], "entities": ["alipay"]},
            {"chat_id": ROUNDUP, "topics": ["china-crypto-enforcement"]},
        ],
    )
    with first.db.session() as session:
        assert queue_notice(session, "broadcast", "queued", [ROUNDUP]) == 1
    first.db.dispose()

    second = _open(tmp_path, [{"chat_id": NEWS, "entities": ["alipay", "wechat-pay"]}])
    with second.db.session() as session:
        assert subscribers.following(session, NEWS) == [
            ("entity", "alipay"),
            ("entity", "wechat-pay"),
        ]
        roundup = session.scalars(select(Subscriber).where(Subscriber.chat_id == ROUNDUP)).one()
        assert not roundup.active and roundup.inactive_reason == "removed from config"
        assert subscribers.following(session, ROUNDUP) == []
        queued = session.scalars(select(Delivery).where(Delivery.subscriber_id == roundup.id)).one()
        assert queued.status == "skipped"  # not sent, still in the ledger
        assert outbox.counts(session).pending == 0

    # Listing it again brings it back, with what the config now says.
    second.db.dispose()
    third = _open(tmp_path, [{"chat_id": ROUNDUP, "topics": ["china-crypto-enforcement"]}])
    with third.db.session() as session:
        assert subscribers.following(session, ROUNDUP) == [("topic", "china-crypto-enforcement")]
        assert subscribers.following(session, NEWS) == []
    third.db.dispose()


def test_the_channel_sync_leaves_a_group_that_subscribed_itself_alone(tmp_path: Path) -> None:
    app = _open(tmp_path, [])
    with app.db.session() as session:
        subscribers.subscribe(session, NEWS, topic="china-crypto-enforcement", chat_type="group")
        subscribers.add(session, NEWS, "entity", "binance")
    app.db.dispose()
    # A group is not a configured channel: a sync without it leaves it alone.
    again = _open(tmp_path, [])
    with again.db.session() as session:
        assert len(subscribers.following(session, NEWS)) == 2
    again.db.dispose()


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        ({"chat_id": NEWS, "topics": ["no-such-topic"]}, "telegram.channels[0].topics"),
        ({"chat_id": NEWS, "entities": ["Nobody Inc"]}, "no entity or alias 'Nobody Inc'"),
        ({"chat_id": NEWS, "queries": ["bitcoin AND ("]}, "telegram.channels[0].queries"),
        ({"chat_id": NEWS}, "needs topics, entities or queries"),
        ({"chat_id": 12345, "topics": ["china-crypto-enforcement"]}, "chat_id"),
        ({"chat_id": NEWS, "topics": ["x"], "timezone": "Mars/Base"}, "unknown time zone"),
        ({"chat_id": NEWS, "topics": ["x"], "digest": "weekly"}, "digest is"),
        (
            {"chat_id": NEWS, "topics": ["x"], "token": "s3cret"},
            "telegram.channels[0].token: unknown key",
        ),
    ],
)
def test_a_bad_channel_entry_is_a_config_error_naming_it_and_stores_nothing(
    tmp_path: Path, channel: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("(", r"\(")):
        _open(tmp_path, [channel])
    assert not (tmp_path / "c.db").exists()


def test_the_same_channel_twice_is_rejected(tmp_path: Path) -> None:
    channel = {"chat_id": NEWS, "topics": ["china-crypto-enforcement"]}
    with pytest.raises(ConfigError, match=r"telegram.channels\[1\].chat_id"):
        _open(tmp_path, [channel, channel])
