"""A pooled connection's stream that tells httpcore cheaply whether the server hung up.

Why: before every request (and after every response) httpcore's pool asks each
of its idle connections `get_extra_info("is_readable")`. Through anyio that
builds a dict of socket attributes and calls getpeername() every time, then
polls the socket: with 32 keep-alive connections that was a quarter of a
feed's fetching CPU in bench/feeds.py. The answer needs only the poll, on the
socket the stream was opened with; and while the pool assigns requests
(`Readiness.polled`, `crawler.linearpool`), one poll of all a backend's
sockets answers for each of them.
"""

from __future__ import annotations

import select
import socket
import ssl
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
from httpcore._utils import is_socket_readable  # the check anyio's stream makes, by socket


class Readiness:
    """A backend's open streams, whose sockets one poll answers for while the pool assigns.

    Why: httpcore's pool asks each idle connection whether its server hung
    up, twice a request; with 32 keep-alive connections that was some 40
    polls a feed in bench/feeds.py's first cycle, each a system call that
    hands the GIL to the storing thread and waits to get it back (session
    14). Within one synchronous pass of the pool the answers are those of
    one poll of every socket, taken at its start.
    """

    def __init__(self) -> None:
        self._streams: weakref.WeakSet[PooledStream] = weakref.WeakSet()
        self._polled: dict[int, bool] | None = None  # fd -> readable, during a pass

    def add(self, stream: PooledStream) -> None:
        self._streams.add(stream)

    @contextmanager
    def polled(self) -> Iterator[None]:
        """Answer `readable` from one poll of every open socket until the block ends."""
        fds = {s.fileno() for s in (stream._socket for stream in self._streams) if s is not None}
        fds.discard(-1)
        if len(fds) < 2 or getattr(select, "poll", None) is None:
            yield
            return
        poll = select.poll()
        for fd in fds:
            poll.register(fd, select.POLLIN)
        ready = {fd for fd, _ in poll.poll(0)}  # any event, as `is_socket_readable` counts it
        self._polled = {fd: fd in ready for fd in fds}
        try:
            yield
        finally:
            self._polled = None

    def readable(self, sock: socket.socket) -> bool:
        """`is_socket_readable`, from the pass's poll if it covered this socket."""
        polled = self._polled
        if polled is not None:
            answer = polled.get(sock.fileno())
            if answer is not None:
                return answer
        return is_socket_readable(sock)


class PooledStream(httpcore.AsyncNetworkStream):
    """Delegates everything to httpcore's stream but `is_readable`, asked of the socket."""

    def __init__(
        self, inner: httpcore.AsyncNetworkStream, readiness: Readiness | None = None
    ) -> None:
        self.inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")
        self._readiness = readiness
        if readiness is not None:
            readiness.add(self)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.inner.read(max_bytes, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        inner = await self.inner.start_tls(ssl_context, server_hostname, timeout)
        return PooledStream(inner, self._readiness)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            if self._readiness is not None:
                return self._readiness.readable(self._socket)
            return is_socket_readable(self._socket)
        return self.inner.get_extra_info(info)
