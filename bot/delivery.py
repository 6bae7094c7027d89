"""Drain the outbox into Telegram at Telegram's limits, losing nothing.

Rows are claimed with a lease (each the head of its chat's queue), paced by
`bot.pacing`, sent a few at a time, and each outcome is written back at
once, so a crash repeats at most the sends in flight. What each Bot API
answer leads to:

- 429: pause all sending for retry_after plus a margin, at most
  `flood_pause_max` (a long one is one chat's: the others go on after that);
  the row, and so its chat, waits the whole time, no attempt used.
- 5xx, timeouts, network errors: retry with exponential backoff and jitter,
  up to `max_attempts`. After `unreachable_after` of them in a row (or a
  rejected token) `on_unreachable` is told and the drain stops claiming
  rows until `connected()` says Telegram answers again.
- 403 "blocked by the user" / "user is deactivated": the chat is deactivated
  at once and its open rows skipped. Other 403s, "chat not found" and a group
  that took the bot's right to post ("not enough rights"): retried, and the
  same after `deactivate_after` such failures in a row.
- migrate_to_chat_id: follow the group to its new id and resend.
- "can't parse entities": resend that part once as plain text.
- "message is too long" (Telegram counted more than we did): send that part in halves.
- Any other 400: the row fails (sending it again would fail again).

A message Telegram took is never sent again because the database would not
record it (locked past the busy timeout, full, restarting): the worker keeps
the record and writes it before anything else, and no claim picks the row.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import DBAPIError
from telegram import Bot, LinkPreviewOptions, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)

from bot.digest import format_digest, last_boundary, next_boundary
from bot.formatting import format_alert, with_also_reported
from bot.hold import hold_until
from bot.pacing import Limits, Pacer
from bot.retry_after import FLOOD_PAUSE_MAX, retry_after_seconds
from bot.splitting import split_html, split_plain, telegram_length, to_plain_text
from storage import outbox, subscribers
from storage.db import Database, database_error
from storage.records import Alert

log = logging.getLogger(__name__)

# Forbidden texts after which a chat will never accept messages again.
PERMANENT_FORBIDDEN = ("blocked by the user", "user is deactivated")
# Errors that may mean the chat is gone, or may pass (a group being recreated, admins who
# took the bot's right to post and may give it back).
CHAT_MISSING = (
    "chat not found",
    "chat_id is empty",
    "peer_id_invalid",
    "not enough rights",
    "have no rights",
    "need administrator rights",
    "chat_write_forbidden",
    "chat_restricted",
)
# PTB's error for an answer that is not JSON with a 2xx status (a captive portal, a proxy's
# page): not Telegram refusing this message, so handled as Telegram being away.
INVALID_RESPONSE = "Invalid server response"
# A part Telegram calls too long although we measured it within the limit is sent in halves;
# one shorter than this it calls too long for some other reason, and the row fails.
TOO_LONG = "message is too long"
MIN_PIECE = 64


@dataclass(frozen=True)
class DeliverySettings:
    batch_size: int = 50
    concurrency: int = 8
    max_attempts: int = 8
    lease: timedelta = timedelta(minutes=2)
    link_previews: bool = False
    base_backoff: float = 5.0
    max_backoff: float = 3600.0
    pause_margin: float = 0.5
    flood_pause_max: float = FLOOD_PAUSE_MAX  # one 429 pauses every chat this long at most
    deactivate_after: int = 5
    linger: float = 2.0
    unreachable_after: int = 3
    limits: Limits = field(default_factory=Limits)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    rate_limited: int = 0
    deferred: int = 0
    held: int = 0  # muted or in quiet hours: handed back until then
    migrated: int = 0
    plain_text_fallbacks: int = 0
    edited: int = 0  # sent alerts updated with another source of the same event

    def __bool__(self) -> bool:
        return any(vars(self).values())


@dataclass(frozen=True)
class _Sent:
    """A message Telegram took, to be recorded as sent (with the digest rows inside it)."""

    alert: Alert
    batch: tuple[int, ...]
    message_id: int | None
    parts: int
    at: datetime


class DeliveryWorker:
    """Sends due alerts through a PTB `Bot`; one per process, its pacer shared across drains."""

    def __init__(
        self,
        db: Database,
        bot: Bot,
        labels: Mapping[str, Mapping[str, str]],
        settings: DeliverySettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        pacer: Pacer | None = None,
    ) -> None:
        """`pacer`: the one the command handlers' replies also take their slots from."""
        self.db = db
        self.bot = bot
        self.labels = labels
        self.settings = settings
        self.clock = clock
        self.pacer = pacer or Pacer(settings.limits)
        self._seeded = False
        self._stopping = False
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        # Set by the daemon: whether the Bot API answers, and whom to tell when it seems not to.
        self.connected: Callable[[], bool] = lambda: True
        self.on_unreachable: Callable[[TelegramError], None] | None = None
        self._network_failures = 0
        # Per claim: each story's other sources, and its message per (story, language, zone).
        self._others: dict[int, list[tuple[str, str]]] = {}
        self._rendered: dict[tuple[int | None, str, str], list[str]] = {}
        # Sent, but the database refused the record: written before anything else is sent.
        self._unrecorded: dict[int, _Sent] = {}

    def stop(self) -> None:
        """Claim nothing more: a drain running now returns once its sends in flight end."""
        self._stopping = True

    def abort(self) -> int:
        """Cancel the sends in flight (shutdown deadline); their rows go back to the queue."""
        for task in self._in_flight.values():
            task.cancel()
        return len(self._in_flight)

    def _backoff(self, attempts: int) -> timedelta:
        delay = min(self.settings.max_backoff, self.settings.base_backoff * 2 ** (attempts - 1))
        return timedelta(seconds=delay * random.uniform(0.8, 1.2))

    async def drain(self) -> DeliveryReport:
        """Send every alert that is due (or due within `linger`); return what happened."""
        report = DeliveryReport()
        if not self._seeded:
            self._seed_pacer()
        in_flight = self._in_flight = {}
        slots = asyncio.Semaphore(self.settings.concurrency)
        try:
            while not self._stopping and self.connected():
                self._record_unrecorded()
                with self.db.session() as session:
                    alerts = outbox.claim_due(
                        session,
                        self.clock(),
                        limit=self.settings.batch_size,
                        lease=self.settings.lease,
                        exclude=in_flight.keys() | self._unrecorded.keys(),
                    )
                    # A story fans out to thousands of chats: its other sources are read, and
                    # its message rendered, once a claim rather than once a chat. A source
                    # reported after the claim reaches the chat as an edit, queued behind.
                    self._others = outbox.also_reported_for(session, alerts)
                self._rendered = {}
                if alerts:
                    await self._dispatch(alerts, in_flight, slots, report)
                elif in_flight:
                    await asyncio.wait(in_flight.values(), return_when=asyncio.FIRST_COMPLETED)
                elif not await self._linger():
                    return report
            return report
        finally:
            if in_flight:  # cancelled (shutdown): let the sends in flight record their outcome
                await asyncio.gather(*in_flight.values(), return_exceptions=True)
            self._record_unrecorded()

    def _record(self, sent: _Sent) -> None:
        with self.db.transaction() as connection:
            outbox.mark_sent(connection, sent.alert, sent.message_id, sent.at, sent.parts)
            outbox.mark_batch_sent(connection, sent.batch, sent.message_id, sent.at)

    def _record_sent(self, sent: _Sent) -> None:
        """Record a sent message; if the database refuses, keep it to record later."""
        try:
            self._record(sent)
        except DBAPIError as exc:
            self._unrecorded[sent.alert.delivery_id] = sent
            log.error(
                "alert %d to chat %d was sent but could not be recorded (%s); it will not be"
                " sent again, its record is written when the database takes it",
                sent.alert.delivery_id,
                sent.alert.chat_id,
                database_error(exc),
            )

    def _record_unrecorded(self) -> None:
        """Write the records the database refused before; keep those it still refuses."""
        for delivery_id, sent in list(self._unrecorded.items()):
            try:
                self._record(sent)
            except DBAPIError:
                return
            del self._unrecorded[delivery_id]
            log.info("alert %d to chat %d recorded as sent", delivery_id, sent.alert.chat_id)

    def _seed_pacer(self) -> None:
        """Load the last minute of sends, so a restart does not burst past Telegram's windows."""
        now = self.clock()
        with self.db.session() as session:
            sends = outbox.recent_sends(session, now - timedelta(seconds=61))
        self.pacer.seed(
            [(chat, kind, (now - sent_at).total_seconds()) for chat, kind, sent_at in sends]
        )
        self._seeded = True

    async def _linger(self) -> bool:
        """Sleep until the next row is due if that is soon; False when there is nothing soon."""
        with self.db.session() as session:
            due = outbox.next_due(session)
        if due is None:
            return False
        wait = (due - self.clock()).total_seconds()
        if wait > self.settings.linger:
            return False
        await asyncio.sleep(max(wait, 0.01))
        return True

    async def _dispatch(
        self,
        alerts: list[Alert],
        in_flight: dict[int, asyncio.Task[None]],
        slots: asyncio.Semaphore,
        report: DeliveryReport,
    ) -> None:
        """Start a send for each claimed row as the limits allow; hand back what must wait."""
        for index, alert in enumerate(alerts):
            # An edit makes no sound: it is not held for mute, quiet hours or a digest.
            silent = alert.edit_of is not None
            held = (
                None
                if silent
                else hold_until(self.clock(), alert.timezone, alert.muted_until, alert.quiet)
            )
            if held is not None:  # muted or quiet hours: the alert waits for its reader
                muted = alert.muted_until is not None and alert.muted_until >= held
                until = f"{held.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
                why = f"{'muted' if muted else 'quiet hours'} until {until}"
                with self.db.session() as session:
                    outbox.defer(session, alert.delivery_id, held, why)
                report.held += 1
                continue
            if not silent and alert.digest != "off" and alert.created_at is not None:
                slot = next_boundary(
                    alert.created_at, alert.digest, alert.digest_at, alert.timezone
                )
                if slot > self.clock():  # collected for the chat's next digest
                    when = f"{alert.digest} digest at {slot.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
                    with self.db.session() as session:
                        outbox.defer(session, alert.delivery_id, slot, when)
                    report.held += 1
                    continue
            chat_wait = self.pacer.chat_wait(alert.chat_id, alert.chat_type)
            pause = self.pacer.paused_for()
            if chat_wait > 0 or pause > 1.0:
                # Give the row back rather than hold its lease: the chat (or, after a 429,
                # everyone) must wait, and other chats' rows should not wait behind it.
                until = self.clock() + timedelta(seconds=max(chat_wait, pause))
                rest = alerts[index:] if pause > 1.0 else [alert]
                with self.db.session() as session:
                    for row in rest:
                        outbox.defer(session, row.delivery_id, until)
                report.deferred += len(rest)
                if pause > 1.0:
                    return
                continue
            try:
                await slots.acquire()
            except asyncio.CancelledError:  # shutdown: rows not started go back to the queue
                with self.db.session() as session:
                    outbox.release(session, [row.delivery_id for row in alerts[index:]])
                raise
            task = asyncio.create_task(self._deliver(alert, report))
            in_flight[alert.delivery_id] = task

            def finished(_: asyncio.Task[None], delivery_id: int = alert.delivery_id) -> None:
                in_flight.pop(delivery_id, None)
                slots.release()

            task.add_done_callback(finished)

    def _compose(self, alert: Alert) -> tuple[list[str], list[Alert]]:
        """The message parts for a row; for a digest chat, with the rows it collects."""
        labels = self.labels.get(alert.language) or self.labels.get("en", {})
        if alert.digest == "off":
            # What a story's message depends on besides the story: the chat's language
            # (labels) and time zone (the time shown).
            key = (alert.story_id, alert.language, alert.timezone)
            parts = self._rendered.get(key) if alert.story_id is not None else None
            if parts is None:
                parts = split_html(self._render(alert, labels))
                if alert.story_id is not None:
                    self._rendered[key] = parts
            return parts, []
        now = self.clock()
        cutoff = last_boundary(now, alert.digest, alert.digest_at, alert.timezone)
        with self.db.session() as session:
            batch = outbox.claim_chat(
                session,
                alert.subscriber_id,
                now,
                lease=self.settings.lease,
                created_before=cutoff,
                exclude=(alert.delivery_id,),
            )
        html = format_digest([alert, *batch], labels, alert.language, alert.timezone)
        return split_html(html), batch

    def _render(self, alert: Alert, labels: Mapping[str, str], *, fresh: bool = False) -> str:
        """An alert as sent, with the other sources of its event known at the claim.

        `fresh`: known now (an edit exists because a source was reported since).
        """
        message = format_alert(alert, labels)
        if alert.story_id is None:
            return message
        others = None if fresh else self._others.get(alert.story_id)
        if others is None:
            with self.db.session() as session:
                others = outbox.also_reported(session, alert.story_id)
        return with_also_reported(message, others, alert.language, labels)

    async def _edit(self, alert: Alert, report: DeliveryReport) -> None:
        """Update a sent alert with the sources that reported its event since.

        Only a single-message alert that was sent is edited; anything else
        (failed, skipped, split, gone) ends the row as skipped with the reason.
        A failed edit is failed: nothing new is sent in its place.
        """
        assert alert.edit_of is not None
        with self.db.session() as session:
            target = outbox.edit_target(session, alert.edit_of)
        reason = None
        if target is None:
            reason = "the alert it updates is gone"
        elif target.status != "sent" or target.message_id is None:
            reason = f"the alert it updates was not sent ({target.status})"
        elif target.parts_sent > 1:
            reason = "the alert it updates was split into several messages"
        if reason is not None or target is None:
            with self.db.session() as session:
                outbox.mark_final(session, alert.delivery_id, "skipped", reason, self.clock())
            report.skipped += 1
            return
        labels = self.labels.get(alert.language) or self.labels.get("en", {})
        html = self._render(target.alert, labels, fresh=True)
        await self.pacer.acquire(alert.chat_id, alert.chat_type)  # edits count like sends
        try:
            await self.bot.edit_message_text(
                html,
                chat_id=alert.chat_id,
                message_id=target.message_id,
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(
                    is_disabled=not self.settings.link_previews
                ),
            )
        except BadRequest as exc:
            if "not modified" not in exc.message.lower():  # already says it: done
                raise
        with self.db.session() as session:
            outbox.mark_sent(session, alert, target.message_id, self.clock(), 1)
        report.edited += 1

    async def _deliver(self, alert: Alert, report: DeliveryReport) -> None:
        """Send one row (all its parts) and record the outcome; never raises."""
        batch: list[Alert] = []
        delivered = False
        try:
            if alert.edit_of is not None:
                await self._edit(alert, report)
                return
            parts, batch = self._compose(alert)
            first_id: int | None = None
            for index in range(alert.parts_sent, len(parts)):
                # Taken right before the request, so the time we count is close to the time
                # Telegram counts.
                await self.pacer.acquire(alert.chat_id, alert.chat_type)
                message = await self._send_part(alert, parts[index], report)
                if index == 0:
                    first_id = message.message_id
                if index + 1 < len(parts):
                    self._record_part(alert, index + 1, first_id)
            delivered = True  # Telegram has it: from here on, never sent again
            self._network_failures = 0
            report.sent += 1 + len(batch)
            batch_ids = tuple(row.delivery_id for row in batch)
            self._record_sent(_Sent(alert, batch_ids, first_id, len(parts), self.clock()))
        except RetryAfter as exc:
            pause = retry_after_seconds(exc.retry_after) + self.settings.pause_margin
            everyone = min(pause, self.settings.flood_pause_max)
            self.pacer.pause(everyone)
            report.rate_limited += 1
            if everyone < pause:
                log.warning(
                    "telegram flood control: chat %d waits %.0fs, all sends pause %.1fs",
                    alert.chat_id,
                    pause,
                    everyone,
                )
            else:
                log.warning("telegram flood control: pausing all sends for %.1fs", pause)
            with self.db.session() as session:
                outbox.mark_retry(
                    session,
                    alert.delivery_id,
                    f"429: retry after {pause:.1f}s",
                    self.clock() + timedelta(seconds=pause),
                    throttled=True,
                )
        except ChatMigrated as exc:
            self._migrated(alert, int(exc.new_chat_id), report)
        except Forbidden as exc:
            if any(text in exc.message.lower() for text in PERMANENT_FORBIDDEN):
                self._chat_gone(alert, exc.message, report)
            else:
                self._chat_failed(alert, f"Forbidden: {exc.message}", report)
        except BadRequest as exc:
            if any(text in exc.message.lower() for text in CHAT_MISSING):
                self._chat_failed(alert, f"Bad Request: {exc.message}", report)
            else:
                self._fail(alert, f"Bad Request: {exc.message}", report)
        except (InvalidToken, EndPointNotFound) as exc:  # 401/404; PTB's text may hold the token
            self._retry(alert, "InvalidToken: the bot token was rejected (401/404)", report)
            self._unreachable(exc, at_once=True)
        except NetworkError as exc:  # TimedOut, 5xx, connection refused
            self._retry(alert, f"{type(exc).__name__}: {exc.message}", report)
            self._unreachable(exc)
        except TelegramError as exc:
            self._retry(alert, f"{type(exc).__name__}: {exc.message}", report)
            if exc.message == INVALID_RESPONSE:  # not the Bot API answering: a proxy, a portal
                self._unreachable(exc)
        except Exception as exc:  # a bug must not stop delivery to everyone else
            log.exception(
                "unexpected error delivering %d to chat %d", alert.delivery_id, alert.chat_id
            )
            self._retry(alert, f"{type(exc).__name__}: {exc}", report)
        except asyncio.CancelledError:  # the shutdown deadline: back to the queue, sent next start
            with self.db.session() as session:
                outbox.release(session, [alert.delivery_id])
            raise
        finally:
            if batch and not delivered:  # the digest waits for its head row's retry
                with self.db.session() as session:
                    outbox.release(session, [row.delivery_id for row in batch])

    def _record_part(self, alert: Alert, parts: int, message_id: int | None) -> None:
        """Progress through a split message; a refused write only costs a resumed retry."""
        try:
            with self.db.session() as session:
                outbox.mark_part_sent(session, alert.delivery_id, parts, message_id)
        except DBAPIError as exc:
            log.warning(
                "alert %d: part %d sent but not recorded (%s)",
                alert.delivery_id,
                parts,
                database_error(exc),
            )

    async def _send_part(
        self, alert: Alert, text: str, report: DeliveryReport, *, plain: bool = False
    ) -> Message:
        """Send HTML (or `plain` text); if Telegram cannot parse it, send what the reader would
        see as plain text; if it says too long, send it in pieces (`_send_pieces`)."""
        previews = LinkPreviewOptions(is_disabled=not self.settings.link_previews)
        try:
            return await self.bot.send_message(
                chat_id=alert.chat_id,
                text=text,
                parse_mode=None if plain else ParseMode.HTML,
                link_preview_options=previews,
            )
        except BadRequest as exc:
            reason = exc.message.lower()
            if TOO_LONG in reason:
                return await self._send_pieces(alert, text, report, plain=plain, error=exc)
            if plain or "can't parse entities" not in reason:
                raise
            log.warning(
                "alert %d: telegram could not parse our HTML (%s); resending as plain text",
                alert.delivery_id,
                exc.message,
            )
        report.plain_text_fallbacks += 1
        await self.pacer.acquire(alert.chat_id, alert.chat_type)
        return await self._send_part(alert, to_plain_text(text), report, plain=True)

    async def _send_pieces(
        self, alert: Alert, text: str, report: DeliveryReport, *, plain: bool, error: BadRequest
    ) -> Message:
        """Telegram counted a part we measured within its limit as too long (its count is
        its own): send it as two or more pieces half as long; the first piece's message is
        the part's. A short text it calls too long is not about length: the row fails."""
        length = len(text.encode("utf-16-le")) // 2 if plain else telegram_length(text)
        if length < MIN_PIECE:
            raise error
        limit = length // 2 + 1
        pieces = split_plain(text, limit) if plain else split_html(text, limit)
        log.warning(
            "alert %d: telegram says a part of %d characters is too long; sending it as %d",
            alert.delivery_id,
            length,
            len(pieces),
        )
        first: Message | None = None
        for piece in pieces:
            await self.pacer.acquire(alert.chat_id, alert.chat_type)
            message = await self._send_part(alert, piece, report, plain=plain)
            first = first or message
        if first is None:
            raise error
        return first

    def _unreachable(self, exc: TelegramError, *, at_once: bool = False) -> None:
        """Several network failures in a row (not one 5xx): tell the daemon, which probes."""
        self._network_failures += 1
        if at_once or self._network_failures >= self.settings.unreachable_after:
            self._network_failures = 0
            if self.on_unreachable is not None:
                self.on_unreachable(exc)

    def _retry(self, alert: Alert, error: str, report: DeliveryReport) -> None:
        if alert.attempts >= self.settings.max_attempts:
            self._fail(alert, f"gave up after {alert.attempts} attempts: {error}", report)
            return
        with self.db.session() as session:
            outbox.mark_retry(
                session, alert.delivery_id, error, self.clock() + self._backoff(alert.attempts)
            )
        report.retried += 1
        log.info("alert %d to chat %d will be retried: %s", alert.delivery_id, alert.chat_id, error)

    def _fail(self, alert: Alert, error: str, report: DeliveryReport) -> None:
        with self.db.session() as session:
            outbox.mark_final(session, alert.delivery_id, "failed", error, self.clock())
        report.failed += 1
        log.error("alert %d to chat %d failed: %s", alert.delivery_id, alert.chat_id, error)

    def _chat_gone(self, alert: Alert, reason: str, report: DeliveryReport) -> None:
        with self.db.session() as session:
            subscribers.deactivate(session, alert.chat_id, reason)
        report.skipped += 1
        log.info("chat %d is gone (%s): deactivated", alert.chat_id, reason)

    def _chat_failed(self, alert: Alert, reason: str, report: DeliveryReport) -> None:
        """A failure that may mean the chat is gone: deactivate after too many in a row."""
        with self.db.session() as session:
            gone = subscribers.record_failure(
                session, alert.subscriber_id, reason, self.settings.deactivate_after
            )
        if gone:
            report.skipped += 1
            log.info("chat %d deactivated after repeated failures: %s", alert.chat_id, reason)
        else:
            self._retry(alert, reason, report)

    def _migrated(self, alert: Alert, new_chat_id: int, report: DeliveryReport) -> None:
        with self.db.session() as session:
            moved = subscribers.migrate(session, alert.chat_id, new_chat_id)
            if moved:  # resend to the new id now; the failed try does not count
                outbox.defer(session, alert.delivery_id, self.clock())
        report.migrated += 1
        log.info("chat %d became %d%s", alert.chat_id, new_chat_id, "" if moved else " (known)")
