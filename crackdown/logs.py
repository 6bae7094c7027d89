"""Logging set-up: one line per event, and the bot token never printed."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime


class RedactSecrets(logging.Filter):
    """Replace secrets in any formatted record (httpx logs request URLs with the token)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        redacted = message
        exc_text = record.exc_text
        for secret in self.secrets:
            redacted = redacted.replace(secret, "[token]")
            if exc_text:
                exc_text = exc_text.replace(secret, "[token]")
        record.msg, record.args, record.exc_text = redacted, None, exc_text
        return True


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
    handler.addFilter(RedactSecrets(secrets))
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
    # "skipped: maximum number of running instances reached" is the no-overlap rule working
    # (a poll longer than the tick), not a fault.
    logging.getLogger("apscheduler.scheduler").setLevel(max(logging.ERROR, root.level))
