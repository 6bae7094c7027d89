"""The Poller against a real loopback web site and a real SQLite file."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from telegram import Bot

from crackdown.app import App, open_app
from crackdown.config import build_config
from crackdown.demo.site import LoopbackSite, Page
from crackdown.runtime.polling import PollReport
from crackdown.standin import BotApiStandIn
from crawler.http import make_client
from storage.records import SourceRecord
from storage.sources import list_sources
from tests.conftest import TOKEN

FEED = b"""<rss version="2.0"><channel><title>t</title>
<item><title>PBoC bans bitcoin OTC trading</title><link>https://n.example/1</link></item>
<item><title>Weather</title><link>https://n.example/2</link></item></channel></rss>"""


def make_app(tmp_path: Path, site: LoopbackSite, *paths: str, host: str = "127.0.0.1") -> App:
    sources = [
        {
            "key": f"s{i}",
            "url": f"http://{host}:{site.base_url.rsplit(':', 1)[1]}{p}",
            "interval": "10m",
        }
        for i, p in enumerate(paths)
    ]
    document = {
        "storage": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
        "polling": {"jitter": 0, "min_interval": "1m"},
        "sources": sources,
    }
    return open_app(build_config(document, {}))


def poll(app: App, keys: list[str] | None = None) -> PollReport:
    async def go() -> PollReport:
        async with make_client(app.policy) as client:
            feeds = [s for s in app.feeds() if keys is None or s.key in keys]
            return await app.poller(client).poll(feeds)

    return asyncio.run(go())


def health(app: App, key: str = "s0") -> SourceRecord:
    with app.db.session() as session:
        return next(r for r in list_sources(session) if r.key == key)


def delay_of(app: App, key: str = "s0") -> float:
    record = health(app, key)
    assert record.next_poll_at and record.last_polled_at
    return (record.next_poll_at - record.last_polled_at).total_seconds()


def test_a_server_that_goes_down_and_comes_back(tmp_path: Path, site: LoopbackSite) -> None:
    site.pages["/feed"] = Page(FEED)
    app = make_app(tmp_path, site, "/feed")
    assert poll(app).stories == 2
    site.pages["/feed"] = Page(b"down", "text/plain", 503)
    delays = []
    for expected_streak in (1, 2, 3):
        report = poll(app)
        assert report.failed == ["s0"]
        assert health(app).consecutive_failures == expected_streak
        assert health(app).last_error == "HTTP 503"
        delays.append(delay_of(app))
    assert delays == [600, 1200, 2400]  # backoff doubles from the configured 10 minutes
    site.pages["/feed"] = Page(FEED)
    report = poll(app)
    assert report.failed == [] and report.stories == 0  # nothing new, nothing lost
    record = health(app)
    assert record.consecutive_failures == 0 and record.last_error is None
    assert delay_of(app) == 600


def test_unchanged_feed_costs_a_304_and_no_writes(tmp_path: Path, site: LoopbackSite) -> None:
    site.pages["/feed"] = Page(FEED)
    app = make_app(tmp_path, site, "/feed")
    poll(app)
    report = poll(app)
    assert report.results[0].status == "304" and report.stories == 0
    assert site.requests[-1][1].get("If-None-Match", "").startswith('"')


def test_retry_after_and_max_age_are_honoured(tmp_path: Path, site: LoopbackSite) -> None:
    site.pages["/limited"] = Page(b"slow down", "text/plain", 429, {"Retry-After": "5400"})
    site.pages["/cached"] = Page(FEED, headers={"Cache-Control": "max-age=7200"})
    app = make_app(tmp_path, site, "/limited", "/cached")
    poll(app)
    assert delay_of(app, "s0") == 5400
    assert delay_of(app, "s1") == 7200


def test_only_due_sources_are_polled(tmp_path: Path, site: LoopbackSite) -> None:
    site.pages["/feed"] = Page(FEED)
    app = make_app(tmp_path, site, "/feed")

    async def due(now: datetime) -> list[str]:
        async with make_client(app.policy) as client:
            return [s.key for s in app.poller(client).due(app.feeds(), now)]

    assert asyncio.run(due(datetime.now(UTC))) == ["s0"]  # never polled
    poll(app)
    assert asyncio.run(due(datetime.now(UTC))) == []
    assert asyncio.run(due(datetime.now(UTC) + timedelta(minutes=11))) == ["s0"]


def test_per_host_limit(tmp_path: Path, site: LoopbackSite) -> None:
    """Two feeds per host at most at once (polling.per_host), others wait their turn."""
    lock, active, peak = threading.Lock(), [0], [0]

    def slow(_path: str) -> Page:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.2)
        with lock:
            active[0] -= 1
        return Page(FEED)

    for i in range(6):
        site.pages[f"/f{i}"] = slow
    app = make_app(tmp_path, site, *(f"/f{i}" for i in range(6)))
    report = poll(app)
    assert report.failed == [] and peak[0] == 2


