"""The shared client's transport: direct through the guard, or through a proxy.

httpx honours the proxy environment only when it builds its own transport;
ours (`crawler.netguard.GuardedTransport`) is passed in, so the routing is
done here, per request, by `crawler.proxies.proxy_for`. A proxied request is
checked by `NetworkGuard.check_via_proxy` (the proxy's own address is not
checked: the operator chose it); a direct one connects through the guard.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from crawler.netguard import GuardedTransport, NetworkGuard, PrivateAddressRefused
from crawler.proxies import environment_proxies, proxy_for


class ProxiedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport through one proxy, refusing what the guard can tell is private."""

    def __init__(self, guard: NetworkGuard, proxy: str, limits: httpx.Limits) -> None:
        super().__init__(proxy=proxy, limits=limits)
        self.guard = guard

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {}).get("connect")
        try:
            await self.guard.check_via_proxy(request.url.host, request.url.port or 0, timeout)
        except PrivateAddressRefused as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        return await super().handle_async_request(request)


class ProxyRouter(httpx.AsyncBaseTransport):
    """Send each request direct or through its proxy (`http.proxy`, else the environment)."""

    def __init__(self, guard: NetworkGuard, limits: httpx.Limits, proxy: str | None) -> None:
        self.guard = guard
        self.limits = limits
        self.proxy = proxy
        self.environment = environment_proxies()  # read once, as httpx does
        self.direct = GuardedTransport(guard, limits)
        self._proxied: dict[str, ProxiedTransport] = {}

    def _transport(self, request: httpx.Request) -> httpx.AsyncBaseTransport:
        proxy = proxy_for(str(request.url), self.proxy, self.environment)
        if proxy is None:
            return self.direct
        if proxy not in self._proxied:
            try:
                self._proxied[proxy] = ProxiedTransport(self.guard, proxy, self.limits)
            except (ImportError, ValueError) as exc:  # e.g. socks5:// without socksio
                # Not the URL itself in the message: it may hold the proxy's password.
                why = str(exc) if isinstance(exc, ImportError) else "unsupported scheme"
                scheme = urlsplit(proxy).scheme
                raise httpx.ProxyError(f"cannot use the {scheme} proxy: {why}") from exc
        return self._proxied[proxy]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._transport(request).handle_async_request(request)

    async def aclose(self) -> None:
        await self.direct.aclose()
        for transport in self._proxied.values():
            await transport.aclose()
