"""Pages that need a browser (`render = "browser"`): scrapy-playwright driving the system Chromium.

Some regulators' pages (the PBoC's WZWS guard) answer a plain fetch with a
JavaScript challenge that computes a cookie and reloads; only a browser
gets the content. Such sources' requests go through scrapy-playwright's
download handler, driving Debian's `chromium` (Playwright's own browser
download is not used). This is an optional extra: `pip install
crackdown[browser]`. Nothing here imports Playwright until a batch holds a
browser source, so plain spiders never pay for it.

Each browser source crawls in a crawler of its own: one browser, launched
with a fresh profile (Playwright's non-persistent launch makes a new
user-data-dir and deletes it after), one page at a time, every navigation
bounded by the crawl timeout. A page counts as loaded once the challenge's
marks are gone (its reload has happened) and, on a list page, once the
`links` selector finds something (lists that scripts fill in, like the
MPS's).
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any
from urllib.parse import unquote, urlsplit

from crawler.challenge import MARKS
from crawler.proxies import environment_proxies
from crawler.spiders.job import CrawlSettings
from crawler.spiders.selectors import is_xpath

BROWSER = "browser"
INSTALL_HINT = (
    "pip install 'crackdown[browser]' (scrapy-playwright) and Debian's chromium "
    "(apt-get install chromium)"
)
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
HANDLER = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
# True once the page is loaded, shows no challenge mark and (on a list page) holds a link the
# source's `links` selector finds: lists that scripts fill in are read once they are there.
_READY = """(a) => {
  const d = document;
  if (d.readyState !== "complete" || !d.documentElement) return false;
  const html = d.documentElement.outerHTML;
  if (a.marks.some((m) => html.includes(m))) return false;
  try {
    if (a.css) return d.querySelector(a.css) !== null;
    if (a.xpath) return d.evaluate(a.xpath, d, null, 9, null).singleNodeValue !== null;
  } catch (e) {
    return true;
  }
  return true;
}"""


def unavailable(settings: CrawlSettings) -> str | None:
    """Why browser sources cannot be crawled here (one line saying what to install), or None."""
    if importlib.util.find_spec("scrapy_playwright") is None:
        return f"render = browser needs scrapy-playwright: {INSTALL_HINT}"
    if not os.access(settings.browser, os.X_OK):
        where = f"{settings.browser} (crawl.browser)"
        return f"render = browser needs Chromium at {where}: {INSTALL_HINT}"
    return None


def browser_proxy(configured: str | None, environment: dict[str, str]) -> dict[str, str] | None:
    """Chromium's proxy (Playwright's launch option): `http.proxy`, else the environment's.

    scrapy-playwright ignores `request.meta["proxy"]`, and Chromium takes one proxy for
    all schemes; NO_PROXY becomes its bypass list (loopback is proxied, as by httpx).
    """
    server = (
        configured or environment.get("https") or environment.get("http") or environment.get("all")
    )
    if not server:
        return None
    parts = urlsplit(server)
    netloc = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    proxy = {"server": f"{parts.scheme}://{netloc}"}
    if parts.username:
        proxy["username"] = unquote(parts.username)
        proxy["password"] = unquote(parts.password or "")
    if environment.get("no"):
        proxy["bypass"] = environment["no"]
    return proxy


def browser_settings(settings: CrawlSettings) -> dict[str, Any]:
    """Scrapy settings added for a browser source's crawler: the handler, Chromium, one page."""
    timeout_ms = settings.timeout * 1000
    launch: dict[str, Any] = {
        "executable_path": settings.browser,
        "headless": True,
        "args": list(CHROMIUM_ARGS),
        "timeout": timeout_ms,
    }
    proxy = browser_proxy(settings.proxy, environment_proxies())
    if proxy is not None:
        launch["proxy"] = proxy
    return {
        "DOWNLOAD_HANDLERS": {"http": HANDLER, "https": HANDLER},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": launch,
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": timeout_ms,
        "PLAYWRIGHT_MAX_CONTEXTS": 1,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": 1,
        "PLAYWRIGHT_ABORT_REQUEST": "crawler.spiders.browser.skip_heavy",
        # One page at a time on a host: a browser page costs the site far more than a fetch.
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
        "CONCURRENT_REQUESTS": 1,
    }


def skip_heavy(request: Any) -> bool:
    """Images, media and fonts are never fetched: the text is all we read."""
    return bool(request.resource_type in ("image", "media", "font"))


def browser_meta(timeout: float, links: str | None = None) -> dict[str, Any]:
    """Request meta that renders the page in the browser and waits until it is ready.

    Ready: a challenge's reload has happened and, when `links` is given (list
    pages), the selector finds something; waiting longer than `timeout` fails
    the request as timed out.
    """
    from scrapy_playwright.page import PageMethod

    wait_for = {
        "marks": [m.decode("utf-8") for m in MARKS],
        "css": links if links and not is_xpath(links) else None,
        "xpath": links if links and is_xpath(links) else None,
    }
    wait = PageMethod(
        "wait_for_function", _READY, arg=wait_for, timeout=timeout * 1000, polling=100
    )
    return {
        "playwright": True,
        "playwright_page_goto_kwargs": {"wait_until": "load"},
        "playwright_page_methods": [wait],
    }
