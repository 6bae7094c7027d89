"""One command as the handlers see it: who asked, where, in which language, with what."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from telegram import Bot, Chat, InlineKeyboardMarkup, LinkPreviewOptions, Message, User
from telegram.constants import ParseMode

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


@dataclass
class Deps:
    """What every command may use. `matcher` returns the current one (it is rebuilt)."""

    db: Database
    watchlist: Watchlist
    matcher: Callable[[], Matcher]
    settings: BotSettings
    labels: dict[str, dict[str, str]] = field(default_factory=dict)


@dataclass
class Request:
    """A command from a chat; `argument` is everything after the command, as typed."""

    bot: Bot
    chat: Chat
    user: User | None
    message: Message
    lang: str
    argument: str

    async def reply(
        self, key: str, /, markup: InlineKeyboardMarkup | None = None, **values: object
    ) -> None:
        """Answer with the text `key` in this chat's language, filled with `values`."""
        await self.message.reply_text(text(key, self.lang, **values), reply_markup=markup)

    async def reply_html(self, html: str, markup: InlineKeyboardMarkup | None = None) -> None:
        await self.message.reply_text(
            html,
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
            reply_markup=markup,
        )