@pytest.mark.parametrize("status", [404, 500])
def test_errors_are_recorded_and_visible_in_sources(
    tmp_path: Path, site: LoopbackSite, status: int
) -> None:
    site.pages["/ok"] = Page(FEED)
    site.pages["/bad"] = Page(b"x", "text/plain", status)
    app = make_app(tmp_path, site, "/ok", "/bad")
    report = poll(app)
    assert report.failed == ["s1"] and report.stories == 2
    assert health(app, "s1").last_error == f"HTTP {status}"


def test_a_permanently_moved_feed_is_polled_at_its_new_address(
    tmp_path: Path, site: LoopbackSite, caplog: pytest.LogCaptureFixture
) -> None:
    site.pages["/new"] = Page(FEED)
    site.pages["/old"] = Page(b"", status=301, headers={"Location": "/new"})
    app = make_app(tmp_path, site, "/old")
    poll(app)
    assert health(app).fetch_url == site.url("/new")
    assert sum("moved permanently" in r.message for r in caplog.records) == 1
    site.requests.clear()
    poll(app)
    assert [path for path, _ in site.requests] == ["/new"]  # straight there, with validators
    assert sum("moved permanently" in r.message for r in caplog.records) == 1  # said once


ARTICLE = (
    "<html><head><meta charset='gbk'><title>通知</title></head><body><nav>首页</nav><article>"
    "<h1>关于防范虚拟货币交易炒作风险的公告</h1>"
    + "<p>中国人民银行要求各金融机构不得为比特币等虚拟货币交易提供服务，"
    "一经发现立即切断支付链路。</p>" * 4 + "</article></body></html>"
).encode("gbk")


def summary_only_feed(site: LoopbackSite) -> bytes:
    items = "".join(
        f"<item><title>通知 {n}</title><link>{site.url(f'/article/{n}')}</link>"
        "<description>详见正文</description></item>"
        for n in (1, 2)
    )
    return f"<rss version='2.0'><channel><title>pbc</title>{items}</channel></rss>".encode()


@pytest.mark.parametrize("full_text", [True, False])
def test_full_text_lets_the_filter_see_the_article(
    tmp_path: Path, site: LoopbackSite, full_text: bool
) -> None:
    site.pages["/feed"] = Page(summary_only_feed(site))
    site.pages["/article/1"] = Page(ARTICLE, "text/html")  # /article/2 is missing: a 404
    document = {
        "storage": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
        "polling": {"jitter": 0},
        "sources": [{"key": "pbc", "url": site.url("/feed"), "full_text": full_text}],
    }
    app = open_app(build_config(document, {}))
    report = poll(app)
    assert report.stories == 2 and report.failed == []
    assert report.matched == (1 if full_text else 0)
    fetched = [path for path, _ in site.requests if path.startswith("/article/")]
    assert fetched == (["/article/1", "/article/2"] if full_text else [])
    site.requests.clear()
    site.pages["/feed"] = Page(summary_only_feed(site) + b" ")  # changed bytes: a fresh 200
    poll(app)
    assert not [p for p, _ in site.requests if p.startswith("/article/")]  # known: not refetched


def test_operators_hear_once_when_a_source_breaks_and_once_when_it_recovers(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn
) -> None:
    admin = 9001
    standin.add_user(admin, "Ops")
    site.pages["/feed"] = Page(FEED)
    document = {
        "storage": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
        "telegram": {"api_base_url": standin.base_url, "admin_ids": [admin]},
        "polling": {"jitter": 0, "notify_after": 3},
        "sources": [{"key": "pbc", "url": site.url("/feed")}],
    }
    app = open_app(build_config(document, {"CRACKDOWN_TELEGRAM_TOKEN": TOKEN}))

    async def deliver() -> None:
        async with Bot(TOKEN, base_url=standin.base_url) as bot:
            await app.delivery_worker(bot).drain()

    poll(app)
    site.pages["/feed"] = Page(b"down for maintenance", "text/plain", 503)
    for _ in range(6):  # down for a while: the notice goes out once, at the 3rd failure
        poll(app)
        asyncio.run(deliver())
    site.pages["/feed"] = Page(FEED)
    poll(app)
    poll(app)
    asyncio.run(deliver())
    texts = [m.plain_text for m in standin.sent_messages(admin)]
    assert len(texts) == 2
    assert texts[0].startswith("⚠️ Source failing: pbc") and "HTTP 503" in texts[0]
    assert texts[1].startswith("✅ Source recovered: pbc") and "after 6 failures" in texts[1]
