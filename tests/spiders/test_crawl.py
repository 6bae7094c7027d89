"""`crackdown crawl` end to end: loopback site -> Scrapy child process -> pipeline -> SQLite outbox.

One module-wide run (two crawls, a poll and a status) shared by every
assertion: a crawl costs a child process and a second of timeouts.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from storage import subscribers
from storage.db import Database
from storage.records import SourceRecord
from storage.sources import list_sources
from tests.spiders.conftest import CRAWL, run_cli, write_config
from tests.spiders.site import MATCHING_TITLE, SpiderSite

USER_AGENT = "crackdown-test/1.0 (+https://example.org/crackdown-contact)"
SUBSCRIBER = 7001
LEAD = "/policy/2024/06/15/pboc-warns-banks-over-usdt-otc-settlement/"


def sources(site: SpiderSite) -> str:
    url = site.site.url
    return f"""
[[sources]]
key = "pbc-branch"
kind = "spider"
spider = "gov-notices"
url = "{url("/gbk/index.html")}"
lang = "zh"
max_pages = 2
interval = "30m"

[[sources]]
key = "utf8-news"
kind = "spider"
url = "{url("/utf8/index.html")}"
links = "ul.news li a"
date = "span"
next_page = "a.next"
max_pages = 2
lang = "zh"

[[sources]]
key = "ledger-policy"
kind = "spider"
spider = "news-section"
url = "{url("/policy/")}"
lang = "en"

[[sources]]
key = "private-list"
kind = "spider"
url = "{url("/private/list.html")}"
links = "//ul[@class='news']//a"

