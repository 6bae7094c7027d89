"""One HTTP policy for all fetching: timeouts, a deadline, a size cap, our user agent.

feedparser's own fetching has no timeout, so bytes are fetched here and
handed over. A read timeout alone lets a server that trickles a byte a
second hold a fetch for ever, so each fetch also has a total deadline. The
body is read raw and decompressed here (`crawler.inflate`), counted while
it inflates.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from crawler.inflate import ACCEPT_ENCODING, BoundedDecoder, DecodeError, TooLarge
from crawler.netguard import NetworkGuard
from crawler.proxied import ProxyRouter


@dataclass(frozen=True)
class HttpPolicy:
    """Limits applied to every request a collector makes."""

    user_agent: str = "crackdown/0.1 (+https://github.com/crackdown-news/crackdown)"
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    deadline: float = 60.0  # the whole fetch: connect, redirects, headers and body
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    # Off: a fetch reaches a non-public address only if it is a configured source host's.
    allow_private_networks: bool = False
    # Fetch through this http(s) proxy; None: the proxy environment (HTTPS_PROXY, NO_PROXY...).
    proxy: str | None = None


class FetchError(Exception):
    """A fetch that produced no usable response; the message is for the log."""


@dataclass(frozen=True)
class Fetched:
    """A response body read within the policy's limits."""

    url: str
    status: int
    headers: dict[str, str]
    content: bytes
    moved_to: str | None = None  # the final URL when every redirect was permanent (301/308)


def make_client(
    policy: HttpPolicy,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    keepalive: int = 32,
) -> httpx.AsyncClient:
    """Build the shared async client; tests pass a transport to fake a server.

    Its own transport connects only where `crawler.netguard` allows, directly or
    through the proxy `crawler.proxies` picks (`crawler.proxied`).
    """
    timeout = httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout)
    # Keep as many idle connections as requests may run at once: with httpx's
    # default of 20, httpcore closes every connection after use once more than
    # 20 are open, and each poll pays a new TCP (and TLS) handshake.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=keepalive)
    if transport is None:
        # A pooled connection outlives its last request by the pool's keep-alive expiry.
        remember = policy.deadline + (limits.keepalive_expiry or 0)
        guard = NetworkGuard(allow_private=policy.allow_private_networks, remember=remember)
        transport = ProxyRouter(guard, limits, policy.proxy)
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        follow_redirects=True,
        max_redirects=policy.max_redirects,
        headers={"User-Agent": policy.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        transport=transport,
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    policy: HttpPolicy,
    headers: dict[str, str] | None = None,
    *,
    method: str = "GET",
    form: dict[str, str] | None = None,
    json_body: object = None,
) -> Fetched:
    """GET a URL (or POST a form or JSON body) within `policy.deadline`, the body cut off at
    `policy.max_bytes` (decoded)."""
    try:
        async with asyncio.timeout(policy.deadline):
            return await _fetch(client, url, policy, headers, method, form, json_body)
    except TimeoutError as exc:
        raise FetchError(f"no complete response within the {policy.deadline:g}s deadline") from exc


async def _fetch(
    client: httpx.AsyncClient,
    url: str,
    policy: HttpPolicy,
    headers: dict[str, str] | None,
    method: str,
    form: dict[str, str] | None,
    json_body: object,
) -> Fetched:
    try:
        async with client.stream(
            method, url, headers=headers, data=form, json=json_body
        ) as response:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                raise FetchError(f"response of {declared} bytes exceeds {policy.max_bytes}")
            if response.is_stream_consumed:  # read in memory already (a test's MockTransport)
                chunks = [response.content]
                if len(response.content) > policy.max_bytes:
                    raise TooLarge
            else:
                decoder = BoundedDecoder(response.headers.get("content-encoding"), policy.max_bytes)
                chunks = [decoder.decode(chunk) async for chunk in response.aiter_raw()]
            permanent = bool(response.history) and all(
                r.status_code in (301, 308) for r in response.history
            )
            return Fetched(
                url=str(response.url),
                status=response.status_code,
                headers={k.lower(): v for k, v in response.headers.items()},
                content=b"".join(chunks),
                moved_to=str(response.url) if permanent else None,
            )
    except TooLarge as exc:
        raise FetchError(f"response exceeds {policy.max_bytes} bytes") from exc
    except DecodeError as exc:
        raise FetchError(str(exc)) from exc
    except httpx.TooManyRedirects as exc:
        raise FetchError(f"too many redirects: {exc}") from exc
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out: {type(exc).__name__}") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        # InvalidURL is no HTTPError: a redirect to `javascript:x` or a malformed Location.
        raise FetchError(f"{type(exc).__name__}: {exc}") from exc
