"""The parent's side of a crawl batch: start the child, stream its events, time it out.

`run_batch` starts `python -m crawler.spiders.run`, writes the job, and
hands every event to `on_event` as it arrives (the caller prints progress
and stores a source's stories when its `Done` comes). The child's log
(stderr) is relayed to this process's log. A batch that runs past its
timeout is killed; one that dies (a crash, the OOM killer) is reported.
Either way the sources without a `Done` are the ones that did not finish,
and `BatchOutcome.error` says why, for their health records.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from crawler.spiders.events import Done, Event, decode
from crawler.spiders.job import CrawlJob

log = logging.getLogger(__name__)
CHILD = "crawler.spiders.run"
LINE_LIMIT = 64 * 1024 * 1024  # one event line at most (article bodies are capped far below)
_LEVELS = {name: getattr(logging, name) for name in ("DEBUG", "INFO", "WARNING", "ERROR")}
_LEVELS["CRITICAL"] = logging.CRITICAL


@dataclass
class BatchOutcome:
    finished: set[str] = field(default_factory=set)  # sources whose spider reported Done
    error: str | None = None  # why the others did not finish
    returncode: int | None = None
    seconds: float = 0.0


def _child_env() -> dict[str, str]:
    """This environment, with this checkout first on the path: the child runs the same code."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONSAFEPATH"] = "1"  # as -P, for any Python the child starts in turn
    return env


async def _relay_log(stream: asyncio.StreamReader, tail: deque[str]) -> None:
    """The child's stderr into our log, at the level each line names; the tail kept."""
    level = logging.WARNING
    while line := await stream.readline():
        text = line.decode("utf-8", "replace").rstrip()
        if not text:
            continue
        first = text.split(" ", 1)[0]
        level = _LEVELS.get(first, level)  # a traceback's lines keep its record's level
        tail.append(text)
        log.log(level, "crawl: %s", text)


async def _read_events(
    stream: asyncio.StreamReader, on_event: Callable[[Event], None], outcome: BatchOutcome
) -> None:
    while line := await stream.readline():
        try:
            event = decode(line.decode("utf-8", "replace"))
        except ValueError as exc:
            log.warning("crawl: ignoring output that is not an event: %s", exc)
            continue
        if isinstance(event, Done):
            if event.source in outcome.finished:
                continue
            outcome.finished.add(event.source)
        try:
            on_event(event)
        except Exception:  # the caller's bug must not stall the child on a full pipe
            log.exception("crawl: handling %s failed", type(event).__name__)


def _why(returncode: int, tail: deque[str]) -> str:
    if returncode < 0:
        return f"crawl process killed by signal {-returncode}"
    last = next((line for line in reversed(tail) if line.strip()), "")
    return f"crawl process exited with code {returncode}" + (f": {last[-300:]}" if last else "")


async def run_batch(
    job: CrawlJob,
    *,
    timeout: float,
    on_event: Callable[[Event], None],
    on_start: Callable[[int], None] | None = None,
    python: str = sys.executable,
) -> BatchOutcome:
    """Run one batch in a child process; never raises for the child's failures."""
    outcome = BatchOutcome()
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=20)
    process = await asyncio.create_subprocess_exec(
        python,
        "-P",  # not the working folder first on sys.path: a crawler.py there would be imported
        "-m",
        CHILD,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=_child_env(),
        limit=LINE_LIMIT,
        start_new_session=True,  # a Ctrl-C at the terminal is for the daemon, not the child
    )
    assert process.stdin and process.stdout and process.stderr
    if on_start is not None:
        on_start(process.pid)
    try:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            process.stdin.write(job.to_json().encode("utf-8") + b"\n")
            await process.stdin.drain()  # stdin stays open: its end tells the child we are gone
        readers = asyncio.gather(
            _read_events(process.stdout, on_event, outcome), _relay_log(process.stderr, tail)
        )
        try:
            await asyncio.wait_for(asyncio.shield(readers), timeout)
            outcome.returncode = await asyncio.wait_for(process.wait(), timeout=10)
        except TimeoutError:
            outcome.error = f"crawl timed out after {timeout:g}s (process killed)"
            process.kill()
            outcome.returncode = await process.wait()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(readers, timeout=5)
        if outcome.error is None and outcome.returncode:
            outcome.error = _why(outcome.returncode, tail)
        return outcome
    finally:
        if process.returncode is None:  # cancelled (the daemon stopping): leave no orphan
            process.kill()
            await process.wait()
        if process.stdin is not None:
            process.stdin.close()
        outcome.seconds = time.monotonic() - started
