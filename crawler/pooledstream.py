"""A pooled connection's stream that tells httpcore cheaply whether the server hung up.

Why: before every request (and after every response) httpcore's pool asks each
of its idle connections `get_extra_info("is_readable")`. Through anyio that
builds a dict of socket attributes and calls getpeername() every time, then
polls the socket: with 32 keep-alive connections that was a quarter of a
feed's fetching CPU in bench/feeds.py. The answer needs only the poll, on the
socket the stream was opened with.
"""

from __future__ import annotations

import socket
import ssl
from typing import Any

import httpcore
from httpcore._utils import is_socket_readable  # the check anyio's stream makes, by socket


class PooledStream(httpcore.AsyncNetworkStream):
    """Delegates everything to httpcore's stream but `is_readable`, asked of the socket."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self.inner = inner
        self._socket: socket.socket | None = inner.get_extra_info("socket")

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
        return PooledStream(await self.inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable" and self._socket is not None:
            return is_socket_readable(self._socket)
        return self.inner.get_extra_info(info)
