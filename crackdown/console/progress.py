"""Progress of long CLI work: a one-line counter on a terminal, plain lines elsewhere.

On a terminal the operator wants to see it move without a thousand lines
scrolling by; in a log or a pipe (cron, systemd, CI) every line matters
and carriage returns would garble it.
"""

from __future__ import annotations

import time
from typing import TextIO


class Progress:
    """Counts finished items; redraws at most ten times a second on a terminal."""

    def __init__(self, out: TextIO, total: int, noun: str) -> None:
        self.out = out
        self.total = total
        self.noun = noun
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.done = self.new = self.failed = 0
        self._drawn = 0.0

    def step(self, line: str, new: int = 0, error: str | None = None) -> None:
        """One item finished: `line` describes it; `new` stories; `error` if it failed."""
        self.done += 1
        self.new += new
        self.failed += error is not None
        if not self.tty:
            self.out.write(line + "\n")
            self.out.flush()
            return
        now = time.monotonic()
        if now - self._drawn >= 0.1 or self.done == self.total:
            self._drawn = now
            width = len(str(self.total))
            self.out.write(
                f"\r{self.done:>{width}}/{self.total} {self.noun} "
                f"[{self._bar()}] {self.new} new, {self.failed} failed"
            )
            self.out.flush()

    def _bar(self, size: int = 24) -> str:
        filled = size * self.done // max(self.total, 1)
        return "#" * filled + "." * (size - filled)

    def close(self) -> None:
        if self.tty and self.done:
            self.out.write("\n")
            self.out.flush()


class Meter:
    """A counter on a terminal's stderr for work whose output goes elsewhere (eval, export, crawl).

    Draws nothing when `stream` is not a terminal: logs and pipes get only the result.
    """

    def __init__(self, stream: TextIO, noun: str, total: int | None = None) -> None:
        self.stream = stream
        self.noun = noun
        self.total = total
        self.done = 0
        self.detail = ""  # after the count, e.g. ", 42 pages"
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self._drawn = 0.0
        self._shown = False

    def step(self, count: int = 1, detail: str | None = None) -> None:
        """`count` more done; `detail` replaces the text shown after the count."""
        self.done += count
        if detail is not None:
            self.detail = detail
        if self.tty and (time.monotonic() - self._drawn >= 0.1 or self.done == self.total):
            self.redraw()

    def redraw(self) -> None:
        """Draw the counter now (after `clear`, or for a final count)."""
        if not self.tty:
            return
        self._drawn = time.monotonic()
        of = f"/{self.total}" if self.total is not None else ""
        self.stream.write(f"\r{self.done}{of} {self.noun}{self.detail}\x1b[K")
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        """Erase the counter, so that a line printed to the same terminal starts clean."""
        if self._shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._shown = False

    def close(self) -> None:
        """Erase the counter: the command's own summary line follows."""
        self.clear()
