"""The guarded backend's streams tell the pool cheaply, and truly, whether the server hung up."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from crawler.netguard import GuardedBackend, NetworkGuard
from crawler.pooledstream import PooledStream


async def _stop(server: asyncio.Server, writers: list[asyncio.StreamWriter]) -> None:
    for writer in writers:
        writer.close()
        await writer.wait_closed()
    server.close()
    await server.wait_closed()


async def _with_server() -> tuple[asyncio.Server, int, list[asyncio.StreamWriter]]:
    writers: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1], writers


def test_is_readable_says_when_the_server_closed_an_idle_connection() -> None:
    async def scenario() -> tuple[bool, bool]:
        server, port, writers = await _with_server()
        backend = GuardedBackend(NetworkGuard(allow_private=True))
        stream = await backend.connect_tcp("127.0.0.1", port, timeout=5)
        assert isinstance(stream, PooledStream)
        for _ in range(100):
            if writers:
                break
            await asyncio.sleep(0.01)
        idle = stream.get_extra_info("is_readable")
        writers[0].close()
        await asyncio.sleep(0.05)
        closed = stream.get_extra_info("is_readable")
        assert stream.get_extra_info("socket") is not None
        await stream.aclose()
        await _stop(server, writers)
        return idle, closed

    assert asyncio.run(scenario()) == (False, True)


def test_is_readable_costs_a_fraction_of_anyios_answer() -> None:
    """The pool asks every idle connection before each request: it must be cheap."""

    async def scenario() -> tuple[float, float]:
        server, port, writers = await _with_server()
        backend = GuardedBackend(NetworkGuard(allow_private=True))
        stream = await backend.connect_tcp("127.0.0.1", port, timeout=5)
        assert isinstance(stream, PooledStream)

        def cpu(ask: object) -> float:
            started = time.process_time()
            for _ in range(3000):
                ask.get_extra_info("is_readable")  # type: ignore[attr-defined]
            return time.process_time() - started

        ours, anyios = cpu(stream), cpu(stream.inner)
        await stream.aclose()
        await asyncio.sleep(0.05)
        await _stop(server, writers)
        return ours, anyios

    ours, anyios = asyncio.run(scenario())
    assert ours * 2 < anyios


def test_a_pool_pass_polls_every_socket_once_and_answers_truly(monkeypatch: Any) -> None:
    """While the pool assigns requests, one poll answers for all its idle connections."""
    import crawler.pooledstream as pooledstream

    async def scenario() -> tuple[list[bool], list[bool], int]:
        server, port, writers = await _with_server()
        backend = GuardedBackend(NetworkGuard(allow_private=True))
        streams = [await backend.connect_tcp("127.0.0.1", port, timeout=5) for _ in range(3)]
        for _ in range(100):
            if len(writers) == 3:
                break
            await asyncio.sleep(0.01)
        writers[1].close()  # the server hangs up the second connection
        await asyncio.sleep(0.05)
        alone = [stream.get_extra_info("is_readable") for stream in streams]
        asked: list[object] = []
        real = pooledstream.is_socket_readable
        monkeypatch.setattr(
            pooledstream, "is_socket_readable", lambda sock: asked.append(sock) or real(sock)
        )
        with backend.readiness.polled():
            together = [stream.get_extra_info("is_readable") for stream in streams]
        for stream in streams:
            await stream.aclose()
        await _stop(server, writers)
        return alone, together, len(asked)

    alone, together, polled_alone = asyncio.run(scenario())
    assert alone == [False, True, False]
    assert together == alone
    assert polled_alone == 0
