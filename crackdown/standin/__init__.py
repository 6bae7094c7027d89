"""A local stand-in for the Telegram Bot API, spoken to by the unmodified PTB client.

Usage::

    with BotApiStandIn(token="123:ABC") as tg:
        tg.add_user(1001, "Ann")
        app = Application.builder().token("123:ABC").base_url(tg.base_url).build()
        tg.send_text(1001, "/start")
        await asyncio.to_thread(tg.wait_for_messages, 1, 1001)  # inside the bot's loop

Fault injection (flood limits, 5xx, migrations) hooks in via ``tg.state.interceptors``.
"""

from crackdown.standin.server import BotApiStandIn
from crackdown.standin.state import ApiError, SentMessage, SimUser

__all__ = ["ApiError", "BotApiStandIn", "SentMessage", "SimUser"]
