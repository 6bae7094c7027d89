"""A source's crawl deadline for the downloads in flight, too.

Scrapy's CLOSESPIDER_TIMEOUT stops scheduling at the deadline but then
waits for every download in flight, each up to DOWNLOAD_TIMEOUT: pages
that trickle would hold the sources after this one (same host, same
child) until the batch is killed. This middleware shortens each request's
`download_timeout` to what is left of the deadline when it starts.
"""

from __future__ import annotations

import time
from typing import Any

from scrapy import Request, signals
from scrapy.crawler import Crawler

MIN_TIMEOUT = 0.1  # Scrapy treats 0 as "no timeout"


class SourceDeadline:
    """Downloader middleware: no download outlives CLOSESPIDER_TIMEOUT (after Scrapy's, at 350)."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.ends: float | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SourceDeadline:
        middleware = cls(crawler.settings.getfloat("CLOSESPIDER_TIMEOUT"))
        crawler.signals.connect(middleware.opened, signal=signals.spider_opened)
        return middleware

    def opened(self, **_: Any) -> None:
        if self.deadline > 0:
            self.ends = time.monotonic() + self.deadline

    def process_request(self, request: Request, spider: Any = None) -> None:
        if self.ends is None:
            return
        left = max(self.ends - time.monotonic(), MIN_TIMEOUT)
        timeout = request.meta.get("download_timeout") or left
        request.meta["download_timeout"] = min(timeout, left)
