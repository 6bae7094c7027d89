"""`spider = "gov-notices"`: a Chinese regulator's notice list (通知公告, 政策法规...).

Most government sites run on the same few CMSs (TRS WCM above all), and
their notice lists look alike: one `<li>` or table row per notice with a
link and a date, the full title in the link's `title` attribute and a cut
one in its text, relative links (`./202109/t20210924_123.html`), GB2312 or
UTF-8, and pages numbered `index.html`, `index_1.html`... by a script
(`createPageHTML(5, 0, "index", "html")`) rather than a link. Notice pages
list their attachments (PDF, Word, Excel, WPS...).

So, with no selectors configured, this spider takes every link in a row
(`li`, `tr`, `dd`) that also shows a date, titled by its `title`
attribute, dated by that row; and it pages by a configured `next_page`,
else a 下一页 link, else the `createPageHTML` call. The list's title and
date are preferred over the article page's (the page's `<title>` usually
carries the site's name too). `links`, `title` and `date` may still be set
to narrow it down.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin

from scrapy.http import HtmlResponse
from scrapy.utils.response import get_base_url

from crawler.spiders.article import ListEntry, list_title
from crawler.spiders.dates import parse_date
from crawler.spiders.listing import ListingSpider, _link
from crawler.spiders.selectors import text_of

ROW = "ancestor-or-self::*[self::li or self::tr or self::dd][1]"
NEXT_TEXTS = ("下一页", "下页", "后页", "下一頁")
# createPageHTML(5, 0, "index", "html"), or with variables: var countPage = 5 ... (countPage, ...)
_PAGER = re.compile(
    r"createPageHTML\(\s*['\"]?(\w+)['\"]?\s*,\s*['\"]?(\w+)['\"]?\s*,"
    r"\s*['\"]([^'\"]+)['\"]\s*,\s*['\"]([^'\"]+)['\"]"
)
_DATE = re.compile(
    r"\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?(?:\s*\d{1,2}:\d{2}(?::\d{2})?)?"
)
MIN_TITLE = 4  # characters: "首页", "更多" and "下一页" are navigation, not notices


class GovNoticesSpider(ListingSpider):
    name = "gov-notices"
    prefer_list = True

    def list_entries(self, page: HtmlResponse) -> list[ListEntry]:
        """Configured links if any, else the links in rows that show a date; dated by the row."""
        if self.spec.links:
            return [self._dated(e, page) for e in super().list_entries(page)]
        base = get_base_url(page)
        entries: dict[str, ListEntry] = {}
        for link in page.xpath("//a[@href]"):
            rows = link.xpath(ROW)
            if not rows:
                continue
            title = list_title(link.attrib.get("title") or text_of(link))
            date = _row_date(text_of(rows[0]), title)
            url = _link(base, link.attrib["href"])
            if url is None or date is None or len(title) < MIN_TITLE or url in entries:
                continue
            entries[url] = ListEntry(url, title, date)
        return list(entries.values())

    def _dated(self, entry: ListEntry, page: HtmlResponse) -> ListEntry:
        if entry.date:
            return entry
        for link in page.xpath("//a[@href]"):
            if _link(get_base_url(page), link.attrib["href"]) == entry.url:
                rows = link.xpath(ROW)
                date = _row_date(text_of(rows[0]), entry.title) if rows else None
                return ListEntry(entry.url, entry.title, date)
        return entry

    def next_page(self, page: HtmlResponse) -> str | None:
        """`next_page` if configured, else a 下一页 link, else the createPageHTML script's next."""
        configured = super().next_page(page)
        if configured or self.spec.next_page:
            return configured
        base = get_base_url(page)
        for link in page.xpath("//a[@href]"):
            if text_of(link).strip() in NEXT_TEXTS:
                url = _link(base, link.attrib["href"])
                if url and url != page.url:
                    return url
        return _script_next(page.text, page.url)


def _script_next(text: str, url: str) -> str | None:
    """The page after this one by TRS's pager script: index.html, index_1.html, index_2.html..."""
    match = _PAGER.search(text)
    if match is None:
        return None
    count, current = (_number(text, value) for value in match.group(1, 2))
    prefix, suffix = match.group(3, 4)
    if count is None or current is None or current + 1 >= count:
        return None
    return urljoin(url, f"{prefix}_{current + 1}.{suffix}")


def _number(text: str, value: str) -> int | None:
    """A pager argument: a number, or a variable the script set to one (var countPage = 5)."""
    if value.isdigit():
        return int(value)
    found = re.search(rf"\b{re.escape(value)}\s*=\s*['\"]?(\d+)", text)
    return int(found.group(1)) if found else None


def _row_date(row_text: str, title: str) -> str | None:
    """The date (and time, if any) written in a list row, outside its title."""
    rest = row_text.replace(title, " ") if title else row_text
    match = _DATE.search(rest)
    if match is None or parse_date(match.group(0)) is None:
        return None
    return match.group(0).strip()
