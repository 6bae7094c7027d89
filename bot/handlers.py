"""Wiring commands to python-telegram-bot, with the checks every command shares.

Each command is a plain coroutine `(Deps, Request) -> None` in a small module
(`subscriptions`, `reading`, `operators`). Here they get: a flood limit per
conversation (a private chat, or one member of a group: a flooder is ignored,
the bot serves everyone else), the
chat's language, the group-admin rule for commands that change what a group
follows, and the operator rule (anyone else gets the unknown-command reply).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import DBAPIError
from telegram import Bot, BotCommand, Message, Update, User
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
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
from bot.replies import paced
from bot.request import Deps, Request
from bot.texts import COMMANDS, language_of, text
from bot.updates import conversation
from storage import subscribers
from storage.db import database_error

log = logging.getLogger(__name__)

Command = Callable[[Deps, Request], Awaitable[None]]

# New messages only: an edit is not a new command, nor is a forward of someone's
# message, and channel posts are not for us.
NEW_MESSAGES = filters.UpdateType.MESSAGE & ~filters.FORWARDED

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
        try:
            with self.deps.db.session() as session:
                stored = subscribers.language(session, chat_id)
        except DBAPIError:  # the command will say the database is busy, in the user's language
            stored = None
        return stored or language_of(user.language_code if user else None)

    def _request(self, update: Update, bot: Bot) -> Request | None:
        chat, message = update.effective_chat, update.effective_message
        if chat is None or message is None or not self.guard.allow(conversation(update)):
            return None
        parts = (message.text or "").split(maxsplit=1)
        return Request(
            bot=bot,
            chat=chat,
            user=update.effective_user,
            message=message,
            lang=self._lang(chat.id, update.effective_user),
            argument=parts[1].strip() if len(parts) > 1 else "",
            pacer=self.deps.pacer,
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
            try:
                await func(self.deps, request)
            except DBAPIError as exc:
                # Locked by another process, a full disk, a server restarting: the update is
                # consumed, so without a word the user's /start would be lost in silence.
                log.error(
                    "/%s in chat %d not done: database error (%s); asked to send it again",
                    func.__name__,
                    request.chat.id,
                    database_error(exc),
                )
                await request.reply("busy")

        handle.__name__ = func.__name__
        return handle

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        request = self._request(update, context.bot)
        if request is not None:
            await request.reply("help")

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any other command, or text in a private chat, gets a hint, never silence.

        A command addressed to another bot (`/start@other_bot` in a group) is not ours.
        """
        message = update.effective_message
        if message is not None and for_another_bot(message, context.bot.username):
            return
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
        if not self.guard.allow(conversation(update)):
            await query.answer()
            return
        lang = self._lang(chat.id, query.from_user)
        if not await may_change(context.bot, chat, query.from_user):
            await query.answer(text("admins_only", lang), show_alert=True)
            return
        request = Request(
            context.bot,
            chat,
            query.from_user,
            query.message,  # type: ignore[arg-type]
            lang,
            "",
            self.deps.pacer,
        )
        key = query.data.removeprefix(subscriptions.TOPIC_BUTTON)
        now_following = subscriptions.toggle_topic(self.deps, request, key)
        if now_following is None:
            await query.answer()
            return
        followed = subscriptions.followed_topics(self.deps, chat.id)
        keyboard = subscriptions.topics_keyboard(self.deps, followed, lang)
        await paced(self.deps.pacer, chat, lambda: query.edit_message_reply_markup(keyboard))
        await query.answer("✅" if now_following else "◻️")

    async def search_button(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A tap on a /search page button; anyone in the chat may page (it only reads)."""
        query, chat = update.callback_query, update.effective_chat
        if query is None or chat is None:
            return
        if not self.guard.allow(conversation(update)):
            await query.answer()
            return
        await search.turn_page(self.deps, update, self._lang(chat.id, query.from_user))

    async def other_button(self, update: Update, _: ContextTypes.DEFAULT_TYPE) -> None:
        """Button data we never sent (forged, or from an older version): stop the spinner."""
        if update.callback_query is not None:
            await update.callback_query.answer()

    def register(self, application: Application) -> None:  # type: ignore[type-arg]
        for name, (func, changes) in USER_COMMANDS.items():
            handler = self.command(func, changes=changes)
            application.add_handler(CommandHandler(name, handler, filters=NEW_MESSAGES))
        for name, func in OPERATOR_COMMANDS.items():
            handler = self.command(func, operator=True)
            application.add_handler(CommandHandler(name, handler, filters=NEW_MESSAGES))
        application.add_handler(CommandHandler("help", self.help, filters=NEW_MESSAGES))
        application.add_handler(
            CallbackQueryHandler(self.topic_button, pattern=f"^{subscriptions.TOPIC_BUTTON}")
        )
        application.add_handler(
            CallbackQueryHandler(self.search_button, pattern=f"^{search.SEARCH_BUTTON}")
        )
        application.add_handler(CallbackQueryHandler(self.other_button))
        application.add_handler(
            MessageHandler(
                NEW_MESSAGES & (filters.COMMAND | (filters.TEXT & filters.ChatType.PRIVATE)),
                self.unknown,
            )
        )
        application.add_error_handler(_on_error)


def for_another_bot(message: Message, username: str) -> bool:
    """Whether the message's command names a bot (`/cmd@name`) other than `username`."""
    first = (message.text or "").split(maxsplit=1)
    command = first[0] if first else ""
    name = command.partition("@")[2]
    return command.startswith("/") and bool(name) and name.lower() != username.lower()


async def _on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log a handler failure with its exception; the bot keeps serving others.

    Telegram away (5xx, timeouts, refused, the token rejected) is one line, not a traceback.
    """
    update_id = getattr(update, "update_id", "?")
    error = context.error
    if isinstance(error, InvalidToken):  # PTB may put the token in its text: never shown
        log.warning("update %s: no reply, telegram rejected the bot token", update_id)
    elif isinstance(error, Forbidden | BadRequest):  # this chat refused (blocked, gone)
        log.warning("update %s: no reply (%s): %s", update_id, type(error).__name__, error.message)
    elif isinstance(error, RetryAfter):  # this chat's flood ban (bot.replies)
        log.warning("update %s: no reply, telegram flood control: %s", update_id, error.message)
    elif isinstance(error, NetworkError):
        log.warning(
            "update %s: no reply, telegram unreachable (%s: %s)",
            update_id,
            type(error).__name__,
            error.message,
        )
    else:
        log.error("handler failed for update %s", update_id, exc_info=error)


async def publish_commands(bot: Bot) -> None:
    """Register the command menu in English (default) and Chinese."""
    for lang, commands in COMMANDS.items():
        await bot.set_my_commands(
            [BotCommand(name, description) for name, description in commands],
            language_code=None if lang == "en" else lang,
        )
