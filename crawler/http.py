"""One HTTP policy for all fetching: timeouts, a size cap, our user agent.

feedparser's own fetching has no timeout, so bytes are fetched here and
handed over.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from crawler.netguard import GuardedTransport, NetworkGuard


@dataclass(frozen=True)
class HttpPolicy:
    """Limits applied to every request a collector makes."""

    user_agent: str = "crackdown/0.1 (+https://github.com/crackdown-news/crackdown)"
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    # Off: a fetch reaches a non-public address only if it is a configured source host's.
    allow_private_networks: bool = False


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

    Its own transport connects only where `crawler.netguard` allows.
    """
    timeout = httpx.Timeout(policy.read_timeout, connect=policy.connect_timeout)
    # Keep as many idle connections as requests may run at once: with httpx's
    # default of 20, httpcore closes every connection after use once more than
    # 20 are open, and each poll pays a new TCP (and TLS) handshake.
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=keepalive)
    if transport is None:
        guard = NetworkGuard(allow_private=policy.allow_private_networks)
        transport = GuardedTransport(guard, limits)
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        follow_redirects=True,
        max_redirects=policy.max_redirects,
        headers={"User-Agent": policy.user_agent},
        transport=transport,
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    policy: HttpPolicy,
    headers: dict[str, str] | None = None,
) -> Fetched:
    """GET a URL, streaming so that a huge body is cut off at `policy.max_bytes`."""
    try:
        async with client.stream("GET", url, headers=headers) as response:
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > policy.max_bytes:
                raise FetchError(f"response of {declared} bytes exceeds {policy.max_bytes}")
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > policy.max_bytes:
                    raise FetchError(f"response exceeds {policy.max_bytes} bytes")
                chunks.append(chunk)
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
    except httpx.TooManyRedirects as exc:
        raise FetchError(f"too many redirects: {exc}") from exc
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out: {type(exc).__name__}") from exc
    except httpx.HTTPError as exc:
        raise FetchError(f"{type(exc).__name__}: {exc}") from exc
