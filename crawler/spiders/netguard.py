"""The private-network guard for spiders (see `crawler.netguard` for the rule).

A downloader middleware: every request a spider makes (start URLs,
robots.txt, follow-ups, each redirect hop) passes through it before it is
downloaded. It resolves the host with the reactor's resolver, Scrapy's
caching one, so the download connects to the address that was checked (the
cache answers the connection's own lookup). A non-public address passes only
when it is an address of a host configured for the spider's source (its
start URLs) or `CRACKDOWN_ALLOW_PRIVATE_NETWORKS` is set; otherwise the
request is ignored, logged once per source.

It also routes each request: `request.meta["proxy"]` is set to the proxy
`crawler.proxies.proxy_for` picks (`http.proxy`, else the environment; None
goes direct), which Scrapy's HttpProxyMiddleware then uses, so spiders and
the daemon's httpx client go the same way. Through a proxy the proxy
resolves the name: a literal is judged, and a name by all the addresses it
resolves to here (best effort, as in `crawler.netguard.check_via_proxy`).
"""

from __future__ import annotations

import logging
import socket
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future

from crawler.addresses import Address, is_public, literal
from crawler.proxies import environment_proxies, proxy_for

log = logging.getLogger(__name__)


async def _resolve(host: str) -> Address | None:
    address = literal(host)
    if address is not None:
        return address
    from twisted.internet import reactor

    try:
        resolved = await maybe_deferred_to_future(reactor.resolve(host))  # type: ignore[attr-defined]
    except Exception:
        return None  # the download reports the DNS error itself
    return literal(resolved)


async def _resolve_all(host: str) -> list[Address]:
    """Every address of `host` (for a proxied request: the proxy may pick any)."""
    address = literal(host)
    if address is not None:
        return [address]
    from twisted.internet.threads import deferToThread

    try:
        infos = await maybe_deferred_to_future(
            deferToThread(socket.getaddrinfo, host, None, type=socket.SOCK_STREAM)
        )
    except OSError:
        return []  # left to the proxy
    found = [literal(str(info[4][0])) for info in infos]
    return [a for a in found if a is not None]


class PrivateNetworkGuard:
    """Ignore requests to non-public addresses that are not the source's own host's."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.allow_private = crawler.settings.getbool("CRACKDOWN_ALLOW_PRIVATE_NETWORKS")
        self._configured: set[Address] | None = None
        self._logged = False
        self.proxy: str | None = crawler.settings.get("CRACKDOWN_PROXY") or None
        self.environment = environment_proxies()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PrivateNetworkGuard:
        return cls(crawler)

    async def _configured_addresses(self) -> set[Address]:
        if self._configured is None:
            spec: Any = getattr(self.crawler.spider, "spec", None)
            urls = spec.start_urls if spec is not None else ()
            hosts = {urlsplit(url).hostname for url in urls}
            found = [await _resolve(host) for host in hosts if host]
            self._configured = {a for a in found if a is not None}
        return self._configured

    async def process_request(self, request: Request) -> None:
        proxy = proxy_for(request.url, self.proxy, self.environment)
        request.meta["proxy"] = proxy
        if self.allow_private:
            return
        host = urlsplit(request.url).hostname
        if not host:
            return
        if proxy is None:
            address = await _resolve(host)
            private = [address] if address is not None and not is_public(address) else []
        else:
            private = [a for a in await _resolve_all(host) if not is_public(a)]
            spec: Any = getattr(self.crawler.spider, "spec", None)
            own = {urlsplit(url).hostname for url in (spec.start_urls if spec else ())}
            if host.lower() in {h.lower() for h in own if h}:
                return
        configured = await self._configured_addresses() if private else set()
        refused = [a for a in private if a not in configured]
        if not refused:
            return
        address = refused[0]
        spider: Any = self.crawler.spider
        key = getattr(getattr(spider, "spec", None), "key", getattr(spider, "name", "?"))
        if not self._logged:
            self._logged = True
            log.warning(
                "source %s: refused to connect to %s (%s): not a public address and not the"
                " source's configured host; set http.allow_private_networks to allow it",
                key,
                host,
                address,
            )
        raise IgnoreRequest(f"refused non-public address {address} of {host}")
