"""The generic listing spider: list pages -> article links -> article pages, driven by config.

For each start URL: read the list page, take the article links the
`links` selector finds (optionally a title and a date next to each), fetch
the articles not seen before, follow `next_page` up to `max_pages` list
pages. Pagination stops early at a list page with nothing new: lists are
newest first, so an incremental crawl reads one page. At most
`max_articles` articles are fetched per crawl; links to other sites than
`allowed_domains` are ignored; links straight to documents (PDF...) are
stories of their own, titled by the list, and are never downloaded.

`title` and `date` are looked for inside each matched link element, then
in its row: the nearest enclosing `li`, `tr`, `dd` or `article`, else its
parent (so `links = "ul.list a"` with `date = "span"` finds the date
beside the link in the same `<li>`, and `td.date` the cell in its `<tr>`).

Dedicated spiders (`crawler.spiders.notices`, `crawler.spiders.news`)
override `list_entries`, `next_page` and `prefer_list`. Every callback is
an async generator of a response, so tests feed saved pages to them; pages
are read in one worker thread, so a huge page does not stall the reactor.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator, Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

import scrapy
from parsel import Selector
from scrapy.http import HtmlResponse, Request, Response, TextResponse
from scrapy.utils.response import get_base_url
from twisted.python.failure import Failure

from crawler.challenge import NEEDS_BROWSER, is_challenge
from crawler.spiders.article import ListEntry, article_story, file_story, is_file, list_title
from crawler.spiders.browser import BROWSER, browser_meta
from crawler.spiders.dates import zone_for
from crawler.spiders.decoding import decode_page
from crawler.spiders.events import CrawledStory, Done, Error, Event, Item, Page
from crawler.spiders.job import SpiderSpec
from crawler.spiders.selectors import href_of, select, text_of
from crawler.urls import canonical_url

Emit = Callable[[Event], None]
_T = TypeVar("_T")
STILL_CHALLENGED = "still a JavaScript challenge page after rendering in the browser"
ASKED = "crackdown_asked"  # meta: the URL first requested (kept through redirects)
DROPPED = (
    "no response: redirected off the source's domains, in a loop, or to a page fetched already"
)
ROW = "ancestor::*[self::li or self::tr or self::dd or self::article][1]"
# Reading a page (lxml, trafilatura) takes seconds for a 10 MB page: done in the reactor's
# thread it stalls every download of the crawl, and their timeouts cut them. One thread:
# pages are read one at a time, as before, and only one big tree is in memory at once.
_READER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="page-reader")


def _ignore(_event: Event) -> None:
    return None


def describe_failure(failure: Failure, timeout: float | None = None) -> tuple[str, bool]:
    """A failed request as a short reason for the log, and whether robots.txt refused it."""
    exc = failure.value
    name = type(exc).__name__
    response = getattr(exc, "response", None)
    if response is not None and name == "HttpError":
        return f"HTTP {response.status}", False
    if "robots.txt" in str(exc):
        return "forbidden by robots.txt", True
    if name in ("DownloadTimeoutError", "TimeoutError", "TCPTimedOutError"):
        return (f"timed out after {timeout:g}s" if timeout else "timed out"), False
    if name == "DownloadCancelledError" or "max size" in str(exc):
        return "response larger than the maximum size (http.max_bytes)", False
    return f"{name}: {exc}"[:300], False


def domain_allowed(url: str, domains: Collection[str]) -> bool:
    """An http(s) URL on one of `domains` or a subdomain of one (all, when there are none)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return False
    host = (parts.hostname or "").lower()
    return not domains or any(host == d or host.endswith("." + d) for d in domains)


