"""Our crawl policy as Scrapy settings: polite, bounded, quiet.

Politeness: robots.txt obeyed (a source may opt out with `robots = false`,
which marks its requests `dont_obey_robotstxt`), AutoThrottle on, at most
`per_domain` requests to one domain at a time, `delay` between them (the
floor AutoThrottle adapts from), our user agent, no cookies. Bounds: a
timeout per request (the whole download), a deadline per source's crawl,
a maximum response size (held while decompressing), redirects, retries, a depth
limit and a page count per spider as safety nets behind the spiders' own
`max_pages` and `max_articles`. Scrapy's HTTP cache is for development
(`crackdown crawl --cache`): every response is kept and replayed, except
server errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crawler.spiders.job import CrawlSettings, SpiderSpec

ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ACCEPT_LANGUAGE = "zh-CN,zh;q=0.9,en;q=0.8"


def scrapy_settings(settings: CrawlSettings, specs: Sequence[SpiderSpec]) -> dict[str, Any]:
    """Scrapy settings for one batch; limits that Scrapy keeps per process take the batch's max."""
    max_pages = max((s.max_pages for s in specs), default=1)
    max_responses = max(
        (s.max_pages * len(s.start_urls) + s.max_articles for s in specs), default=1
    )
    return {
        "BOT_NAME": "crackdown",
        "USER_AGENT": settings.user_agent,
        "DEFAULT_REQUEST_HEADERS": {"Accept": ACCEPT, "Accept-Language": ACCEPT_LANGUAGE},
        "ROBOTSTXT_OBEY": True,
        "COOKIES_ENABLED": False,
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": settings.delay,
        "AUTOTHROTTLE_MAX_DELAY": max(settings.max_delay, settings.delay),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "DOWNLOAD_DELAY": settings.delay,
        "DOWNLOAD_DELAY_JITTER": 0.5,  # each delay 50-150% of `delay`
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.per_domain,
        "CONCURRENT_REQUESTS": 16,
        "DOWNLOAD_TIMEOUT": settings.timeout,
        "DNS_TIMEOUT": min(settings.timeout, 60.0),
        "DOWNLOAD_MAXSIZE": settings.max_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "REDIRECT_MAX_TIMES": settings.max_redirects,
        "RETRY_TIMES": settings.retries,
        "RETRY_GIVE_UP_LOG_LEVEL": "INFO",  # our error events report it
        # List pages sit at depths 0..max_pages-1, their articles one deeper.
        "DEPTH_LIMIT": max_pages + 1,
        # Responses per spider (robots.txt, retries and redirects count): a safety net.
        "CLOSESPIDER_PAGECOUNT": 2 * max_responses + 10,
        # One source's whole crawl: pages that each answer just inside DOWNLOAD_TIMEOUT must
        # not hold the sources after it on the same host until the batch is killed.
        "CLOSESPIDER_TIMEOUT": settings.source_deadline,
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.spiders.netguard.PrivateNetworkGuard": 50,
            "crawler.spiders.deadline.SourceDeadline": 351,
        },
        "HTTPCACHE_ENABLED": settings.cache_dir is not None,
        "HTTPCACHE_DIR": settings.cache_dir or "httpcache",
        "HTTPCACHE_IGNORE_HTTP_CODES": [429, 500, 502, 503, 504],
        "TELNETCONSOLE_ENABLED": False,
        # Before robots.txt (100): a private address is refused before anything is fetched.
        "CRACKDOWN_ALLOW_PRIVATE_NETWORKS": settings.allow_private_networks,
        "CRACKDOWN_PROXY": settings.proxy,  # set on each request by the guard
        # Scrapy re-reads each callback's source per response to warn about `return x` in a
        # generator; for bound methods its cache never hits (a tenth of a crawl's CPU).
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        # Scrapy starts this many asyncio tasks for every callback's output; we have no item
        # pipelines to run in parallel, and the default (100) cost another tenth.
        "CONCURRENT_ITEMS": 4,
        "LOGSTATS_INTERVAL": 0,
        "STATS_DUMP": False,
        "LOG_LEVEL": settings.log_level,
        "LOG_FORMAT": "%(levelname)s %(name)s: %(message)s",
    }
