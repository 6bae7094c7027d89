"""The spiders' callbacks on saved pages: what they request, what stories they make. No network."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

from scrapy.http import HtmlResponse, Request, Response

from crawler.spiders.article import ListEntry
from crawler.spiders.events import CrawledStory, Event, Page
from crawler.spiders.job import SpiderSpec
from crawler.spiders.listing import ListingSpider
from crawler.spiders.news import NewsSectionSpider
from crawler.spiders.notices import GovNoticesSpider
from crawler.urls import canonical_url

DATA = Path(__file__).resolve().parents[1] / "data" / "spiders"
GOV = "http://bank.example.gov.cn/zwgk/tzgg/"
NEWS = "https://ledger.example/policy/"
NOTICE = "关于进一步防范和处置虚拟货币交易炒作风险的通知"


def page(url: str, body: bytes | str, content_type: str = "text/html", page: int = 1) -> Response:
    """A response as Scrapy would hand it to a callback (bytes as served, no charset guessed)."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    request = Request(url, meta={"page": page})
    return HtmlResponse(url, body=data, headers={"Content-Type": content_type}, request=request)


def saved(name: str) -> bytes:
    return (DATA / name).read_bytes()


def run(callback_result: AsyncIterator[object]) -> tuple[list[Request], list[CrawledStory]]:
    async def collect() -> list[object]:
        return [output async for output in callback_result]

    out = asyncio.run(collect())
    return [r for r in out if isinstance(r, Request)], [
        s for s in out if isinstance(s, CrawledStory)
    ]


def gov_spider(events: list[Event], **spec: object) -> GovNoticesSpider:
    base = SpiderSpec(key="pbc", start_urls=(GOV + "index.html",), spider="gov-notices", lang="zh")
    return GovNoticesSpider(spec=replace(base, **spec), emit=events.append)  # type: ignore[arg-type]


def test_a_gbk_notice_list_yields_its_notices_with_full_titles_and_dates() -> None:
    events: list[Event] = []
    spider = gov_spider(events)
    requests, stories = run(
        spider.parse_list(page(GOV + "index.html", saved("notice_list_gbk.html")))
    )
    articles = [r for r in requests if r.callback == spider.parse_article]
    entries = [r.cb_kwargs["entry"] for r in articles]
    assert entries[0] == ListEntry(GOV + "202109/t20210924_4101.html", NOTICE, "2021-09-24")
    # The link text is cut ("...进行..."); the title attribute is not.
    assert entries[4].title == "关于防范以“虚拟货币”“区块链”名义进行非法集资的风险提示"
    assert len(entries) == 8  # nav, sub-nav and footer links have no date; pbc.gov.cn is off-site
    assert all(e.url.startswith(GOV) for e in entries)
    # A link straight to a PDF is a story of its own, titled by the list, never downloaded.
    (pdf,) = stories
    assert pdf.title == "某某市打击非法集资工作领导小组办公室公告"
    assert pdf.published_at == "2021-07-01T00:00:00+08:00"
    assert pdf.url.endswith(".pdf") and pdf.url in pdf.body
    # The next page comes from createPageHTML(countPage, currentPage, "index", "html").
    (following,) = [r for r in requests if r.callback == spider.parse_list]
    assert following.url == GOV + "index_1.html" and following.meta["page"] == 2
    assert events == [Page("pbc", GOV + "index.html", 200, "list", links=9, new=9)]


def test_the_trs_pager_stops_at_its_last_page_and_at_max_pages() -> None:
    script = (
        '<ul><li><a href="a.html" title="关于某事的通知">关于某事的通知</a> 2021-01-0{n}</li></ul>'
    )
    last = script.format(n=1) + '<script>createPageHTML(3, 2, "index", "html");</script>'
    spider = gov_spider([])
    requests, _ = run(spider.parse_list(page(GOV + "index_2.html", last, page=1)))
    assert [r.url for r in requests] == [GOV + "a.html"]
    middle = script.format(n=2).replace("a.html", "b.html")
    middle += '<script>createPageHTML(3, 1, "index", "html");</script>'
    capped = gov_spider([], max_pages=2)
    requests, _ = run(capped.parse_list(page(GOV + "index_1.html", middle, page=2)))
    assert [r.url for r in requests] == [GOV + "b.html"]


