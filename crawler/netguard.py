"""No fetch reaches a private address the operator did not configure.

A source we do not control can redirect us, or link an item, to
`http://10.0.0.1/admin` or `http://169.254.169.254/`; a public name can
resolve to an internal address. So the check is made on the address a
connection actually goes to: `GuardedBackend` is the httpcore network
backend under the shared httpx client; it resolves the host itself, keeps
only the addresses the rules allow, and connects to one of those by IP.
TLS (SNI, certificate check) and the Host header still use the host name:
httpcore takes them from the request's origin, not from the socket.

The rule: a public address is always fine; a loopback, private, link-local,
shared, reserved or multicast one only when `allow_private` is set, or when
it is an address of a host the operator configured for the source being
fetched (`fetching_for`). An address is judged, not a port: a source on
127.0.0.1:8080 may be redirected to 127.0.0.1:9000, not to 127.0.0.2.

A pooled keep-alive connection is reused without a new connect, so
`GuardedTransport` also checks each request against the private addresses
its host was connected to before, for as long as such a connection can live
(`remember`): a name that moved to a public address is not refused after.
Through a proxy (`crawler.proxied`) the proxy connects, so only the
request's host is checked: `check_via_proxy`. Spiders (Scrapy, in a child
process) have their own guard with the same rule: `crawler.spiders.netguard`.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpcore
import httpx

from crawler.addresses import Address, is_public, literal
from crawler.linearpool import LinearPool
from crawler.pooledstream import PooledStream, Readiness

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchScope:
    """Who is fetching: the source's key and the hosts the operator configured for it."""

    source_key: str
    hosts: frozenset[str]


_scope: ContextVar[FetchScope | None] = ContextVar("crackdown_fetch_scope", default=None)


@contextlib.contextmanager
def fetching_for(source_key: str, urls: Iterable[str]) -> Iterator[None]:
    """Fetches in this block (this task and tasks it starts) are for `source_key`.

    The hosts of `urls` (the source's configured URLs) may be private.
    """
    hosts = frozenset(h.lower() for h in (urlsplit(str(u)).hostname for u in urls) if h)
    token = _scope.set(FetchScope(source_key, hosts))
    try:
        yield
    finally:
        _scope.reset(token)


class PrivateAddressRefused(httpcore.ConnectError):
    """A connection the guard refused; httpx reports it as a ConnectError."""


