"""`spider = "news-section"`: one section of a news site (a crypto outlet's "Policy" page...).

News sites list stories as cards: an `<article>` (or a `div` whose class
says card, post or item) holding a headline link and a `<time datetime>`;
sponsored cards sit among them; the next page is `<link rel="next">` or
an `<a rel="next">`. With no selectors configured this spider reads
exactly that: each card's headline link (the link in a heading, else one
marked as the title, else the card's first link), its `datetime` (a time
of day included, more precise than most article pages' dates), and skips
cards marked sponsored or advertising (广告, 推广). `links`, `title`,
`date` and `next_page` override each part.
"""

from __future__ import annotations

from parsel import Selector
from scrapy.http import HtmlResponse
from scrapy.utils.response import get_base_url

from crawler.spiders.article import ListEntry, list_title
from crawler.spiders.listing import ListingSpider, _link
from crawler.spiders.selectors import text_of

CARDS = (
    "//article | //*[self::div or self::li][contains(concat(' ', normalize-space(@class), ' '),"
    " ' card ') or contains(@class, 'post-item') or contains(@class, 'article-item')"
    " or contains(@class, 'news-item')]"
)
HEADLINE = (
    ".//*[self::h1 or self::h2 or self::h3 or self::h4]//a[@href]"
    " | .//a[@href][@rel='bookmark' or contains(@class, 'title')]"
)
SPONSORED = ("sponsored", "advert", "广告", "推广", "赞助")
NEXT = "//link[@rel='next']/@href | //a[@rel='next']/@href"
NEXT_TEXTS = ("next", "next page", "older posts", "older", "下一页", "下页", "更多")


class NewsSectionSpider(ListingSpider):
    name = "news-section"

    def list_entries(self, page: HtmlResponse) -> list[ListEntry]:
        """Configured links if any, else each card's headline link, date and title."""
        if self.spec.links:
            return super().list_entries(page)
        base = get_base_url(page)
        entries: dict[str, ListEntry] = {}
        for card in page.xpath(CARDS):
            if card.xpath("ancestor::article"):  # a card inside a card: the outer one counts
                continue
            marks = " ".join([card.attrib.get("class", ""), *card.xpath(".//*/@class").getall()])
            label = " ".join([marks, *card.xpath(".//*[self::span or self::em]/text()").getall()])
            if any(word in label.lower() for word in SPONSORED):
                continue
            links = card.xpath(HEADLINE) or card.xpath(".//a[@href]")
            if not links:
                continue
            url = _link(base, links[0].attrib["href"])
            if url is None or url in entries:
                continue
            title = self.field(card, self.spec.title) or text_of(links[0])
            date = self.field(card, self.spec.date) or _card_date(card)
            entries[url] = ListEntry(url, list_title(title), date)
        return list(entries.values())

    def next_page(self, page: HtmlResponse) -> str | None:
        """`next_page` if configured, else rel="next", else a link reading Next or 下一页."""
        configured = super().next_page(page)
        if configured or self.spec.next_page:
            return configured
        base = get_base_url(page)
        for href in page.xpath(NEXT).getall():
            url = _link(base, href)
            if url:
                return url
        for link in page.xpath("//a[@href]"):
            if text_of(link).strip().lower().rstrip(" »›>") in NEXT_TEXTS:
                url = _link(base, link.attrib["href"])
                if url and url != page.url:
                    return url
        return None


def _card_date(card: Selector) -> str | None:
    times = card.xpath(".//time")
    if not times:
        return None
    return times[0].attrib.get("datetime") or text_of(times[0]).strip() or None
