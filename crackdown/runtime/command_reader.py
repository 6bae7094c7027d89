"""Read the bot's commands (getUpdates long polling) while the Bot API answers.

Replaces PTB's Updater, whose retry loop logs a full traceback per failed
getUpdates and sleeps through a shutdown: here a failure is reported to the
`BotLink` (one line, then getMe probes with backoff) and reading resumes as
soon as Telegram answers. Updates go to the Application's queue, which its
handlers serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Update
from telegram.error import (
    EndPointNotFound,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import Application

from bot.delivery import INVALID_RESPONSE
from crackdown.runtime.botlink import BotLink, describe, retry_seconds

log = logging.getLogger(__name__)


class CommandReader:
    """One long-polling task; `start` and `stop` follow the command leadership."""

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        link: BotLink,
        poll_timeout: float,
    ) -> None:
        self.application = application
        self.link = link
        self.poll_timeout = poll_timeout
        self._offset: int | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._read(), name="read-commands")

    async def stop(self, confirm_within: float = 3.0) -> None:
        """Stop reading; confirm the updates already queued, if Telegram answers quickly."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        if self._offset is None or not self.link.up.is_set():
            return
        try:
            await asyncio.wait_for(
                self.application.bot.get_updates(offset=self._offset, timeout=0), confirm_within
            )
        except (TelegramError, TimeoutError) as exc:
            log.info("commands read last may be read again at the next start: %s", describe(exc))

    async def _read(self) -> None:
        bot = self.application.bot
        pause = 1.0
        while True:
            await self.link.wait_up()
            try:
                updates = await bot.get_updates(
                    offset=self._offset,
                    timeout=int(self.poll_timeout),
                    allowed_updates=Update.ALL_TYPES,
                )
            except RetryAfter as exc:
                await asyncio.sleep(retry_seconds(exc.retry_after))
                continue
            except (NetworkError, InvalidToken, EndPointNotFound) as exc:  # 5xx, 401/404...
                self.link.lost(exc)
                continue
            except TelegramError as exc:  # 409 (another reader) and the like: not an outage
                if exc.message == INVALID_RESPONSE:  # a portal's or proxy's page: Telegram away
                    self.link.lost(exc)
                    continue
                log.warning(
                    "reading commands: %s: %s; trying again in %.0fs",
                    type(exc).__name__,
                    exc.message,
                    pause,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 60.0)
                continue
            except Exception as exc:  # a bug or a relay's answer must not end command reading
                log.warning(  # the type only: a text may carry the URL, and the token in it
                    "reading commands: unexpected %s; trying again in %.0fs",
                    type(exc).__name__,
                    pause,
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 60.0)
                continue
            pause = 1.0
            for update in updates:
                await self.application.update_queue.put(update)
            if updates:
                self._offset = updates[-1].update_id + 1
