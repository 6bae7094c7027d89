"""/latest and /search show rows stored before the clean-up safely: no hostile link, no bidi."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime

from crackdown.standin import BotApiStandIn
from crawler.normalize import normalise
from crawler.types import RawStory
from storage import sources, stories
from storage.db import Database
from tests.bot.test_commands import ANN, MATCHER, Conversation, talk

__all__ = ["talk"]  # the fixture, shared with the command tests

INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b-\u200d\u2060\ufeff]")


def store_old_row(db: Database, url: str, title: str) -> None:
    """A row as an older version stored it: link and title taken as the feed gave them."""
    story = normalise(RawStory("wire", url, title), fetched_at=datetime.now(UTC))
    story = dataclasses.replace(story, url=url, title=title)
    with db.session() as session:
        sources.sync_sources(session, [("wire", "feed", "https://wire.example/feed")])
        stories.store_story(session, story, MATCHER.match(story))


def test_latest_and_search_link_only_web_urls_and_drop_invisible_characters(
    talk: Conversation, db: Database, standin: BotApiStandIn
) -> None:
    store_old_row(db, "javascript:alert(1)", "PBoC bans bitcoin OTC trading \u202egpj.exe")
    store_old_row(
        db, "tg://resolve?domain=evil", "Alipay cuts off bitcoin\u2066 OTC\u2069 accounts"
    )
    store_old_row(db, "https://wire.example/ok", "PBoC bans bitcoin mining\u200b farms")
    for command in ("/latest", "/search bitcoin"):
        talk.one(ANN, command)
        sent = standin.sent_messages()[-1]
        assert re.findall(r'href="([^"]*)"', sent.text) == ["https://wire.example/ok"], sent.text
        assert not INVISIBLE.search(sent.text), sent.text
        assert "gpj.exe" in sent.plain_text  # the title stays, the link and reversal go
