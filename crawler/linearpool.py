"""httpcore's connection pool, assigning requests in time linear in its connections.

Why: httpcore 1.0's pool re-assigns requests to connections before and after
every request, and in doing so builds a list of all its connections once for
every idle connection (`len([c.is_idle() for c in connections])`, which is
just the number of connections), then, for each queued request, two more
lists of all of them. With the 32 keep-alive connections of a first polling
cycle that was about 1,500 `is_idle` calls a feed, a tenth of the event
loop's CPU in bench/feeds.py. The decisions here are httpcore's, in its
order (tests/crawler/test_linear_pool.py replays the same pool states through
both); only the repeated work is gone. Whether idle connections' servers hung
up is answered by one poll of all of them (`crawler.pooledstream.Readiness`),
if the backend keeps one.
"""

from __future__ import annotations

import contextlib

import httpcore
from httpcore._async.interfaces import AsyncConnectionInterface

# The releases whose `_assign_requests_to_connections` this one replays; any other keeps its own.
REPLAYED = ("1.0.",)


class LinearPool(httpcore.AsyncConnectionPool):
    """`httpcore.AsyncConnectionPool` with its request assignment made linear."""

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        if not httpcore.__version__.startswith(REPLAYED):
            return super()._assign_requests_to_connections()
        readiness = getattr(self._network_backend, "readiness", None)
        with readiness.polled() if readiness is not None else contextlib.nullcontext():
            return self._assign()

    def _assign(self) -> list[AsyncConnectionInterface]:
        closing: list[AsyncConnectionInterface] = []
        # Closed, expired, and (past the keep-alive limit) idle connections leave the pool.
        for connection in list(self._connections):
            if connection.is_closed():
                self._connections.remove(connection)
            elif connection.has_expired() or (
                connection.is_idle() and len(self._connections) > self._max_keepalive_connections
            ):
                self._connections.remove(connection)
                closing.append(connection)
        # Queued requests: an available connection for their origin, else a new one, else a
        # new one in place of the first idle one.
        for pool_request in [request for request in self._requests if request.is_queued()]:
            origin = pool_request.request.url.origin
            available = next(
                (
                    connection
                    for connection in self._connections
                    if connection.can_handle_request(origin) and connection.is_available()
                ),
                None,
            )
            if available is not None:
                pool_request.assign_to_connection(available)
                continue
            if len(self._connections) < self._max_connections:
                connection = self.create_connection(origin)
                self._connections.append(connection)
                pool_request.assign_to_connection(connection)
                continue
            idle = next((c for c in self._connections if c.is_idle()), None)
            if idle is not None:
                self._connections.remove(idle)
                closing.append(idle)
                connection = self.create_connection(origin)
                self._connections.append(connection)
                pool_request.assign_to_connection(connection)
        return closing