class ListingSpider(scrapy.Spider):
    """List pages to article pages, as the source's selectors say."""

    name = "listing"
    prefer_list = False  # list title and date before the article page's

    def __init__(
        self,
        spec: SpiderSpec,
        seen: Collection[str] = frozenset(),
        emit: Emit = _ignore,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.spec = spec
        self.seen = seen
        self.emit = emit
        self.timeout = timeout
        domains = spec.allowed_domains or tuple(
            (urlsplit(u).hostname or "").lower() for u in spec.start_urls
        )
        self.allowed_domains = [d.lower() for d in domains if d]
        self.zone = zone_for(spec.lang)
        self.counts: Counter[str] = Counter()
        self.scheduled: set[str] = set()  # canonical article URLs requested in this crawl
        self.list_urls: set[str] = set()
        self.first_error: str | None = None
        # Requested URL -> kind, until its callback or errback runs. Scrapy drops a request
        # whose redirect leaves allowed_domains, loops, or reaches a page fetched already,
        # and calls neither: a site moved to a new domain yielded nothing, without an error.
        self.unanswered: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> ListingSpider:
        spider: ListingSpider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._scraped, signal=scrapy.signals.item_scraped)
        return spider

    def _scraped(self, item: Any, **_: Any) -> None:
        if isinstance(item, CrawledStory):
            self.emit(Item(self.spec.key, item))

    async def start(self) -> AsyncIterator[Request]:
        for url in self.spec.start_urls:
            yield self.list_request(url, page=1)

    # -- requests -----------------------------------------------------------------------

    def _meta(self, kind: str, page: int = 0) -> dict[str, Any]:
        meta: dict[str, Any] = {"kind": kind, "page": page}
        if not self.spec.robots:
            meta["dont_obey_robotstxt"] = True
        if self.spec.render == BROWSER:
            links = self.spec.links if kind == "list" else None
            meta.update(browser_meta(self.timeout or 30.0, links))
        return meta

    def list_request(self, url: str, page: int) -> Request:
        self.list_urls.add(url)
        self.unanswered[url] = "list"
        meta = {**self._meta("list", page), ASKED: url}
        return Request(url, self.parse_list, errback=self.failed, meta=meta)

    def article_request(self, entry: ListEntry) -> Request:
        self.unanswered[entry.url] = "article"
        return Request(
            entry.url,
            self.parse_article,
            errback=self.failed,
            meta={**self._meta("article"), ASKED: entry.url},
            cb_kwargs={"entry": entry},
        )

    def _answered(self, answer: Request | Response) -> None:
        try:
            asked = answer.meta.get(ASKED, answer.url)
        except AttributeError:  # a response tied to no request (a test's)
            asked = answer.url
        self.unanswered.pop(asked, None)

    # -- callbacks ----------------------------------------------------------------------

    async def parse_list(self, response: Response) -> AsyncIterator[Request | CrawledStory]:
        self._answered(response)
        page = await _off_reactor(self.as_page, response)
        if page is None:
            self._error(response.url, "list", f"not a web page ({_content_type(response)})")
            return
        if is_challenge(response.body):  # never a list, and never a story
            why = STILL_CHALLENGED if self.spec.render == BROWSER else NEEDS_BROWSER
            self.logger.warning("source %s: %s: %s", self.spec.key, response.url, why)
            self._error(response.url, "list", why)
            return
        self.counts["list_pages"] += 1
        found, following = await _off_reactor(self._read_list, page)
        entries = [e for e in found if domain_allowed(e.url, self.allowed_domains)]
        new = [e for e in entries if canonical_url(e.url) not in self.seen]
        new = [e for e in new if canonical_url(e.url) not in self.scheduled]
        self.emit(
            Page(self.spec.key, response.url, response.status, "list", len(entries), len(new))
        )
        for entry in new:
            if is_file(entry.url):
                story = file_story(self.spec, entry, self.zone)
                if story is not None:
                    self.scheduled.add(canonical_url(entry.url))
                    self.counts["items"] += 1
                    yield story
                continue
            if self.counts["articles"] >= self.spec.max_articles:
                self.counts["over_limit"] += 1
                continue
            self.counts["articles"] += 1
            self.scheduled.add(canonical_url(entry.url))
            yield self.article_request(entry)
        number = int(response.meta.get("page", 1))
        if not new or number >= self.spec.max_pages or self.counts["over_limit"]:
            return
        if (
            following
            and following not in self.list_urls
            and domain_allowed(following, self.allowed_domains)
        ):
            yield self.list_request(following, number + 1)

    async def parse_article(
        self, response: Response, entry: ListEntry
    ) -> AsyncIterator[CrawledStory]:
        self._answered(response)
        page = await _off_reactor(self.as_page, response)
        if page is None:  # a document behind a page-like link: the list's title stands for it
            story = file_story(self.spec, entry, self.zone)
            if story is None:
                self._error(response.url, "article", f"not a web page ({_content_type(response)})")
                return
            self.counts["items"] += 1
            yield story
            return
        if is_challenge(response.body):
            why = STILL_CHALLENGED if self.spec.render == BROWSER else NEEDS_BROWSER
            self._error(response.url, "article", why)
            return
        self.counts["pages"] += 1
        self.emit(Page(self.spec.key, response.url, response.status, "article"))
        story = await _off_reactor(self._read_article, page, entry)
        if story is None:
            self._error(response.url, "article", "no title or text found")
            return
        self.counts["items"] += 1
        yield story

    def failed(self, failure: Failure) -> None:
        request = failure.request  # type: ignore[attr-defined]
        self._answered(request)
        # The source's deadline may have cut this request's timeout (crawler.spiders.deadline).
        timeout = request.meta.get("download_timeout", self.timeout)
        error, blocked = describe_failure(failure, timeout)
        self._error(request.url, request.meta.get("kind", "article"), error, blocked=blocked)

    def closed(self, reason: str) -> None:
        if reason == "finished":  # not cut short: what is unanswered was dropped on the way
            for url, kind in self.unanswered.items():
                self._error(url, kind, DROPPED)
        c = self.counts
        self.emit(
            Done(
                self.spec.key,
                reason,
                list_pages=c["list_pages"],
                pages=c["pages"],
                items=c["items"],
                errors=c["errors"],
                blocked=c["blocked"],
                first_error=self.first_error if not c["list_pages"] else None,
            )
        )

    # -- reading pages (dedicated spiders override these) --------------------------------

    def _read_list(self, page: HtmlResponse) -> tuple[list[ListEntry], str | None]:
        return self.list_entries(page), self.next_page(page)

    def _read_article(self, page: HtmlResponse, entry: ListEntry) -> CrawledStory | None:
        return article_story(
            page.selector,
            page.text,
            get_base_url(page),
            self.spec,
            entry,
            self.zone,
            prefer_list=self.prefer_list,
        )

    def list_entries(self, page: HtmlResponse) -> list[ListEntry]:
        """The article links of a list page, in page order, each once."""
        if not self.spec.links:
            return []
        base = get_base_url(page)
        entries: dict[str, ListEntry] = {}
        for node in select(page.selector, self.spec.links):
            url = _link(base, href_of(node))
            if url is None or url in entries:
                continue
            title = self.field(node, self.spec.title) or node.attrib.get("title") or text_of(node)
            entries[url] = ListEntry(url, list_title(title), self.field(node, self.spec.date))
        return list(entries.values())

    def next_page(self, page: HtmlResponse) -> str | None:
        """The next list page's URL, if the `next_page` selector finds one."""
        if not self.spec.next_page:
            return None
        for node in select(page.selector, self.spec.next_page):
            url = _link(get_base_url(page), href_of(node))
            if url:
                return url
        return None

    @staticmethod
    def field(node: Selector, selector: str | None) -> str | None:
        """A selector's text inside a link element, else inside its row; None if empty.

        The row is the nearest enclosing `li`, `tr`, `dd` or `article`, else the parent.
        """
        if not selector:
            return None
        row = node.xpath(ROW) or node.xpath("..")
        for scope in (node, *row[:1]):
            found = select(scope, selector)
            if found:
                text = " ".join(text_of(f).strip() for f in found).strip()
                if text:
                    return text
        return None

    # -- plumbing -------------------------------------------------------------------------

    def as_page(self, response: Response) -> HtmlResponse | None:
        """The response as HTML decoded with the right charset, or None if it is no web page."""
        if not isinstance(response, TextResponse):
            return None
        content_type = _content_type(response)
        if content_type and not any(kind in content_type.lower() for kind in ("html", "xml")):
            return None
        decoded = decode_page(response.body, content_type)
        if decoded.note:  # an undeclared GBK page is routine on Chinese sites; a lie is not
            level = logging.WARNING if decoded.suspect else logging.INFO
            self.logger.log(level, "source %s: %s: %s", self.spec.key, response.url, decoded.note)
        return response.replace(
            cls=HtmlResponse, body=decoded.text.encode("utf-8"), encoding="utf-8"
        )

    def _error(self, url: str, kind: str, error: str, *, blocked: bool = False) -> None:
        self.counts["blocked" if blocked else "errors"] += 1
        if kind == "list" and self.first_error is None:
            self.first_error = f"{url}: {error}"
        self.emit(Error(self.spec.key, url, kind, error, blocked))


async def _off_reactor(read: Callable[..., _T], *args: Any) -> _T:
    """`read(*args)` in the page reader's thread, so the reactor keeps serving downloads."""
    return await asyncio.get_running_loop().run_in_executor(_READER, read, *args)


def _content_type(response: Response) -> str:
    return (response.headers.get(b"Content-Type") or b"").decode("latin-1")


def _link(base: str, href: str | None) -> str | None:
    """An absolute http(s) link without its fragment, or None for javascript:, mailto: and '#'."""
    if not href or href.startswith(("javascript:", "mailto:", "tel:", "#")):
        return None
    url = urljoin(base, href).split("#", 1)[0]
    return url if url.startswith(("http://", "https://")) else None
