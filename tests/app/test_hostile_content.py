"""Hostile links and invisible characters, from a loopback feed to the Bot API stand-in."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from telegram import Bot

from crackdown.app import App, open_app
from crackdown.config import build_config
from crackdown.demo.site import LoopbackSite, Page
from crackdown.standin import BotApiStandIn
from crawler.http import make_client
from storage import subscribers
from storage.models import StoryRow
from tests.conftest import TOKEN

CHAT = 4242
INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b-\u200d\u2060\ufeff]")


def item(title: str, link: str) -> str:
    return (
        f"<item><title>{title}</title><link>{link}</link><description>{title}</description></item>"
    )


# Each title would match the topic, but only once its zero-width characters are gone.
HOSTILE = (
    '<rss version="2.0"><channel><title>t</title>'
    + item("PBoC bans bit\u200bcoin OTC trading desks \u202egpj.exe", "javascript:alert(1)")
    + item("Shanghai police arrest bitcoin\u2066 miners\u2069 in Pudong", "tg://resolve?domain=x")
    + item("Binance\ufeff ads banned by the CSRC &#x202E;txt.exe", "data:text/html,<b>x</b>")
    + item(
        "Beijing court jails USDT\u200d\u200e\u200f\u061c\u2060 launderers", "https://n.example/ok"
    )
    + "</channel></rss>"
).encode()


def make_app(tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn) -> App:
    document = {
        "storage": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
        "telegram": {"api_base_url": standin.base_url},
        "polling": {"jitter": 0},
        "sources": [{"key": "hostile", "url": site.url("/feed")}],
    }
    return open_app(build_config(document, {"CRACKDOWN_TELEGRAM_TOKEN": TOKEN}))


def test_hostile_links_and_invisible_characters_never_reach_subscribers(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn
) -> None:
    site.pages["/feed"] = Page(HOSTILE)
    standin.add_user(CHAT, "Reader")
    app = make_app(tmp_path, site, standin)
    with app.db.session() as session:
        subscribers.subscribe(session, CHAT, topic="china-crypto-enforcement")

    async def go() -> None:
        async with make_client(app.policy) as client:
            await app.poller(client).poll(app.feeds())
        async with Bot(TOKEN, base_url=standin.base_url) as bot:
            await app.delivery_worker(bot).drain()

    asyncio.run(go())
    with app.db.session() as session:
        stored = {row.url: row.title for row in session.query(StoryRow)}
    # Items linking to javascript:, tg: or data: are dropped; the other is kept, cleaned.
    assert stored == {"https://n.example/ok": "Beijing court jails USDT launderers"}
    sent = standin.sent_messages(CHAT)
    assert len(sent) == 1  # it matched once its hidden characters were gone
    for message in sent:
        links = re.findall(r'href="([^"]*)"', message.text)
        assert links and all(link.startswith(("http://", "https://")) for link in links)
        assert not INVISIBLE.search(message.plain_text), message.plain_text