def test_only_unseen_articles_are_requested_and_paging_stops_when_nothing_is_new() -> None:
    seen = {canonical_url(GOV + "202109/t20210924_4101.html")}
    events: list[Event] = []
    spider = GovNoticesSpider(
        spec=SpiderSpec("pbc", (GOV + "index.html",), spider="gov-notices", max_articles=3),
        seen=seen,
        emit=events.append,
    )
    requests, _ = run(spider.parse_list(page(GOV + "index.html", saved("notice_list_gbk.html"))))
    urls = [r.url for r in requests if r.callback == spider.parse_article]
    assert GOV + "202109/t20210924_4101.html" not in urls
    assert len(urls) == 3  # max_articles
    assert not [r for r in requests if r.callback == spider.parse_list]  # over the limit: stop
    assert events[0] == Page("pbc", GOV + "index.html", 200, "list", links=9, new=8)
    listed = spider.as_page(page(GOV + "index.html", saved("notice_list_gbk.html")))
    assert listed is not None
    everything = {canonical_url(e.url) for e in spider.list_entries(listed)}
    again = GovNoticesSpider(spec=spider.spec, seen=everything)
    requests, stories = run(
        again.parse_list(page(GOV + "index.html", saved("notice_list_gbk.html")))
    )
    assert requests == [] and stories == []  # nothing new: no article, no next page


def test_a_notice_page_gives_the_list_title_and_date_and_its_attachments() -> None:
    spider = gov_spider([])
    entry = ListEntry(GOV + "202109/t20210924_4101.html", NOTICE, "2021-09-24")
    _, (story,) = run(spider.parse_article(page(entry.url, saved("notice_gbk.html")), entry))
    assert story.title == NOTICE and story.lang == "zh"
    assert story.published_at == "2021-09-24T00:00:00+08:00"
    assert "坚决依法取缔" in story.body
    names = [a.name for a in story.attachments]
    assert names == [
        "1. 关于进一步防范和处置虚拟货币交易炒作风险的通知（全文）.pdf",
        "2. 虚拟货币交易炒作风险线索举报表.doc",
    ]
    assert story.attachments[1].url == GOV + "202109/P020210924571230583619.doc"
    assert story.body.endswith(
        "附件：\n" + "\n".join(f"{a.name} {a.url}" for a in story.attachments)
    )
    # Without a list date, trafilatura's date (from <meta name="PubDate">) is used.
    undated = replace(entry, date=None)
    _, (story,) = run(spider.parse_article(page(entry.url, saved("notice_gbk.html")), undated))
    assert story.published_at == "2021-09-24T00:00:00+08:00"


def test_a_news_section_yields_headline_links_with_times_and_skips_sponsored_cards() -> None:
    spider = NewsSectionSpider(spec=SpiderSpec("ledger", (NEWS,), spider="news-section", lang="en"))
    requests, _ = run(spider.parse_list(page(NEWS, saved("news_section.html"))))
    entries = [r.cb_kwargs["entry"] for r in requests if r.callback == spider.parse_article]
    assert [e.title for e in entries] == [
        "PBoC warns banks over USDT OTC settlement as Shenzhen police freeze accounts",
        "Bitcoin ETF inflows slow for a second week",
        "Hong Kong's SFC licenses two more crypto exchanges",
        "Guangzhou court jails five for laundering fraud proceeds through USDT",
    ]  # not "Trade 500+ tokens..." (sponsored, and off-site)
    assert entries[0].date == "2024-06-15T09:30:00+08:00"
    (following,) = [r for r in requests if r.callback == spider.parse_list]
    assert following.url == "https://ledger.example/policy/page/2/"
    _, (story,) = run(
        spider.parse_article(page(entries[0].url, saved("news_article.html")), entries[0])
    )
    assert story.title == entries[0].title
    assert "Police in Shenzhen said on Friday" in story.body
    assert "Buy crypto in minutes" not in story.body
    assert story.published_at == "2024-06-15T09:30:00+08:00"