class NetworkGuard:
    """Resolves hosts and decides which of their addresses may be connected to."""

    def __init__(self, *, allow_private: bool, remember: float = 65.0) -> None:
        """`remember`: seconds a pooled connection can outlive its last request's check
        (the fetch deadline, then the pool's keep-alive expiry)."""
        self.allow_private = allow_private
        self.remember = remember
        self._logged: set[str] = set()  # sources whose refusal was logged already
        # host -> private address connected -> until when (monotonic) a pooled connection
        # to it may still be reused
        self._private_seen: dict[str, dict[Address, float]] = {}

    async def resolve(self, host: str, port: int) -> list[Address]:
        """The host's addresses (a literal is its own), in the resolver's order."""
        spelled = literal(host)
        if spelled is not None:
            return [spelled]
        try:
            infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        found = [literal(str(info[4][0])) for info in infos]
        return list(dict.fromkeys(a for a in found if a is not None))

    async def _configured(self, scope: FetchScope, port: int) -> set[Address]:
        addresses: set[Address] = set()
        for host in scope.hosts:
            with contextlib.suppress(httpcore.ConnectError):
                addresses.update(await self.resolve(host, port))
        return addresses

    async def allowed(self, host: str, port: int) -> list[Address]:
        """The addresses of `host` this fetch may connect to; raises if there are none."""
        addresses = await self.resolve(host, port)
        if self.allow_private:
            return addresses
        scope = _scope.get()
        private = [a for a in addresses if not is_public(a)]
        configured: set[Address] = set()
        if private and scope is not None:
            if host.lower() in scope.hosts:
                configured = set(private)
            else:
                configured = await self._configured(scope, port)
        ok = [a for a in addresses if is_public(a) or a in configured]
        if not ok:
            self.refuse(host, private[0])
        self._note(host, [a for a in ok if not is_public(a)])
        return ok

    def _note(self, host: str, private: Iterable[Address]) -> None:
        """A connection to these private addresses of `host` may be pooled from now on."""
        until = time.monotonic() + self.remember
        for address in private:
            self._private_seen.setdefault(host.lower(), {})[address] = until

    def _pooled(self, host: str) -> set[Address]:
        """The private addresses of `host` a pooled connection may still go to."""
        now = time.monotonic()
        for name in [n for n, seen in self._private_seen.items() if max(seen.values()) <= now]:
            del self._private_seen[name]  # every connection to it has expired
        seen = self._private_seen.get(host.lower(), {})
        return {address for address, until in seen.items() if until > now}

    async def check_reuse(self, host: str, port: int) -> None:
        """Refuse a request that could ride a pooled connection to a private address."""
        if self.allow_private:
            return
        spelled = literal(host)
        seen = {spelled} if spelled is not None else self._pooled(host)
        await self._refuse_unconfigured(host, port, seen)
        if spelled is None:
            self._note(host, seen)  # this request may keep such a connection in use

    async def check_via_proxy(self, host: str, port: int, timeout: float | None) -> None:
        """Refuse what can be refused for a request a proxy will connect for.

        The proxy resolves the name, so the address it connects to is not seen
        here: a literal is judged, a name by all its addresses as resolved here
        (best effort: a name that does not resolve here is left to the proxy,
        and so is a name whose DNS answer changes in between).
        """
        if self.allow_private:
            return
        try:
            with anyio.fail_after(timeout):
                addresses = await self.resolve(host, port)
        except (httpcore.ConnectError, TimeoutError):
            return
        await self._refuse_unconfigured(host, port, addresses)

    async def _refuse_unconfigured(
        self, host: str, port: int, addresses: Iterable[Address]
    ) -> None:
        """Refuse the first non-public address that is not the source's configured host's."""
        private = [a for a in addresses if not is_public(a)]
        if not private:
            return
        scope = _scope.get()
        if scope is not None and host.lower() in scope.hosts:
            return
        configured = await self._configured(scope, port) if scope is not None else set()
        for address in private:
            if address not in configured:
                self.refuse(host, address)

    def refuse(self, host: str, address: Address) -> None:
        """Raise the refusal; log it the first time for the source."""
        scope = _scope.get()
        key = scope.source_key if scope is not None else "(none)"
        if key not in self._logged:
            self._logged.add(key)
            log.warning(
                "source %s: refused to connect to %s (%s): not a public address and not the"
                " source's configured host; set http.allow_private_networks to allow it",
                key,
                host,
                address,
            )
        raise PrivateAddressRefused(f"refused non-public address {address} of {host}")


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's own backend, connecting only to addresses the guard allows, by IP."""

    def __init__(self, guard: NetworkGuard, inner: httpcore.AsyncNetworkBackend | None = None):
        self.guard = guard
        self.inner = inner or httpcore.AnyIOBackend()
        self.readiness = Readiness()  # its streams' sockets, polled together (`LinearPool`)

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await self.guard.allowed(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        error: Exception | None = None
        for address in addresses:
            try:
                stream = await self.inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
                return PooledStream(stream, self.readiness)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        return await self.inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a `GuardedBackend`, also checking pooled connections."""

    def __init__(self, guard: NetworkGuard, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        self.guard = guard
        # httpx builds its httpcore pool without a way to pass a network backend:
        # build the same pool (as AsyncHTTPTransport does with no proxy) with ours.
        self._pool = LinearPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            await self.guard.check_reuse(request.url.host, request.url.port or 0)
        except PrivateAddressRefused as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        return await super().handle_async_request(request)
