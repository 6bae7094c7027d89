"""Charsets, dates, selectors and the child's wire format, table-driven."""

from __future__ import annotations

import codecs
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawler.spiders.dates import BEIJING, parse_date
from crawler.spiders.decoding import decode_page
from crawler.spiders.events import Attachment, CrawledStory, Done, Error, Item, Page, decode, encode
from crawler.spiders.job import CrawlJob, CrawlSettings, SourceJob, SpiderSpec
from crawler.spiders.selectors import check_selector

TEXT = "中国人民银行：严禁金融机构为虚拟货币交易提供服务，镕"  # 镕 is in GBK, not in GB2312


def doc(meta: str = "") -> str:
    return f"<html><head>{meta}<title>通知</title></head><body><p>{TEXT}</p></body></html>"


@pytest.mark.parametrize(
    ("body", "content_type", "encoding", "note"),
    [
        (doc().encode("utf-8"), "text/html; charset=utf-8", "utf-8", None),
        (doc().encode("utf-8"), "text/html", "utf-8", None),
        # Declared GB2312 but using GBK characters: read as GB18030, the superset.
        (doc('<meta charset="gb2312">').encode("gbk"), "text/html", "gb18030", None),
        (doc().encode("gbk"), "text/html; charset=GBK", "gb18030", None),
        # Nothing declared: Scrapy alone would say cp949.
        (doc().encode("gbk"), "text/html", "gb18030", "no charset declared; read as gb18030"),
        # The server's default header lies; the page's own meta tells the truth.
        (
            doc('<meta charset="gbk">').encode("gbk"),
            "text/html; charset=utf-8",
            "gb18030",
            "declared charset utf-8 does not decode; read as gb18030",
        ),
        # A Latin-1 server default gives way to the page's meta tag.
        (
            doc('<meta charset="gb2312">').encode("gbk"),
            "text/html; charset=ISO-8859-1",
            "gb18030",
            None,
        ),
        (codecs.BOM_UTF8 + doc().encode("utf-8"), "text/html", "utf-8-sig", None),
        (
            doc('<meta charset="big5">').replace(TEXT, "中國人民銀行公告").encode("big5"),
            "text/html",
            "big5",
            None,
        ),
    ],
)
def test_pages_decode_in_the_charset_that_works(
    body: bytes, content_type: str, encoding: str, note: str | None
) -> None:
    decoded = decode_page(body, content_type)
    assert decoded.encoding == encoding
    assert decoded.note == note
    assert decoded.suspect == bool(note and "does not decode" in note)  # warn only on a lie
    assert "\ufffd" not in decoded.text and ("通知" in decoded.text or "公告" in decoded.text)


def test_bytes_that_nothing_decodes_are_replaced_and_said_so() -> None:
    decoded = decode_page(bytes(range(128, 256)), "text/html; charset=utf-8")
    assert decoded.text == "\ufffd" * 128
    assert decoded.note == "no charset decodes it cleanly; read as utf-8, 128 bad bytes"
    assert decoded.suspect


UTC8 = timezone(timedelta(hours=8))


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2021-09-24", BEIJING, datetime(2021, 9, 24, tzinfo=UTC8)),
        ("[2021-09-24]", BEIJING, datetime(2021, 9, 24, tzinfo=UTC8)),
        ("发布时间：2021年9月24日 17:10", BEIJING, datetime(2021, 9, 24, 17, 10, tzinfo=UTC8)),
        ("2021/9/4 8:05:09", UTC, datetime(2021, 9, 4, 8, 5, 9, tzinfo=UTC)),
        ("2021.09.24", UTC, datetime(2021, 9, 24, tzinfo=UTC)),
        ("2024-06-15T09:30:00+08:00", UTC, datetime(2024, 6, 15, 1, 30, tzinfo=UTC)),
        ("2024-06-14T18:05:00Z", BEIJING, datetime(2024, 6, 14, 18, 5, tzinfo=UTC)),
        ("Jun 15, 2024, 9:30 a.m.", UTC, datetime(2024, 6, 15, 9, 30, tzinfo=UTC)),
        ("Posted Jun 3, 2024 at 2:05 pm", UTC, datetime(2024, 6, 3, 14, 5, tzinfo=UTC)),
        ("June 15th, 2024", UTC, datetime(2024, 6, 15, tzinfo=UTC)),
        # RFC 2822 names its zone: never the site's midnight (was 17.5 h off in Beijing time)
        ("Sat, 15 Jun 2024 09:30:00 GMT", BEIJING, datetime(2024, 6, 15, 9, 30, tzinfo=UTC)),
        ("15 Jun 2024 09:30:00 +0800", UTC, datetime(2024, 6, 15, 1, 30, tzinfo=UTC)),
        ("15 June 2024", UTC, datetime(2024, 6, 15, tzinfo=UTC)),
        ("2021-13-40", UTC, None),
        ("1899-01-01", UTC, None),
        ("浏览次数：20210924", UTC, None),
        ("", UTC, None),
    ],
)
def test_dates_as_pages_write_them(text: str, zone: timezone, expected: datetime | None) -> None:
    assert parse_date(text, zone) == expected