LIST = """<html><body><div class="nav"><a href="/">Home</a></div>
<table class="list">
  <tr><td><a href="/n/1.html">First notice</a></td><td class="d">2024/06/01</td></tr>
  <tr><td><a href="/n/2.html" title="Second notice, in full">Second no...</a></td>
      <td class="d">2024/05/30</td></tr>
  <tr><td><a href="https://elsewhere.example/3.html">Off-site</a></td>
      <td class="d">2024/05/29</td></tr>
</table>
<p class="pages"><a href="?page=1">1</a> <a href="?page=2">Next</a></p></body></html>"""


def test_the_generic_spider_follows_its_selectors_css_or_xpath() -> None:
    for links, date, following in (
        ("table.list a", "td.d", "p.pages a:last-child"),
        ("//table[@class='list']//a", "//td[@class='d']", "//a[text()='Next']"),
    ):
        spec = SpiderSpec(
            "site",
            ("https://site.example/list",),
            links=links,
            date=date,
            next_page=following,
            title=None,
        )
        spider = ListingSpider(spec=spec)
        requests, _ = run(spider.parse_list(page("https://site.example/list", LIST)))
        entries = [r.cb_kwargs["entry"] for r in requests if r.callback == spider.parse_article]
        assert entries == [
            ListEntry("https://site.example/n/1.html", "First notice", "2024/06/01"),
            ListEntry("https://site.example/n/2.html", "Second notice, in full", "2024/05/30"),
        ], links
        assert requests[-1].url == "https://site.example/list?page=2", links


def test_configured_article_selectors_are_the_fallback_when_trafilatura_finds_nothing() -> None:
    spec = SpiderSpec(
        "site",
        ("https://site.example/list",),
        links="a",
        article_title="footer h4",
        article_body="footer .txt",
        article_date="//footer/span[@class='d']",
    )
    spider = ListingSpider(spec=spec)
    body = (
        "<html><body><footer><h4>关于防范风险的通知</h4></footer>"  # trafilatura skips footers
        '<footer><div class="txt">正文在页脚。</div></footer>'
        '<footer><span class="d">2024年6月1日 09:30</span></footer></body></html>'
    )
    entry = ListEntry("https://site.example/n/1.html")
    _, (story,) = run(spider.parse_article(page(entry.url, body), entry))
    assert (story.title, story.body) == ("关于防范风险的通知", "正文在页脚。")
    assert story.published_at == "2024-06-01T09:30:00+00:00"


def test_hostile_titles_become_plain_bounded_text() -> None:
    evil = "<script>alert(1)</script>\u202egnp.exe\x00\x07 " + "长" * 1000
    body = f'<ul><li><a href="/x.html" title="{evil.replace(chr(34), "")}">x</a></li></ul>'
    spider = ListingSpider(spec=SpiderSpec("site", ("https://site.example/",), links="ul a"))
    requests, _ = run(spider.parse_list(page("https://site.example/", body)))
    title = requests[0].cb_kwargs["entry"].title
    assert "<" not in title and "\u202e" not in title and "\x00" not in title
    assert title.startswith("gnp.exe") and len(title) <= 300


def test_a_document_behind_an_article_link_becomes_a_story_titled_by_the_list() -> None:
    spider = gov_spider([])
    entry = ListEntry(GOV + "download?id=7", "关于防范虚拟货币风险的公告", "2021-05-19")
    pdf = Response(entry.url, body=b"%PDF-1.7 ...", headers={"Content-Type": "application/pdf"})
    _, (story,) = run(spider.parse_article(pdf, entry))
    assert story.title == entry.title and entry.url in story.body
