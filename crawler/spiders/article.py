"""An article page -> a `CrawledStory`: trafilatura first, then the configured selectors.

Title, body and date come from trafilatura (`crawler.extract`); when it
finds nothing, the source's `article_title`, `article_body` and
`article_date` selectors are tried, then what the list page said. A
regulator's list carries the official title and date, so the notice
spider puts those first (`prefer_list=True`). Links to files (PDF, Word,
Excel, WPS, OFD, archives) are the notice's attachments: they are listed
at the end of the body, so the filter and the reader see them.

Text from the page is untrusted: tags and control characters are removed
and lengths are capped, so a hostile page yields a plain, bounded story.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from parsel import Selector

from crawler.extract import extract_article
from crawler.spiders.dates import parse_date
from crawler.spiders.events import Attachment, CrawledStory
from crawler.spiders.job import SpiderSpec
from crawler.spiders.selectors import select, text_of
from crawler.text import clean_text

MAX_TITLE = 300
MAX_BODY = 200_000
MAX_ATTACHMENTS = 20
FILE_EXTENSIONS = frozenset(
    {".pdf", ".doc", ".docx", ".xls", ".xlsx", ".et", ".wps", ".ofd"}
    | {".ppt", ".pptx", ".zip", ".rar", ".7z", ".txt", ".csv"}
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_ELLIPSIS = re.compile(r"(\.{3,}|…+)$")
_FILE_LINK = re.compile(
    r"\.(" + "|".join(e[1:] for e in FILE_EXTENSIONS) + r")(?:[?#]|$)", re.IGNORECASE
)


@dataclass(frozen=True)
class ListEntry:
    """An article link on a list page, with what the list says about it."""

    url: str
    title: str = ""
    date: str | None = None  # as written on the list page


def plain(text: str | None, limit: int) -> str:
    """Untrusted page text as one plain line: no tags, no control or bidi characters, capped."""
    cleaned = clean_text(_CONTROL.sub("", text or ""))
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1].rstrip() + "…"


def list_title(text: str | None) -> str:
    """A list page's title for a link, without the '...' of a title cut to fit the column."""
    return _ELLIPSIS.sub("", plain(text, MAX_TITLE)).strip()


def is_file(url: str) -> bool:
    """A link to a document rather than a web page (by its extension)."""
    return PurePosixPath(urlsplit(url).path.lower()).suffix in FILE_EXTENSIONS


def file_name(url: str) -> str:
    return unquote(PurePosixPath(urlsplit(url).path).name)


def attachments_of(page: Selector, base_url: str) -> tuple[Attachment, ...]:
    """The files a page links to, in page order, named by their link text."""
    found: dict[str, Attachment] = {}
    root = page.root
    if isinstance(root, str) or root is None:
        return ()
    for link in root.iter("a"):  # lxml directly: pages have hundreds of links, few files
        href = (link.get("href") or "").strip()
        if not _FILE_LINK.search(href):
            continue
        url = urljoin(base_url, href)
        if not url.startswith(("http://", "https://")) or not is_file(url) or url in found:
            continue
        found[url] = Attachment(plain(link.text_content(), MAX_TITLE) or file_name(url), url)
        if len(found) == MAX_ATTACHMENTS:
            break
    return tuple(found.values())


def with_attachments(body: str, attachments: tuple[Attachment, ...], lang: str | None) -> str:
    """The body, followed by one line per attachment (name and link)."""
    if not attachments:
        return body
    heading = "附件：" if lang == "zh" else "Attachments:"
    lines = "\n".join(f"{a.name} {a.url}" for a in attachments)
    return f"{body}\n\n{heading}\n{lines}".strip()


def _first(page: Selector, selector: str | None, separator: str = " ") -> str:
    if not selector:
        return ""
    return separator.join(text_of(node).strip() for node in select(page, selector)).strip()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def file_story(spec: SpiderSpec, entry: ListEntry, zone: tzinfo) -> CrawledStory | None:
    """A list entry that links straight to a document: the list's title stands for it."""
    if not entry.title:
        return None
    attachment = Attachment(entry.title, entry.url)
    return CrawledStory(
        url=entry.url,
        title=entry.title,
        body=with_attachments("", (attachment,), spec.lang),
        published_at=_iso(parse_date(entry.date, zone)),
        lang=spec.lang,
        attachments=(attachment,),
    )


def article_story(
    page: Selector,
    html: str,
    base_url: str,
    spec: SpiderSpec,
    entry: ListEntry,
    zone: tzinfo,
    *,
    prefer_list: bool = False,
) -> CrawledStory | None:
    """The story on an article page, or None when it has neither title nor text."""
    article = extract_article(html, base_url)
    titles = [article.title, _first(page, spec.article_title), entry.title]
    if prefer_list:
        titles.insert(0, entry.title)
    title = next((t for t in (plain(t, MAX_TITLE) for t in titles) if t), "")
    body = article.text or _first(page, spec.article_body, "\n")
    body = _CONTROL.sub("", body)[:MAX_BODY].strip()
    if not title and not body:
        return None
    published = (
        parse_date(entry.date, zone)
        or parse_date(article.date, zone)
        or parse_date(_first(page, spec.article_date), zone)
    )
    attachments = attachments_of(page, base_url)
    return CrawledStory(
        url=entry.url,
        title=title,
        body=with_attachments(body, attachments, spec.lang),
        published_at=_iso(published),
        lang=spec.lang,
        attachments=attachments,
    )