FETCHED = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)  # 20:00 in Beijing


@pytest.mark.parametrize(
    ("text", "zone", "expected"),
    [
        ("2小时前", BEIJING, datetime(2024, 6, 15, 10, 0, tzinfo=UTC)),
        ("发布于 30分钟前", BEIJING, datetime(2024, 6, 15, 11, 30, tzinfo=UTC)),
        ("3天前", BEIJING, datetime(2024, 6, 12, 12, 0, tzinfo=UTC)),
        ("昨天 17:10", BEIJING, datetime(2024, 6, 14, 17, 10, tzinfo=UTC8)),
        ("今天 08:05", BEIJING, datetime(2024, 6, 15, 8, 5, tzinfo=UTC8)),
        ("刚刚", BEIJING, FETCHED),
        ("2 hours ago", UTC, datetime(2024, 6, 15, 10, 0, tzinfo=UTC)),
        ("an hour ago", UTC, datetime(2024, 6, 15, 11, 0, tzinfo=UTC)),
        ("yesterday", UTC, datetime(2024, 6, 14, tzinfo=UTC)),
        ("9月15日前完成整改", BEIJING, None),  # "before the 15th": no date
    ],
)
def test_relative_dates_count_back_from_the_fetch(
    text: str, zone: timezone, expected: datetime | None
) -> None:
    assert parse_date(text, zone, now=FETCHED) == expected


@pytest.mark.parametrize(
    ("selector", "error"),
    [
        ("ul.list a", None),
        ("ul.list a::attr(href)", None),
        ("//div[@id='list']//a[contains(text(), '下一页')]", None),
        ("(//a)[1]", None),
        ("ul.list a[", "not a valid CSS selector"),
        ("//div[@id='list'", "not a valid XPath"),
        ("  ", "empty selector"),
    ],
)
def test_selectors_are_checked_when_the_config_is_read(selector: str, error: str | None) -> None:
    if error is None:
        assert check_selector(selector) == selector.strip()
    else:
        with pytest.raises(ValueError, match=error):
            check_selector(selector)


def test_jobs_and_events_survive_the_trip_to_the_child_and_back() -> None:
    spec = SpiderSpec(
        "pbc", ("http://a.example/",), spider="gov-notices", allowed_domains=("a.example",)
    )
    job = CrawlJob(CrawlSettings(delay=0.5), (SourceJob(spec, frozenset({"http://a.example/x"})),))
    assert CrawlJob.from_json(job.to_json()) == job
    story = CrawledStory(
        "http://a.example/1",
        "标题",
        "正文",
        "2021-09-24T00:00:00+08:00",
        "zh",
        (Attachment("附件.pdf", "http://a.example/1.pdf"),),
    )
    events = [
        Page("pbc", "http://a.example/", 200, "list", 9, 8),
        Item("pbc", story),
        Error("pbc", "http://a.example/2", "article", "HTTP 404"),
        Done("pbc", "finished", 1, 2, 3, 4, 5, None),
    ]
    assert [decode(encode(e)) for e in events] == events
    raw = story.raw("pbc")
    assert raw.published_at == datetime(2021, 9, 24, tzinfo=UTC8) and raw.lang == "zh"
    for junk in ("Traceback (most recent call last):", '{"event": "nope"}', '{"event": "page"}'):
        with pytest.raises(ValueError):
            decode(junk)
