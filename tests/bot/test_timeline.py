"""/timeline and /everysource through the stand-in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from crawler.normalize import normalise
from crawler.types import RawStory
from storage import sources, stories
from storage.clusters import ClusterSettings
from storage.db import Database
from storage.models import Subscriber
from tests.bot.test_commands import ANN, LI, MATCHER, Conversation, talk

__all__ = ["talk"]


FINE = (
    "Regulators in Shanghai fined Binance 3 million yuan for running OTC desks that matched "
    "mainland buyers with sellers of USDT, the city's financial bureau said on Monday."
)


def store(
    db: Database, source: str, url: str, title: str, days_ago: float, summary: str = ""
) -> None:
    published = datetime.now(UTC) - timedelta(days=days_ago)
    raw = RawStory(source, url, title, summary, published_at=published)
    story = normalise(raw, fetched_at=published)
    with db.session() as session:
        sources.sync_sources(
            session, [(key, "feed", f"https://{key}.example/f") for key in ("reuters", "8btc")]
        )
        session.info["clustering"] = ClusterSettings()  # [cluster] enabled = true
        stories.store_story(session, story, MATCHER.match(story))


def test_timeline_lists_events_newest_first_one_line_per_event(
    talk: Conversation, db: Database
) -> None:
    store(db, "reuters", "https://r.example/1", "Binance fined for OTC desks in China", 10, FINE)
    reprint = "Binance fined for OTC desks in China, report says"
    store(db, "8btc", "https://b.example/1", reprint, 10, "Report: " + FINE)
    store(db, "reuters", "https://r.example/2", "Binance banned from Chinese app stores", 2)
    store(db, "reuters", "https://r.example/3", "PBoC bans bitcoin OTC trading", 1)  # not Binance

    lines = talk.one(ANN, "/timeline 币安").splitlines()
    assert lines[0] == "Binance"
    assert len(lines) == 3  # two events, the reprint folded into its event
    assert "Binance banned from Chinese app stores · reuters" in lines[1]
    assert lines[2].endswith("Binance fined for OTC desks in China · reuters · +1 source")
    assert "Acme" in talk.one(LI, "/timeline Acme")  # an unknown name, in Chinese
    assert talk.one(ANN, "/timeline").startswith("Usage: /timeline NAME")
    assert talk.one(ANN, "/timeline wechat-pay") == "No stored events about WeChat Pay yet."


def test_everysource_is_a_stored_choice(talk: Conversation) -> None:
    talk.say(ANN, "/start")
    assert talk.one(ANN, "/everysource on").startswith("You will get an alert from every source")
    with talk.db.session() as session:
        chat = session.scalars(select(Subscriber).where(Subscriber.chat_id == ANN)).one()
        assert chat.every_source is True
    assert talk.one(ANN, "/everysource off").startswith("One alert per event")
    assert talk.one(ANN, "/everysource maybe").startswith("Usage: /everysource on")
