"""The daemon's link to the Bot API: connected or not, retried with backoff, never fatal.

Telegram being away (network down, 5xx, the token rejected) must not stop
the daemon polling, crawling, storing and queueing. `BotLink.run` connects
(getMe, the command menu, the PTB Application started) and, whenever a user
of the link reports a failure, probes with getMe until Telegram answers
again: one log line per failed try, no traceback. A rejected token (401/404)
is retried at a slow pace, as a new token needs a restart anyway but an
operator may fix a wrong `api_base_url` proxy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from telegram.error import (
    BadRequest,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application

from bot.handlers import publish_commands
from bot.retry_after import retry_after_seconds

log = logging.getLogger(__name__)


def describe(exc: BaseException) -> str:
    """One line for a Bot API failure; never the token (PTB puts it in InvalidToken's text)."""
    if isinstance(exc, InvalidToken | EndPointNotFound):  # EndPointNotFound: 401/404 later on
        return "telegram rejected the bot token (401/404)"
    if isinstance(exc, TelegramError):
        message = exc.message.splitlines()[0] if exc.message else ""
        return f"telegram unreachable ({type(exc).__name__}{': ' if message else ''}{message})"
    return f"telegram unreachable ({type(exc).__name__})"


@dataclass(frozen=True)
class Backoff:
    """Waits between tries: doubling from `first` to `most`; `rejected` after a 401/404."""

    first: float = 1.0
    most: float = 60.0
    rejected: float = 600.0


class BotLink:
    """Whether the Bot API answers now; `up` is set while it does."""

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        backoff: Backoff | None = None,
    ) -> None:
        self.application = application
        self.backoff = backoff or Backoff()
        self.up = asyncio.Event()
        self.tried = asyncio.Event()  # the first connection attempt ended, either way
        self._lost = asyncio.Event()
        self._started = False

    @property
    def started(self) -> bool:
        """The Application was started (so it must be stopped)."""
        return self._started

    def lost(self, exc: BaseException) -> None:
        """A send or a getUpdates failed as if Telegram were away: probe until it answers."""
        if not self.up.is_set():
            return
        self.up.clear()
        self._lost.set()
        log.warning("%s; alerts stay queued and commands wait until it answers", describe(exc))

    async def wait_up(self) -> None:
        await self.up.wait()

    async def run(self) -> None:
        """Connect, then reconnect after each reported loss, until cancelled."""
        delay = self.backoff.first
        recovering = False
        while True:
            if self.up.is_set():
                await self._lost.wait()
                self._lost.clear()
                recovering = True
                continue
            try:
                await self._probe()
            except (InvalidToken, EndPointNotFound):
                wait = self.backoff.rejected
                log.error(
                    "telegram rejected the bot token (401/404): check CRACKDOWN_TELEGRAM_TOKEN "
                    "or telegram.token_file (a new token needs a restart); polling and storing "
                    "go on, alerts stay queued; trying again in %.0fs",
                    wait,
                )
            except RetryAfter as exc:
                wait = max(delay, retry_seconds(exc.retry_after))
                log.warning("telegram: flood control at connect; trying again in %.0fs", wait)
            except TelegramError as exc:
                wait = delay
                delay = min(self.backoff.most, delay * 2)
                log.warning(
                    "%s; polling and storing go on, alerts stay queued; trying again in %.0fs",
                    describe(exc),
                    wait,
                )
            except Exception:  # a bug here must not end the link for good
                wait = self.backoff.rejected
                log.exception("telegram: connecting failed; trying again in %.0fs", wait)
            else:
                delay = self.backoff.first
                self.up.set()
                self.tried.set()
                bot = self.application.bot
                log.info(
                    "telegram %s as @%s",
                    "reachable again" if recovering else "connected",
                    bot.username,
                )
                continue
            self.tried.set()
            await asyncio.sleep(wait)

    async def _probe(self) -> None:
        application = self.application
        if self._started:
            await application.bot.get_me()
            return
        await application.initialize()  # getMe: checks the token
        try:
            await publish_commands(application.bot)
        except (BadRequest, Forbidden) as exc:  # the menu is a nicety: serve without it
            log.warning("telegram: the command menu was not published: %s", exc.message)
        await application.start()
        self._started = True

    async def close(self) -> None:
        """Stop the Application if it was started, and close its HTTP clients."""
        application = self.application
        with contextlib.suppress(Exception):
            if application.running:
                await application.stop()
        with contextlib.suppress(Exception):
            await application.shutdown()
        with contextlib.suppress(Exception):  # initialize() failed half-way: close the clients
            await application.bot.shutdown()


def retry_seconds(value: object) -> float:
    """RetryAfter.retry_after: an int, or a timedelta with PTB_TIMEDELTA (capped)."""
    return retry_after_seconds(value)