[[sources]]
key = "private-opt-out"
kind = "spider"
url = "{url("/private/list.html")}"
links = "ul.news a"
robots = false
"""


@dataclass
class Run:
    status: int
    out: str
    err: str
    requests: Counter[str]


@dataclass
class World:
    first: Run
    second: Run
    poll: Run
    status: Run
    stories: dict[str, tuple[str, str, datetime, str]]  # path -> title, body, published, source
    alerts: list[str]  # titles of the stories queued for the subscriber
    health: dict[str, SourceRecord]
    agents: set[str]


def _run(site: SpiderSite, *args: str) -> Run:
    before = len(site.site.requests)
    status, out, err = run_cli(*args)
    paths = Counter(path.split("?")[0] for path, _ in site.site.requests[before:])
    return Run(status, out, err, paths)


@pytest.fixture(scope="module")
def world(spider_site: SpiderSite, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    folder = tmp_path_factory.mktemp("crawl")
    crawl = CRAWL.replace("[http]\n", f'[http]\nuser_agent = "{USER_AGENT}"\n')
    config = write_config(folder, sources(spider_site), crawl=crawl)
    db = Database(f"sqlite:///{folder / 'crackdown.db'}")
    db.upgrade()
    with db.session() as session:
        subscribers.subscribe(session, SUBSCRIBER, topic="china-crypto-enforcement")
    first = _run(spider_site, "--config", str(config), "crawl")
    with db.session() as session:
        rows = session.execute(
            text(
                "SELECT s.url, s.title, s.body, s.published_at, src.key FROM stories s "
                "JOIN sources src ON src.id = s.source_id"
            )
        ).all()
        alerts = session.execute(
            text(
                "SELECT s.title FROM deliveries d JOIN stories s ON s.id = d.story_id "
                "JOIN subscribers c ON c.id = d.subscriber_id WHERE c.chat_id = :chat"
            ),
            {"chat": SUBSCRIBER},
        ).scalars()
        alert_titles = list(alerts)
        health = {r.key: r for r in list_sources(session)}
    stories = {
        re.sub(r"^http://127\.0\.0\.1:\d+", "", url): (
            title,
            body,
            datetime.fromisoformat(str(published)).replace(tzinfo=UTC),
            key,
        )
        for url, title, body, published, key in rows
    }
    agents = {headers.get("User-Agent", "") for _, headers in spider_site.site.requests}
    second = _run(spider_site, "--config", str(config), "crawl", "--all")
    poll = _run(spider_site, "--config", str(config), "poll", "--all")
    status = _run(spider_site, "--config", str(config), "status")
    db.dispose()
    yield World(first, second, poll, status, stories, alert_titles, health, agents)


def test_the_crawl_prints_a_line_per_page_error_and_source(world: World) -> None:
    first = world.first
    assert first.status == 3, first.err  # one source failed, the others did not
    lines = first.out.splitlines()
    assert re.search(
        r"^pbc-branch +list +HTTP 200 +\S+/gbk/index\.html +\(9 links, 9 new\)$", first.out, re.M
    )
    notice = r"^pbc-branch +article +HTTP 200 .*/t20210924_4101\.html$"
    assert any(re.match(notice, line) for line in lines)
    errors = [line for line in lines if re.match(r"^pbc-branch +error ", line)]
    assert any(line.endswith("t20210410_4010.html: HTTP 500") for line in errors)
    assert any(line.endswith("t20210401_4003.html: timed out after 1s") for line in errors)
    assert any(
        "t20210315_3990.html: response larger than the maximum size" in line for line in errors
    )
    assert any(line.endswith(": HTTP 404") for line in errors)
    assert re.search(
        r"^pbc-branch +blocked +\S+/private/notice\.html: forbidden by robots\.txt$",
        first.out,
        re.M,
    )
    done = next(line for line in lines if re.match(r"^pbc-branch +done ", line))
    assert "2 list pages" in done and "1 blocked" in done and "next " in done
    assert lines[-1].startswith("5 crawled, 1 failed: ")


def test_gbk_and_utf8_pages_are_read_whatever_they_declare(world: World) -> None:
    stories = world.stories
    # The saved GB2312 list (charset only in <meta>), a GBK notice with the charset in its header.
    notice = stories["/gbk/202109/t20210924_4101.html"]
    assert notice[0] == "关于进一步防范和处置虚拟货币交易炒作风险的通知"
    assert "坚决依法取缔" in notice[1]
    # GBK with no charset anywhere (Scrapy alone reads it as cp949), and UTF-8 with none.
    assert stories["/gbk/202104/t20210420_4012.html"][1].count("各单位要广泛宣传") == 2
    assert (
        stories["/gbk/202109/t20210915_4096.html"][0] == "关于开展2021年“金融知识普及月”活动的通知"
    )
    assert "请各机构报名" in stories["/utf8/a2.html"][1]
    for title, body, _published, _key in stories.values():
        assert "\ufffd" not in title + body


def test_list_dates_and_titles_win_for_notices_and_are_read_in_beijing_time(world: World) -> None:
    notice = world.stories["/gbk/202109/t20210924_4101.html"]
    assert notice[2] == datetime(2021, 9, 23, 16, 0, tzinfo=UTC)  # 2021-09-24 00:00 UTC+8
    assert world.stories["/utf8/a1.html"][2] == datetime(2024, 6, 14, 16, 0, tzinfo=UTC)
    lead = world.stories[LEAD + "?utm_source=section&utm_medium=web"]
    assert lead[2] == datetime(2024, 6, 15, 1, 30, tzinfo=UTC)  # the card's <time datetime>


def test_attachments_are_listed_and_documents_are_not_downloaded(world: World) -> None:
    body = world.stories["/gbk/202109/t20210924_4101.html"][1]
    assert "附件：" in body
    assert "虚拟货币交易炒作风险线索举报表.doc" in body
    assert "/gbk/202109/P020210924571230583619.doc" in body
    pdf = "/gbk/202107/P020210701389245104577.pdf"
    assert world.stories[pdf][0] == "某某市打击非法集资工作领导小组办公室公告"
    assert world.first.requests[pdf] == 0


def test_pagination_follows_next_links_and_the_trs_script_up_to_max_pages(world: World) -> None:
    asked = world.first.requests
    assert asked["/gbk/index_1.html"] == 1  # createPageHTML(3, 0, "index", "html")
    assert asked["/gbk/index_2.html"] == 0  # max_pages = 2
    assert asked["/utf8/index_1.html"] == 1 and asked["/utf8/index_2.html"] == 0
    assert asked["/policy/page/2/"] == 1  # <link rel="next">
    assert asked["/gbk/index.html"] == 1  # each page once, though pages link back


def test_robots_txt_is_obeyed_unless_a_source_opts_out(world: World) -> None:
    assert world.first.requests["/robots.txt"] >= 1
    assert world.first.requests["/private/list.html"] == 1  # only the opted-out source
    assert world.first.requests["/private/notice.html"] == 1
    blocked = world.health["private-list"]
    assert blocked.consecutive_failures == 1
    assert blocked.last_error is not None and "forbidden by robots.txt" in blocked.last_error
    assert world.stories["/private/notice.html"][3] == "private-opt-out"


def test_page_errors_are_counted_and_the_crawl_still_succeeds(world: World) -> None:
    for key in ("pbc-branch", "utf8-news", "ledger-policy", "private-opt-out"):
        record = world.health[key]
        assert record.consecutive_failures == 0 and record.last_success_at is not None, key
        assert record.next_poll_at is not None and record.items_seen > 0, key
    assert "/gbk/202104/t20210401_4003.html" not in world.stories  # hung: timed out, not stored


def test_a_matching_notice_is_alerted_once_and_nothing_else(world: World) -> None:
    assert MATCHING_TITLE in world.alerts
    assert "关于进一步防范和处置虚拟货币交易炒作风险的通知" in world.alerts
    assert (
        "PBoC warns banks over USDT OTC settlement as Shenzhen police freeze accounts"
        in world.alerts
    )
    assert "关于举办金融消费者权益保护培训的通知" not in world.alerts
    assert len(world.alerts) == len(set(world.alerts))


def test_a_second_crawl_fetches_only_what_is_new(world: World) -> None:
    second = world.second
    assert second.status == 3, second.err  # private-list fails again
    assert second.requests["/gbk/202109/t20210924_4101.html"] == 0  # stored: not fetched again
    assert second.requests["/utf8/a1.html"] == 0
    assert second.requests["/utf8/index.html"] == 1
    assert second.requests["/utf8/index_1.html"] == 0  # page 1 had nothing new: stop there
    assert second.requests["/gbk/202104/t20210410_4010.html"] == 1  # failed last time: again
    assert "0 matched, 0 alerts queued" in second.out.splitlines()[-1]


def test_requests_carry_the_configured_user_agent(world: World) -> None:
    assert world.agents == {USER_AGENT}


def test_the_feed_poller_leaves_spider_sources_alone(world: World) -> None:
    assert world.poll.status == 0, world.poll.err
    assert "nothing is due" in world.poll.out
    assert sum(world.poll.requests.values()) == 0


def test_status_shows_the_failing_spider_source(world: World) -> None:
    assert world.status.status == 0, world.status.err
    assert "5 configured, 1 failing (private-list)" in world.status.out
