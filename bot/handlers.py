"""Command handlers: thin, one job each; storage does the work."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, Update
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot.texts import COMMANDS, language_of, text
from storage import subscribers
from storage.db import Database

log = logging.getLogger(__name__)


class Handlers:
    """The bot's commands, bound to a database and the default topic."""

    def __init__(self, db: Database, default_topic: str) -> None:
        self.db = db
        self.default_topic = default_topic

    async def start(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Subscribe this chat to the default topic."""
        chat, message = update.effective_chat, update.effective_message
        if chat is None or message is None:
            return
        lang = language_of(update.effective_user.language_code if update.effective_user else None)
        with self.db.session() as session:
            added = subscribers.subscribe(
                session,
                chat.id,
                topic=self.default_topic,
                chat_type=chat.type,
                title=chat.title or chat.username,
                language=lang,
            )
        log.info("chat %d subscribed (new=%s)", chat.id, added)
        await message.reply_text(text("welcome" if added else "already", lang))

    async def stop(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Unsubscribe this chat; pending alerts to it are skipped."""
        chat, message = update.effective_chat, update.effective_message
        if chat is None or message is None:
            return
        lang = language_of(update.effective_user.language_code if update.effective_user else None)
        with self.db.session() as session:
            was = subscribers.unsubscribe(session, chat.id)
        log.info("chat %d unsubscribed (was subscribed=%s)", chat.id, was)
        await message.reply_text(text("stopped" if was else "not_subscribed", lang))

    async def help(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """List the commands."""
        if update.effective_message is None:
            return
        lang = language_of(update.effective_user.language_code if update.effective_user else None)
        await update.effective_message.reply_text(text("help", lang))

    async def unknown(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """Any other command or private text gets a hint, never silence."""
        if update.effective_message is None:
            return
        lang = language_of(update.effective_user.language_code if update.effective_user else None)
        await update.effective_message.reply_text(text("unknown", lang))

    def register(self, application: Application) -> None:  # type: ignore[type-arg]
        application.add_handler(CommandHandler("start", self.start))
        application.add_handler(CommandHandler("stop", self.stop))
        application.add_handler(CommandHandler("help", self.help))
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
