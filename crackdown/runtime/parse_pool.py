"""Feed parsing in worker processes, so that a big poll keeps every CPU busy."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import pickle
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from crackdown.runtime.feed_work import PreparedFeed, init_worker, parse_and_prepare
from crackdown.runtime.filters import FilterSpec
from crawler.feeds import FeedError, FeedParser, ParsedFeed, parse_content

log = logging.getLogger(__name__)
# Parse workers run at the event loop's priority: they normalise and match too (feed_work), so
# a first cycle waits for them as much as for the loop, and a niced worker starved behind other
# processes became its bound (bench/README.md, sessions 8 and 9). There is one per spare CPU, so
# the loop keeps one of its own.
WORKER_NICENESS = 0
_T = TypeVar("_T")


def default_parse_workers() -> int:
    """Parse workers: one per CPU this process may use, less the one the event loop keeps.

    The loop (fetch, normalise, match, store) is itself about half the work
    of a first cycle, so on two CPUs one worker does as well as two (bench
    figures in bench/README.md) and costs one process less.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(cpus - 1, 0)


class ParsePool:
    """Feed parsing in worker processes during a big poll, so that every CPU works.

    Why: feedparser is pure Python and was most of a first cycle's CPU, while
    the event loop has fetching, matching and storing to do. Workers are
    forked by a forkserver (never a fork of this threaded process) that has
    imported the parser; multiprocessing still has each worker import the
    program's main module (the CLI's is light). The pool starts at the first
    parse of a poll of many sources (an unchanged cycle parses nothing and
    starts nothing) and stops when the last such poll ends, so a daemon
    polling a few feeds per tick keeps no idle processes. If processes cannot
    be started or a worker dies, the rest of that poll parses in-line:
    slower, nothing lost.

    Workers also normalise and match (`parse_prepared`, `runtime.feed_work`)
    with the filter of the spec given to `using` when they started.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._starting: asyncio.Future[ProcessPoolExecutor | None] | None = None
        self._alive: tuple[Connection, Connection] | None = None
        self._failed = False
        self._users = 0
        self._spec: FilterSpec | None = None  # the filter the workers (will) match with
        self._quiet: frozenset[str] | None = None  # clustering's, for `feed_work.init_worker`

    @contextlib.asynccontextmanager
    async def using(
        self, spec: FilterSpec | None = None, quiet: frozenset[str] | None = None
    ) -> AsyncIterator[FeedParser]:
        """A parser for one poll; the workers stop when no poll uses them any more.

        `spec` is the filter workers started now match with; workers already
        running keep theirs (`PreparedFeed.spec` says which). `quiet` is
        clustering's places and background (None: clustering off).
        """
        if self._starting is None:
            self._spec, self._quiet = spec, quiet
        self._users += 1
        try:
            yield self.parse
        finally:
            self._users -= 1
            if not self._users:
                await self.close()

    async def parse(
        self,
        content: bytes,
        source_key: str,
        base_url: str,
        headers: Mapping[str, str] | None,
        lang: str | None,
    ) -> ParsedFeed:
        """`parse_content` in a worker; in-line if the pool is off or broken."""
        args = (content, source_key, base_url, dict(headers or {}), lang)
        _, parsed = await self._in_worker(parse_content, args, source_key)
        return parsed if parsed is not None else parse_content(*args)

    async def parse_prepared(
        self,
        content: bytes,
        source_key: str,
        base_url: str,
        headers: Mapping[str, str] | None,
        lang: str | None,
        known: bytes = b"",
    ) -> tuple[ParsedFeed, PreparedFeed | None]:
        """`parse`, and in a worker the new stories normalised and matched too (None: in-line).

        In a worker the items in `known` are left out and no raw item comes
        back (`feed_work.parse_and_prepare`); in-line, every item is parsed.
        """
        args = (content, source_key, base_url, dict(headers or {}), lang)
        spec, done = await self._in_worker(
            parse_and_prepare, (*args, datetime.now(UTC), known), source_key
        )
        if done is None:
            return parse_content(*args), None
        parsed, prepared = done
        prepared.spec = spec
        return parsed, prepared

    async def _in_worker(
        self, function: Callable[..., _T], args: tuple[Any, ...], source_key: str
    ) -> tuple[FilterSpec | None, _T | None]:
        """`function(*args)` in a worker, with the spec its filter has; None: do it in-line."""
        executor = await self._ready()
        if executor is None:
            return None, None
        spec = self._spec
        try:
            return spec, await asyncio.get_running_loop().run_in_executor(executor, function, *args)
        except FeedError:
            raise
        except Exception as exc:  # the in-line parse says whose fault
            if isinstance(exc, (BrokenExecutor, OSError, RuntimeError, pickle.PicklingError)):
                self._fail(exc)  # the pool's, not the feed's
            else:
                log.debug("source %s: parse failed in a worker: %r", source_key, exc)
        return None, None

    async def _ready(self) -> ProcessPoolExecutor | None:
        """The pool with its workers running, or None: parse in-line.

        Starting takes a few hundred milliseconds (processes start and import
        modules). It runs in a thread, and feeds that arrive meanwhile are
        parsed in-line rather than left waiting with the loop idle.
        """
        if self._failed or self.workers < 1:
            return None
        if self._starting is None:
            self._starting = asyncio.ensure_future(asyncio.to_thread(self._start))
        if not self._starting.done():
            return None
        return None if self._failed else self._starting.result()

    def _start(self) -> ProcessPoolExecutor | None:
        executor = None
        try:
            # The forkserver runs `python -c ...`, which puts the working folder (the daemon's
            # state directory, under systemd) first on sys.path: a crawler.py there would be
            # imported instead of ours. PYTHONSAFEPATH is -P for it and every worker.
            os.environ.setdefault("PYTHONSAFEPATH", "1")
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["crackdown.runtime.feed_work"])
            # The workers read EOF from this pipe when this process is gone (init_parse_worker).
            self._alive = context.Pipe(duplex=False)
            executor = ProcessPoolExecutor(
                self.workers,
                mp_context=context,
                initializer=init_worker,
                initargs=(WORKER_NICENESS, self._alive[0], self._spec, self._quiet),
            )
            for started in [executor.submit(os.getpid) for _ in range(self.workers)]:
                started.result(timeout=60)
            return executor
        except Exception as exc:  # no forkserver here, no semaphores, a worker died...
            log.warning("parsing feeds in-line for this poll: no worker processes: %r", exc)
            self._failed = True
            if executor is not None:
                executor.shutdown(wait=False, cancel_futures=True)
            return None

    def _fail(self, exc: BaseException) -> None:
        if not self._failed:
            log.warning("parsing feeds in-line for the rest of this poll: %r", exc)
        self._failed = True

    async def close(self) -> None:
        """Stop the workers, if any were started; the next big poll tries again."""
        starting, self._starting = self._starting, None
        executor = await starting if starting is not None else None
        self._failed = False
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
        alive, self._alive = self._alive, None
        for end in alive or ():
            end.close()


class PreparingParser:
    """`ParsePool.parse_prepared` as a one-feed `FeedParser` that keeps what the worker prepared.

    `known`: the `feed_work.item_key`s of the feed's items at its last poll stored.
    """

    def __init__(self, pool: ParsePool, known: bytes = b"") -> None:
        self.pool = pool
        self.known = known
        self.prepared: PreparedFeed | None = None

    async def __call__(
        self,
        content: bytes,
        source_key: str,
        base_url: str,
        headers: Mapping[str, str] | None,
        lang: str | None,
    ) -> ParsedFeed:
        parsed, self.prepared = await self.pool.parse_prepared(
            content, source_key, base_url, headers, lang, self.known
        )
        return parsed
