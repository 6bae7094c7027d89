"""Article text from a web page, with trafilatura (F1 0.92 on its benchmark).

trafilatura (with lxml_html_clean, htmldate, courlan, justext) is imported at the first page
read, not with this module: a daemon whose sources have no `full_text` never reads one, and
importing it cost about 10 MB of every daemon's RSS (bench/README.md, session 15).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from crawler.challenge import NEEDS_BROWSER, is_challenge
from crawler.http import FetchError, HttpPolicy, fetch
from crawler.text import clean_text


@dataclass(frozen=True)
class Article:
    title: str
    text: str
    date: str | None = None  # YYYY-MM-DD as trafilatura (htmldate) found it


def charset_of(content_type: str) -> str | None:
    """The charset parameter of a Content-Type header, if any."""
    for part in content_type.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            return value.strip("\"'")
    return None


def decode_html(content: bytes, declared: str | None = None) -> str:
    """Bytes -> text: declared charset, else trafilatura's detection (handles GBK/GB18030)."""
    if declared:
        try:
            return content.decode(declared)
        except (LookupError, UnicodeDecodeError):
            pass
    from trafilatura.utils import decode_file

    return decode_file(content)


def extract_article(html: str, url: str | None = None) -> Article:
    """The main text and title of a page; an empty Article when nothing is found."""
    from trafilatura import bare_extraction

    document = bare_extraction(html, url=url, with_metadata=True, favor_recall=True)
    if document is None:
        return Article("", "")
    return Article(
        clean_text(document.title or ""), (document.text or "").strip(), document.date or None
    )


async def fetch_article(client: httpx.AsyncClient, url: str, policy: HttpPolicy) -> Article:
    """Fetch a web page under the HTTP policy and extract its article.

    Extraction runs in a worker thread (CPU work that would stall an event
    loop). Raises FetchError for HTTP errors and responses that are not pages.
    """
    response = await fetch(client, url, policy)
    if response.status >= 400:
        raise FetchError(f"HTTP {response.status}")
    content_type = response.headers.get("content-type", "")
    if content_type and "html" not in content_type.lower():
        raise FetchError(f"not a web page ({content_type.split(';')[0]})")
    if is_challenge(response.content):
        raise FetchError(NEEDS_BROWSER)
    html = decode_html(response.content, charset_of(content_type))
    return await asyncio.to_thread(extract_article, html, response.url)
