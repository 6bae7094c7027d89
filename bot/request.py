"""One command as the handlers see it: who asked, where, in which language, with what."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from telegram import Bot, Chat, InlineKeyboardMarkup, LinkPreviewOptions, Message, User
from telegram.constants import ParseMode

from bot.pacing import Limits, Pacer
from bot.replies import paced
from bot.texts import text
from crawler.matcher import Matcher
from crawler.watchlist import Watchlist
from storage.db import Database


@dataclass(frozen=True)
class BotSettings:
    """Limits and people, from the [telegram] config section."""

    default_topic: str
    admin_ids: frozenset[int] = frozenset()
    max_watches: int = 10
    max_query_length: int = 200
    commands_per_minute: int = 20
    latest_max: int = 20
    dry_run_window: timedelta = timedelta(days=7)
    dry_run_scan: int = 2000  # stories a /watch dry run checks at most (newest first)


@dataclass
class Deps:
    """What every command may use. `matcher` returns the current one (it is rebuilt).

    `pacer` is the delivery worker's: replies and alerts share Telegram's budget.
    """

    db: Database
    watchlist: Watchlist
    matcher: Callable[[], Matcher]
    settings: BotSettings
    labels: dict[str, dict[str, str]] = field(default_factory=dict)
    pacer: Pacer = field(default_factory=lambda: Pacer(Limits()))


@dataclass
class Request:
    """A command from a chat; `argument` is everything after the command, as typed."""

    bot: Bot
    chat: Chat
    user: User | None
    message: Message
    lang: str
    argument: str
    pacer: Pacer

    async def reply(
        self, key: str, /, markup: InlineKeyboardMarkup | None = None, **values: object
    ) -> None:
        """Answer with the text `key` in this chat's language, filled with `values`."""
        await self.reply_text(text(key, self.lang, **values), markup)

    async def reply_text(self, plain: str, markup: InlineKeyboardMarkup | None = None) -> None:
        """Answer with plain text, paced (see `bot.replies`)."""
        await paced(
            self.pacer, self.chat, lambda: self.message.reply_text(plain, reply_markup=markup)
        )

    async def reply_html(self, html: str, markup: InlineKeyboardMarkup | None = None) -> None:
        await paced(
            self.pacer,
            self.chat,
            lambda: self.message.reply_text(
                html,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
                reply_markup=markup,
            ),
        )
