"""Logging set-up: one line per event, and the bot token never printed.

Every way Python reports an error ends in the one stderr handler, whose
filter redacts the token: `logging` itself (PTB's error handler, asyncio's
default loop exception handler and warnings go through it), and, with
`setup_logging`, uncaught exceptions in the main thread (`sys.excepthook`),
in other threads (`threading.excepthook`) and in `__del__`/finalisers
(`sys.unraisablehook`). PTB puts the token in its own messages
("The token `...` was rejected"), httpx in request URLs.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from types import TracebackType

_hook_log = logging.getLogger("crackdown")


def secret_forms(secrets: Iterable[str]) -> list[str]:
    """Each secret, and for a bot token (`123:ABC...`) its secret half alone, longest first.

    The half covers the token URL-quoted (`123%3AABC...`) or cut at the colon.
    """
    forms: set[str] = set()
    for secret in secrets:
        if not secret:
            continue
        forms.add(secret)
        _bot_id, colon, rest = secret.partition(":")
        if colon and len(rest) >= 8:
            forms.add(rest)
    return sorted(forms, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "[token]")
    return text


class RedactSecrets(logging.Filter):
    """Replace secrets in any formatted record (httpx logs request URLs with the token)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = secret_forms(secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


class _DropInvalidJson(logging.Filter):
    """PTB logs every Bot API answer that is not JSON (a gateway's 502 page) as an ERROR with
    a traceback, then raises; we log what it raises in one line. An outage of hours was a
    traceback per request."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Can not load invalid JSON data")


def _log_uncaught(
    kind: str,
    exc_type: type[BaseException],
    exc: BaseException | None,
    tb: TracebackType | None,
) -> None:
    _hook_log.critical("%s: %s", kind, exc_type.__name__, exc_info=(exc_type, exc, tb))


def _excepthook(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    _log_uncaught("uncaught exception", exc_type, exc, tb)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit:
        return
    name = args.thread.name if args.thread is not None else "?"
    _log_uncaught(
        f"uncaught exception in thread {name}", args.exc_type, args.exc_value, args.exc_traceback
    )


def _unraisablehook(args: sys.UnraisableHookArgs) -> None:
    what = args.err_msg or "exception ignored"
    _log_uncaught(f"{what} {args.object!r}", args.exc_type, args.exc_value, args.exc_traceback)


def route_uncaught_to_logging() -> None:
    """Send uncaught exceptions and warnings through logging, and so through the redaction."""
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    sys.unraisablehook = _unraisablehook
    logging.captureWarnings(True)


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers (Loki, journald exports, ELK)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at emit time, never a stale stream."""

    def __init__(self) -> None:
        super().__init__()

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        return


def under_journald(environ: Mapping[str, str] | None = None) -> bool:
    """True when stderr is the journal's stream (systemd sets JOURNAL_STREAM=dev:inode).

    journald stamps every line itself; a second timestamp only clutters `journalctl`.
    """
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    if not (device.isdigit() and inode.isdigit()):
        return False
    try:
        stat = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return (stat.st_dev, stat.st_ino) == (int(device), int(inode))


def text_format(journald: bool) -> str:
    """The text log line: without our timestamp when journald adds its own."""
    fields = "%(levelname)-7s %(name)s: %(message)s"
    return fields if journald else "%(asctime)s " + fields


def setup_logging(level: str, secrets: Iterable[str] = (), fmt: str = "text") -> None:
    """Log to stderr as text or JSON lines; quiet chatty libraries; redact `secrets`."""
    handler = _StderrHandler()
    handler.setFormatter(
        JsonFormatter() if fmt == "json" else logging.Formatter(text_format(under_journald()))
    )
    secrets = [s for s in secrets if s]
    handler.addFilter(RedactSecrets(secrets))
    if secrets:
        route_uncaught_to_logging()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in (
        "httpx",
        "httpcore",
        "apscheduler",
        "telegram.ext.Updater",
        "alembic.runtime.plugins",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    ptb_requests = logging.getLogger("telegram.request.BaseRequest")
    ptb_requests.filters[:] = [
        f for f in ptb_requests.filters if not isinstance(f, _DropInvalidJson)
    ]
    ptb_requests.addFilter(_DropInvalidJson())
    # "skipped: maximum number of running instances reached" is the no-overlap rule working
    # (a poll longer than the tick), not a fault.
    logging.getLogger("apscheduler.scheduler").setLevel(max(logging.ERROR, root.level))
