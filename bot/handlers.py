"""Wiring commands to python-telegram-bot, with the checks every command shares.

Each command is a plain coroutine `(Deps, Request) -> None` in a small module
(`subscriptions`, `reading`, `operators`). Here they get: a per-chat flood
limit (a flooding chat is ignored, the bot serves everyone else), the
chat's language, the group-admin rule for commands that change what a group
follows, and the operator rule (anyone else gets the unknown-command reply).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Bot, BotCommand, Update, User
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot import operators, preferences, reading, search, subscriptions, timeline
from bot.guard import CommandGuard, may_change
from bot.request import Deps, Request
from bot.texts import COMMANDS, language_of, text
from storage import subscribers

log = logging.getLogger(__name__)

Command = Callable[[Deps, Request], Awaitable[None]]

# name -> (coroutine, changes what the chat follows)
USER_COMMANDS: dict[str, tuple[Command, bool]] = {
    "start": (subscriptions.start, True),
    "stop": (subscriptions.stop, True),
    "topics": (subscriptions.topics, False),  # taps are checked in topic_button
    "follow": (subscriptions.follow, True),
    "unfollow": (subscriptions.unfollow, True),
    "watch": (subscriptions.watch, True),
    "unwatch": (subscriptions.unwatch, True),
    "list": (subscriptions.show_list, False),
    "lang": (subscriptions.set_lang, True),
    "latest": (reading.latest, False),
    "search": (search.search, False),
    "timeline": (timeline.timeline, False),
    "mute": (preferences.mute, True),
    "unmute": (preferences.unmute, True),
    "quiet": (preferences.quiet, True),
    "tz": (preferences.set_timezone, True),
    "digest": (preferences.digest, True),
    "everysource": (preferences.every_source, True),
    "settings": (preferences.settings, False),
}
OPERATOR_COMMANDS: dict[str, Command] = {
    "stats": operators.stats,
    "sources": operators.sources,
    "pause": operators.pause,
    "resume": operators.resume,
    "broadcast": operators.broadcast,
}


class Handlers:
    """The bot's commands bound to their dependencies."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.guard = CommandGuard(deps.settings.commands_per_minute)

    def _lang(self, chat_id: int, user: User | None) -> str:
        with self.deps.db.session() as session:
            stored = subscribers.language(session, chat_id)
        return stored or language_of(user.language_code if user else None)

    def _request(self, update: Update, bot: Bot) -> Request | None:
        chat, message = update.effective_chat, update.effective_message
        if chat is None or message is None or not self.guard.allow(chat.id):
            return None
        parts = (message.text or "").split(maxsplit=1)
        return Request(
            bot=bot,
            chat=chat,
            user=update.effective_user,
            message=message,
            lang=self._lang(chat.id, update.effective_user),
            argument=parts[1].strip() if len(parts) > 1 else "",
        )

    def command(
        self, func: Command, *, changes: bool = False, operator: bool = False
    ) -> Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]:
        async def handle(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            request = self._request(update, context.bot)
            if request is None:
                return
            if operator and (
                request.user is None or request.user.id not in self.deps.settings.admin_ids
            ):
                await request.reply("unknown")
                return
            if changes and not await may_change(context.bot, request.chat, request.user):
                await request.reply("admins_only")
                return
            await func(self.deps, request)

        handle.__name__ = func.__name__
        return handle

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        request = self._request(update, context.bot)
        if request is not None:
            await request.reply("help")

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any other command, or text in a private chat, gets a hint, never silence."""
        request = self._request(update, context.bot)
        if request is None:
            return
        message = request.message.text or ""
        if message.startswith("/"):
            await request.reply("unknown")
        else:  # free text in a private chat: what they may have meant
            await request.reply("free_text", words=" ".join(message.split()[:6])[:60])

    async def topic_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A tap on a /topics button: toggle that topic, redraw the keyboard."""
        query = update.callback_query
        chat = update.effective_chat
        if query is None or chat is None or query.data is None:
            return
        if not self.guard.allow(chat.id):
            await query.answer()
            return
        lang = self._lang(chat.id, query.from_user)
        if not await may_change(context.bot, chat, query.from_user):
            await query.answer(text("admins_only", lang), show_alert=True)
            return
        request = Request(context.bot, chat, query.from_user, query.message, lang, "")  # type: ignore[arg-type]
        key = query.data.removeprefix(subscriptions.TOPIC_BUTTON)
        now_following = subscriptions.toggle_topic(self.deps, request, key)
        if now_following is None:
            await query.answer()
            return
        followed = subscriptions.followed_topics(self.deps, chat.id)
        await query.edit_message_reply_markup(
            subscriptions.topics_keyboard(self.deps, followed, lang)
        )
        await query.answer("✅" if now_following else "◻️")

    async def search_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A tap on a /search page button; anyone in the chat may page (it only reads)."""
        query, chat = update.callback_query, update.effective_chat
        if query is None or chat is None:
            return
        if not self.guard.allow(chat.id):
            await query.answer()
            return
        await search.turn_page(self.deps, update, self._lang(chat.id, query.from_user))

    def register(self, application: Application) -> None:  # type: ignore[type-arg]
        for name, (func, changes) in USER_COMMANDS.items():
            application.add_handler(CommandHandler(name, self.command(func, changes=changes)))
        for name, func in OPERATOR_COMMANDS.items():
            application.add_handler(CommandHandler(name, self.command(func, operator=True)))
        application.add_handler(CommandHandler("help", self.help))
        application.add_handler(
            CallbackQueryHandler(self.topic_button, pattern=f"^{subscriptions.TOPIC_BUTTON}")
        )
        application.add_handler(
            CallbackQueryHandler(self.search_button, pattern=f"^{search.SEARCH_BUTTON}")
        )
        application.add_handler(
            MessageHandler(
                filters.COMMAND | (filters.TEXT & filters.ChatType.PRIVATE), self.unknown
            )
        )
        application.add_error_handler(_on_error)


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log a handler failure with its exception; the bot keeps serving others."""
    log.error(
        "handler failed for update %s", getattr(update, "update_id", "?"), exc_info=context.error
    )


async def publish_commands(bot: Bot) -> None:
    """Register the command menu in English (default) and Chinese."""
    for lang, commands in COMMANDS.items():
        await bot.set_my_commands(
            [BotCommand(name, description) for name, description in commands],
            language_code=None if lang == "en" else lang,
        )
