"""One event, one alert: later reports edit the sent alert ("also reported by")."""

from __future__ import annotations

from datetime import UTC, datetime

from crackdown.standin import BotApiStandIn
from crawler.normalize import normalise
from crawler.types import RawStory
from storage import outbox, sources, stories, subscribers
from storage.clusters import ClusterSettings
from storage.db import Database
from tests.bot.test_delivery import TOPIC, drain
from tests.probing import shipped_matcher

MATCHER = shipped_matcher()
ANN, BOB, DIGEST = 9101, 9102, 9103
FIRST = ("reuters", "https://reuters.example/pboc", "PBoC bans bitcoin OTC trading platforms")
SECOND = (
    "coindesk",
    "https://coindesk.example/pboc-otc",
    "China's PBoC bans bitcoin OTC trading platforms, orders them to close",
)
THIRD = ("caixin", "https://caixin.example/otc", "PBoC bans bitcoin OTC trading platforms")


def _setup(db: Database, standin: BotApiStandIn, *chats: int) -> None:
    with db.session() as session:
        sources.sync_sources(
            session,
            [
                (key, "feed", f"https://{key}.example/feed")
                for key in ("reuters", "coindesk", "caixin")
            ],
        )
        for chat in chats:
            standin.add_user(chat, f"user{chat}")
            subscribers.subscribe(session, chat, topic=TOPIC)


NOTICE = (
    "The People's Bank of China said on Friday that bitcoin over-the-counter trading "
    "platforms must stop matching buyers and sellers and close their accounts by March."
)


def _store(db: Database, *reports: tuple[str, str, str]) -> None:
    """Each report with a summary: a bare headline clusters only by its exact words."""
    items = []
    for source, url, title in reports:
        summary = "" if "Alipay" in title else f"{source.title()}: {NOTICE}"
        raw = RawStory(source, url, title, summary)
        story = normalise(raw, fetched_at=datetime.now(UTC))
        items.append((story, MATCHER.match(story)))
    with db.session() as session:
        session.info["clustering"] = ClusterSettings()  # [cluster] enabled = true
        stories.store_stories(session, items)


def _sends(standin: BotApiStandIn, chat: int, method: str) -> list[str]:
    return [m.plain_text for m in standin.sent_messages(chat) if m.method == method]


def test_a_later_report_of_the_same_event_edits_the_alert_instead_of_sending_another(
    db: Database, standin: BotApiStandIn
) -> None:
    _setup(db, standin, ANN)
    _store(db, FIRST)
    assert drain(db, standin).sent == 1
    _store(db, SECOND)
    report = drain(db, standin)
    assert (report.sent, report.edited) == (0, 1)
    assert len(_sends(standin, ANN, "sendMessage")) == 1  # no second alert
    (edited,) = _sends(standin, ANN, "editMessageText")
    assert edited.startswith(FIRST[2]) and edited.endswith("Also reported by: coindesk")
    message = standin.state.messages[(ANN, standin.sent_messages(ANN)[0].message_id)]
    assert message.text.endswith("Also reported by: coindesk")  # what Ann sees now
    link = [e for e in message.entities if e.get("type") == "text_link"][-1]
    assert link["url"] == SECOND[1]

    _store(db, THIRD)  # a third outlet: the same message, edited again
    assert drain(db, standin).edited == 1
    assert message.text.endswith("Also reported by: coindesk, caixin")
    assert len(_sends(standin, ANN, "sendMessage")) == 1
    with db.session() as session:
        assert outbox.counts(session).sent == 3  # one alert, two edits, all in the ledger


def test_every_source_chats_get_each_report_and_digest_chats_no_edits(
    db: Database, standin: BotApiStandIn
) -> None:
    _setup(db, standin, ANN, BOB, DIGEST)
    with db.session() as session:
        subscribers.set_preferences(session, BOB, every_source=True)
        subscribers.set_preferences(session, DIGEST, digest="hourly")
    _store(db, FIRST)
    drain(db, standin)
    _store(db, SECOND)
    drain(db, standin)
    assert len(_sends(standin, ANN, "sendMessage")) == 1
    assert len(_sends(standin, ANN, "editMessageText")) == 1
    bob = _sends(standin, BOB, "sendMessage")
    assert len(bob) == 2 and bob[1].startswith(SECOND[2])  # his choice: every source
    assert _sends(standin, DIGEST, "editMessageText") == []  # a digest lists the event once


def test_reports_arriving_together_make_one_alert_listing_both(
    db: Database, standin: BotApiStandIn
) -> None:
    _setup(db, standin, ANN)
    _store(db, FIRST, SECOND)
    report = drain(db, standin)
    assert (report.sent, report.edited) == (1, 0)
    (alert,) = _sends(standin, ANN, "sendMessage")
    assert alert.startswith(FIRST[2]) and alert.endswith("Also reported by: coindesk")


def test_a_failed_edit_sends_nothing_new(db: Database, standin: BotApiStandIn) -> None:
    _setup(db, standin, ANN)
    _store(db, FIRST)
    drain(db, standin)
    standin.inject_faults().fail_next(ANN, 400, "Bad Request: message to edit not found")
    _store(db, SECOND)
    report = drain(db, standin)
    assert (report.failed, report.sent, report.edited) == (1, 0, 0)
    assert len(standin.sent_messages(ANN)) == 1
    with db.session() as session:
        (entry,) = [e for e in outbox.ledger(session, ANN, 10) if e.status == "failed"]
    assert "message to edit not found" in (entry.reason or "").lower()


def test_different_events_with_similar_words_still_alert_separately(
    db: Database, standin: BotApiStandIn
) -> None:
    _setup(db, standin, ANN)
    _store(db, FIRST)
    _store(
        db, ("caixin", "https://caixin.example/fine", "Alipay freezes wallets tied to crypto fraud")
    )
    assert drain(db, standin).sent == 2
