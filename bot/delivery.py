"""Drain the outbox into Telegram.

Rows are claimed with a lease, sent one by one, and each outcome is written
back at once, so a crash repeats at most the sends in flight. A 429 pauses
all sending for `retry_after`; a chat that blocked the bot is deactivated
and its pending alerts skipped; other failures are retried with backoff.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from telegram import Bot, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.formatting import format_alert
from storage import outbox, subscribers
from storage.db import Database
from storage.records import Alert

log = logging.getLogger(__name__)

# Forbidden texts after which a chat will never accept messages again.
PERMANENT_FORBIDDEN = ("blocked by the user", "user is deactivated", "bot was kicked")


@dataclass(frozen=True)
class DeliverySettings:
    batch_size: int = 50
    max_attempts: int = 8
    lease: timedelta = timedelta(minutes=2)
    link_previews: bool = False
    base_backoff: float = 5.0
    max_backoff: float = 3600.0


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    rate_limited: int = 0


def _seconds(value: object) -> float:
    """RetryAfter.retry_after is an int today and a timedelta in later PTB versions."""
    return value.total_seconds() if isinstance(value, timedelta) else float(str(value))


class DeliveryWorker:
    """Sends due alerts through a PTB `Bot`; one per process."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        labels: Mapping[str, Mapping[str, str]],
        settings: DeliverySettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.bot = bot
        self.labels = labels
        self.settings = settings
        self.clock = clock
        self._paused_until = 0.0

    def _backoff(self, attempts: int) -> timedelta:
        delay = min(self.settings.max_backoff, self.settings.base_backoff * 2 ** (attempts - 1))
        return timedelta(seconds=delay * random.uniform(0.8, 1.2))

    async def drain(self) -> DeliveryReport:
        """Send every alert that is due now; return what happened."""
        report = DeliveryReport()
        while True:
            with self.db.session() as session:
                alerts = outbox.claim_due(
                    session, self.clock(), limit=self.settings.batch_size, lease=self.settings.lease
                )
            if not alerts:
                return report
            for alert in alerts:
                await self._send(alert, report)

    async def _send(self, alert: Alert, report: DeliveryReport) -> None:
        wait = self._paused_until - asyncio.get_running_loop().time()
        if wait > 0:
            await asyncio.sleep(wait)
        text = format_alert(alert, self.labels.get(alert.language) or self.labels.get("en", {}))
        try:
            message = await self.bot.send_message(
                chat_id=alert.chat_id,
                text=text,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(
                    is_disabled=not self.settings.link_previews
                ),
            )
        except RetryAfter as exc:
            pause = _seconds(exc.retry_after) + 0.5
            self._paused_until = asyncio.get_running_loop().time() + pause
            report.rate_limited += 1
            log.warning("telegram flood control: pausing sends for %.1fs", pause)
            self._retry(alert, f"429 retry after {pause:.1f}s", timedelta(seconds=pause), report)
        except Forbidden as exc:
            self._forbidden(alert, str(exc), report)
        except (BadRequest, NetworkError, TelegramError) as exc:
            # NetworkError covers timeouts and 5xx; BadRequest ("chat not found") may be transient.
            self._retry(
                alert, f"{type(exc).__name__}: {exc}", self._backoff(alert.attempts), report
            )
        else:
            with self.db.session() as session:
                outbox.mark_sent(session, alert.delivery_id, message.message_id, self.clock())
            report.sent += 1

    def _retry(self, alert: Alert, error: str, delay: timedelta, report: DeliveryReport) -> None:
        with self.db.session() as session:
            if alert.attempts >= self.settings.max_attempts:
                outbox.mark_final(session, alert.delivery_id, "failed", error)
                report.failed += 1
                log.error("alert %d to chat %d failed: %s", alert.delivery_id, alert.chat_id, error)
            else:
                outbox.mark_retry(session, alert.delivery_id, error, self.clock() + delay)
                report.retried += 1
                log.info(
                    "alert %d to chat %d will be retried: %s",
                    alert.delivery_id,
                    alert.chat_id,
                    error,
                )

    def _forbidden(self, alert: Alert, error: str, report: DeliveryReport) -> None:
        if not any(text in error.lower() for text in PERMANENT_FORBIDDEN):
            self._retry(alert, f"Forbidden: {error}", self._backoff(alert.attempts), report)
            return
        with self.db.session() as session:
            subscribers.deactivate(session, alert.chat_id, error)
        report.skipped += 1
        log.info("chat %d is gone (%s): deactivated", alert.chat_id, error)
