"""Reading JSON-API responses by config: paths, templates, dates, HTML items, bad items."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from crawler.feeds import FeedError
from crawler.jsonapi import ApiSpec, parse_api, walk

BASE = "https://api.example/v2/list"


def parse(document: object, spec: ApiSpec, lang: str | None = "zh") -> object:
    content = json.dumps(document, ensure_ascii=False).encode()
    return parse_api(content, source_key="s", base_url=BASE, spec=spec, lang=lang)


def test_paths_walk_lists_and_index_them() -> None:
    doc = {"list": [{"lives": [1, 2]}, {"lives": [3]}], "data": {"rows": [{"a": "x"}]}}
    assert walk(doc, "list.*.lives") == [[1, 2], [3]]
    assert walk(doc, "data.rows.0.a") == ["x"]
    assert walk(doc, "data.rows.-1.a") == ["x"]
    assert walk(doc, "data.nothing.a") == []
    assert walk(doc, "") == [doc]


def test_items_fields_templates_and_dates() -> None:
    document = {
        "list": [
            {
                "lives": [
                    {"id": 7, "content": "【央行：严打虚拟货币交易】全文", "created_at": 1767600000}
                ]
            },
            {"lives": [{"id": 8, "content": "短讯" * 60, "created_at": "1767600000000"}]},
        ]
    }
    spec = ApiSpec(
        items="list.*.lives",
        title="content_prefix",
        summary="content",
        link_template="https://www.jinse.cn/lives/{id}.html",
        date="created_at",
    )
    found = parse(document, spec)
    first, second = found.stories
    assert first.title == "央行：严打虚拟货币交易"  # the flash's 【head】
    assert first.url == "https://www.jinse.cn/lives/7.html"
    assert first.published_at == datetime.fromtimestamp(1767600000, UTC)
    assert second.published_at == first.published_at  # milliseconds, as a string
    assert second.title.endswith("…") and len(second.title) == 81
    assert not found.problems


def test_dates_without_a_zone_are_beijing_time_for_chinese_sources() -> None:
    spec = ApiSpec(items="rows", title="t", link="u", date="d")
    found = parse({"rows": [{"t": "x", "u": "/a", "d": "2026-01-05 18:00:00"}]}, spec)
    (story,) = found.stories
    assert story.published_at == datetime(2026, 1, 5, 18, tzinfo=timezone(timedelta(hours=8)))
    assert story.url == "https://api.example/a"  # relative links resolve against the API URL


def test_items_without_title_or_link_are_problems_not_stories() -> None:
    spec = ApiSpec(items="rows", title="t", link_template="https://x.example/{id}")
    found = parse({"rows": [{"t": "ok", "id": 1}, {"t": "", "id": 2}, {"t": "no id"}]}, spec)
    assert [s.url for s in found.stories] == ["https://x.example/1"]
    assert found.problems == ("item 1: no title", "item 2: no link")


def test_html_items_inside_json_or_as_the_whole_response() -> None:
    html = (
        '<div class="block"><div class="title"><a href="/article/1">链上洗钱案宣判</a></div>'
        '<div class="summary">法院<b>一审</b>宣判</div>'
        '<span class="time">2026-01-05 09:10</span></div>'
    )
    spec = ApiSpec(
        items="data",
        html_items=".block",
        title=".title",
        link=".title a::attr(href)",
        summary=".summary",
        date=".time",
    )
    (story,) = parse({"result": 1, "data": html}, spec).stories
    assert (story.title, story.url, story.summary) == (
        "链上洗钱案宣判",
        "https://api.example/article/1",
        "法院一审宣判",
    )
    assert story.published_at is not None
    whole = ApiSpec(html_items=".block", title=".title", link="a::attr(href)")
    stories = parse_api(html.encode(), source_key="s", base_url=BASE, spec=whole).stories
    assert [s.url for s in stories] == ["https://api.example/article/1"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"<html>oops</html>", "not JSON"),
        (  # was "not JSON: Expecting value: line 1 column 1 (char 0)"
            b"<!DOCTYPE html><html><head><title>Log in</title></head><body><form>",
            "^not JSON: an HTML page titled 'Log in': a login, block or error page\\?$",
        ),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),  # was a RecursionError: 'internal error'
        (b'{"data": {"rows": []}}', "no items at 'data.rows'"),
        ("<noscript>请开启JavaScript并刷新该页</noscript>".encode(), "needs render = browser"),
    ],
)
def test_responses_that_are_not_the_list_fail_with_a_reason(content: bytes, message: str) -> None:
    spec = ApiSpec(items="data.rows", title="t", link="u")
    with pytest.raises(FeedError, match=message):
        parse_api(content, source_key="s", base_url=BASE, spec=spec)
