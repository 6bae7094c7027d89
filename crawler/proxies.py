"""Which proxy, if any, a fetch goes through: `http.proxy`, else the environment.

One answer for both fetchers (httpx in the daemon, Scrapy in the spider
child), so a request goes the same way whoever makes it. The environment is
the standard one (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, any
case), read as urllib reads it; a configured proxy wins over the first three.
`NO_PROXY` hosts go direct either way, as with curl's `--proxy`.
Only http and https proxies: Scrapy has no SOCKS support, and httpx needs
the extra `socksio` package for it.
"""

from __future__ import annotations

from urllib.parse import urlsplit
from urllib.request import getproxies_environment, proxy_bypass_environment

PROXY_SCHEMES = ("http", "https")


def environment_proxies() -> dict[str, str]:
    """The proxy variables now set, keyed by scheme (`all`, and `no` for NO_PROXY)."""
    return getproxies_environment()


def proxy_for(url: str, configured: str | None, environment: dict[str, str]) -> str | None:
    """The proxy URL to fetch `url` through, or None to connect directly."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    proxy = configured or environment.get(parts.scheme) or environment.get("all")
    if not proxy or not host:
        return None
    try:
        port = parts.port
    except ValueError:
        port = None
    bypass = {"no": environment["no"]} if "no" in environment else {}
    if proxy_bypass_environment(f"{host}:{port}" if port else host, bypass):
        return None
    return proxy


def check_proxy_url(value: str) -> str:
    """A proxy URL we can use: http or https, with a host; raises ValueError otherwise."""
    parts = urlsplit(value.strip())
    if parts.scheme not in PROXY_SCHEMES or not parts.hostname:
        raise ValueError(
            f"{parts.scheme or value!r} proxy not supported: use http://host:port or"
            " https://host:port (SOCKS is not supported)"
        )
    return value.strip()
