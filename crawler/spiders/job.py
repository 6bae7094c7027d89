"""What a crawl batch is asked to do: plain data, sent to the child process as JSON.

The parent builds a `CrawlJob` from config and storage (the URLs already
stored for each source are its `seen` set); the child rebuilds it with
`CrawlJob.from_json` and runs it. Nothing here imports Scrapy.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class SpiderSpec:
    """One source's spider: where to start, how to read its pages, how far to go.

    Selectors are CSS, or XPath when they start with '/' or '('
    (`crawler.spiders.selectors`).
    """

    key: str
    start_urls: tuple[str, ...]
    spider: str = "listing"
    links: str | None = None  # article links on a list page
    title: str | None = None  # on the list page, relative to each link
    date: str | None = None  # on the list page, relative to each link
    next_page: str | None = None
    max_pages: int = 5  # list pages per start URL
    max_articles: int = 50  # article pages per crawl
    allowed_domains: tuple[str, ...] = ()
    lang: str | None = None
    robots: bool = True
    article_title: str | None = None  # fallbacks when trafilatura finds nothing
    article_body: str | None = None
    article_date: str | None = None
    render: str | None = None  # "browser": rendered in Chromium (crawler.spiders.browser)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SpiderSpec:
        data = dict(data)
        data["start_urls"] = tuple(data["start_urls"])
        data["allowed_domains"] = tuple(data.get("allowed_domains", ()))
        return cls(**data)


@dataclass(frozen=True)
class CrawlSettings:
    """Politeness and limits shared by every spider of a batch (from `[http]` and `[crawl]`)."""

    user_agent: str = "crackdown/0.1 (+https://github.com/crackdown-news/crackdown)"
    delay: float = 1.0  # seconds between requests to one domain (AutoThrottle's floor)
    max_delay: float = 60.0  # AutoThrottle's ceiling
    per_domain: int = 2
    timeout: float = 30.0  # one request, all of it
    source_deadline: float = 300.0  # one source's whole crawl: then it stops with what it has
    retries: int = 1
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    allow_private_networks: bool = False  # crawler.spiders.netguard
    proxy: str | None = None  # http.proxy; None: the proxy environment (crawler.proxies)
    cache_dir: str | None = None  # Scrapy's HTTP cache (development), off when None
    log_level: str = "ERROR"  # the child's Scrapy log level (stderr)
    browser: str = "/usr/bin/chromium"  # the Chromium that renders `render = "browser"` pages


@dataclass(frozen=True)
class SourceJob:
    """A spider and the canonical URLs already stored for its source (not fetched again)."""

    spec: SpiderSpec
    seen: frozenset[str] = frozenset()


@dataclass(frozen=True)
class CrawlJob:
    settings: CrawlSettings
    sources: tuple[SourceJob, ...] = field(default=())

    def to_json(self) -> str:
        return json.dumps(
            {
                "settings": asdict(self.settings),
                "sources": [{"spec": asdict(s.spec), "seen": sorted(s.seen)} for s in self.sources],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> CrawlJob:
        data = json.loads(text)
        return cls(
            settings=CrawlSettings(**data["settings"]),
            sources=tuple(
                SourceJob(SpiderSpec.from_dict(s["spec"]), frozenset(s["seen"]))
                for s in data["sources"]
            ),
        )
