"""A local stand-in for the Telegram Bot API, spoken to by the unmodified PTB client.

Usage::

    with BotApiStandIn(token="123:ABC") as tg:
        tg.add_user(1001, "Ann")
        app = Application.builder().token("123:ABC").base_url(tg.base_url).build()
        tg.send_text(1001, "/start")
        await asyncio.to_thread(tg.wait_for_messages, 1, 1001)  # inside the bot's loop

Telegram's flood limits: ``tg.enforce_limits(FloodLimits())`` (429 with retry_after and a
penalty window). Faults on demand: ``tg.inject_faults(error_rate=0.1)``, ``fail_next``,
``tg.migrate_group``, ``tg.deactivate_user``, ``tg.kick_bot``, ``tg.block``. Both are
interceptors in ``tg.state.interceptors``, as is ``Outage`` (every method fails);
``tg.summary()`` counts what happened. Over HTTP, the manual routes under ``/_sim/``
(``manual.py``) let a person do the same with curl.
"""

from crackdown.standin.faults import Faults, Outage
from crackdown.standin.limits import FloodControl, FloodLimits
from crackdown.standin.server import BotApiStandIn
from crackdown.standin.state import ApiError, SentMessage, SimUser

__all__ = [
    "ApiError",
    "BotApiStandIn",
    "Faults",
    "FloodControl",
    "FloodLimits",
    "Outage",
    "SentMessage",
    "SimUser",
]
