"""The guarded transport's pool assigns requests as httpcore's does, in linear time.

Pool states (connections closed, expired, idle, busy, for several origins;
requests queued; connection and keep-alive limits) are replayed through
httpcore's own pool and `crawler.linearpool.LinearPool`: the same connections
stay, close and are created, and each request gets the same one.
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import httpcore
import httpx
from httpcore._async.connection_pool import AsyncPoolRequest

from crawler.linearpool import LinearPool
from crawler.netguard import GuardedTransport, NetworkGuard

ORIGINS = [httpcore.URL(f"http://h{i}.example/feed").origin for i in range(3)]


class StubConnection:
    """What the pool asks of a connection, as fixed answers; counts `is_idle` calls."""

    def __init__(self, name: str, origin: Any, **state: bool) -> None:
        self.name, self.origin, self.state = name, origin, state
        self.idle_calls = 0

    def is_closed(self) -> bool:
        return self.state.get("closed", False)

    def has_expired(self) -> bool:
        return self.state.get("expired", False)

    def is_idle(self) -> bool:
        self.idle_calls += 1
        return self.state.get("idle", False)

    def is_available(self) -> bool:
        return self.state.get("available", False)

    def can_handle_request(self, origin: Any) -> bool:
        return bool(origin == self.origin)


class Replayed:
    """A pool's new connections are stubs, named in the order they are made."""

    made = 0

    def create_connection(self, origin: Any) -> Any:
        self.made += 1
        return StubConnection(f"new{self.made}", origin, available=True)


class Httpcores(Replayed, httpcore.AsyncConnectionPool):
    pass


class Ours(Replayed, LinearPool):
    pass


def _state(rng: random.Random) -> dict[str, Any]:
    connections = []
    for n in range(rng.randrange(0, 12)):
        flags = {k: rng.random() < 0.3 for k in ("closed", "expired", "idle", "available")}
        connections.append((f"c{n}", rng.choice(ORIGINS), flags))
    requests = [rng.randrange(len(ORIGINS)) for _ in range(rng.randrange(0, 5))]
    limits = {
        "max_connections": rng.choice([len(connections), len(connections) + 1, None]) or None,
        "max_keepalive_connections": rng.randrange(0, 14),
    }
    return {"connections": connections, "requests": requests, "limits": limits}


def _replay(pool_class: type, state: dict[str, Any]) -> tuple[Any, ...]:
    pool = pool_class(**state["limits"])
    pool._connections = [StubConnection(n, o, **f) for n, o, f in state["connections"]]
    requests = [
        AsyncPoolRequest(httpcore.Request("GET", f"http://h{i}.example/feed"))
        for i in state["requests"]
    ]
    pool._requests = list(requests)
    closing = pool._assign_requests_to_connections()
    return (
        [c.name for c in pool._connections],
        [c.name for c in closing],
        [r.connection.name if r.connection else None for r in requests],
    )


def test_every_pool_state_gets_httpcores_decisions() -> None:
    async def replay_all() -> None:
        rng = random.Random(20261206)
        for _ in range(3000):
            state = _state(rng)
            assert _replay(Ours, state) == _replay(Httpcores, state), state

    asyncio.run(replay_all())


def test_a_request_costs_a_pass_over_the_connections_not_one_per_idle_connection() -> None:
    """32 idle keep-alive connections: httpcore asked each one's is_idle 33 times, we ask twice."""

    async def assign() -> list[StubConnection]:
        transport = GuardedTransport(
            NetworkGuard(allow_private=True), httpx.Limits(max_keepalive_connections=32)
        )
        pool = transport._pool
        connections = [
            StubConnection(f"c{n}", ORIGINS[n % 2], idle=True, available=True) for n in range(32)
        ]
        pool._connections = list(connections)
        request = AsyncPoolRequest(httpcore.Request("GET", "http://h1.example/feed"))
        pool._requests = [request]
        assert not pool._assign_requests_to_connections()
        assert request.connection is connections[1]
        return connections

    connections = asyncio.run(assign())
    assert max(c.idle_calls for c in connections) <= 2
