"""A spider that crashes or hangs is that source's failure alone: logged, counted, retried later."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from crawler.spiders.events import Done, Event, Page
from crawler.spiders.job import CrawlJob, CrawlSettings, SourceJob, SpiderSpec
from crawler.spiders.launch import run_batch
from storage.db import Database
from storage.sources import list_sources
from tests.spiders.conftest import CRAWL, run_cli, write_config
from tests.spiders.site import SpiderSite


def test_a_killed_child_and_a_spider_that_cannot_start_are_reported(
    spider_site: SpiderSite,
) -> None:
    url = spider_site.site.url
    job = CrawlJob(
        CrawlSettings(delay=0, timeout=30, retries=0),
        (
            SourceJob(SpiderSpec("broken", (url("/utf8/index.html"),), spider="no-such-spider")),
            SourceJob(SpiderSpec("stuck", (url("/gbk/index_1.html"),), spider="gov-notices")),
        ),
    )
    pids: list[int] = []
    events: list[Event] = []

    def on_event(event: Event) -> None:
        events.append(event)
        if isinstance(event, Page) and event.source == "stuck":  # mid-crawl: the OOM killer
            os.kill(pids[0], signal.SIGKILL)

    outcome = asyncio.run(run_batch(job, timeout=30, on_event=on_event, on_start=pids.append))
    assert outcome.error == "crawl process killed by signal 9"
    assert outcome.finished == {"broken"}
    (done,) = [e for e in events if isinstance(e, Done)]
    assert done.reason.startswith("crashed: KeyError")


def test_a_hanging_crawl_is_killed_at_the_batch_timeout_and_recorded(
    spider_site: SpiderSite, tmp_path: Path
) -> None:
    url = spider_site.site.url
    sources = f"""
[telegram]
admin_ids = [42]
[polling]
notify_after = 1
[[sources]]
key = "stuck"
kind = "spider"
url = "{url("/hang/index.html")}"
links = "a"
[[sources]]
key = "fine"
kind = "spider"
url = "{url("/utf8/index.html")}"
links = "ul.news a"
"""
    crawl = (
        CRAWL.replace('timeout = "1s"', 'timeout = "30s"')
        # 6 s: a healthy batch (a child process starting Scrapy) must fit, on a loaded machine too
        .replace('batch_timeout = "60s"', 'batch_timeout = "6s"\nbatch_size = 1')
        .replace("[polling]\njitter = 0\n", "")
    )
    config = write_config(tmp_path, sources, crawl=crawl)
    started = time.monotonic()
    status, out, err = run_cli("--config", str(config), "crawl")
    assert status == 3, err  # one of two failed
    assert time.monotonic() - started < 30
    lines = out.splitlines()
    assert any(
        line.startswith("stuck")
        and "FAILED   crawl timed out after 6s (process killed) (1x" in line
        for line in lines
    ), out
    assert any(line.startswith("fine                 done") for line in lines), out
    assert lines[-1].startswith("2 crawled, 1 failed: 2 new stories")
    assert "source stuck: crawl failed (1 in a row): crawl timed out" in err
    db = Database(f"sqlite:///{tmp_path / 'crackdown.db'}")
    try:
        with db.session() as session:
            health = {r.key: r for r in list_sources(session)}
            notices = list(session.execute(text("SELECT text FROM notices")).scalars())
    finally:
        db.dispose()
    stuck = health["stuck"]
    assert stuck.consecutive_failures == 1 and "timed out" in (stuck.last_error or "")
    assert stuck.next_poll_at is not None
    assert stuck.next_poll_at > datetime.now(UTC) + timedelta(minutes=9)  # interval 10m, backoff
    assert health["fine"].consecutive_failures == 0
    assert any("Source failing: stuck" in notice for notice in notices)
    # Neither is due again yet: the schedule lives in the database, as for feeds.
    status, out, _ = run_cli("--config", str(config), "crawl")
    assert status == 0 and out.startswith("nothing is due")


def test_the_development_cache_replays_responses_without_asking_the_site(
    spider_site: SpiderSite, tmp_path: Path
) -> None:
    url = spider_site.site.url
    sources = f"""
[[sources]]
key = "utf8-news"
kind = "spider"
url = "{url("/utf8/index.html")}"
links = "ul.news li a"
next_page = "a.next"
max_pages = 2
"""
    environ = {"XDG_CACHE_HOME": str(tmp_path / "cache")}
    counts = []
    for run in ("first", "second"):  # two databases, so the second run has seen nothing
        folder = tmp_path / run
        folder.mkdir()
        config = write_config(folder, sources)
        before = len(spider_site.site.requests)
        status, out, err = run_cli("--config", str(config), "crawl", "--cache", environ=environ)
        assert status == 0, err
        assert "HTTP cache: " in out and out.splitlines()[-1].startswith(
            "1 crawled, 0 failed: 3 new"
        )
        counts.append(len(spider_site.site.requests) - before)
    assert counts[0] >= 6 and counts[1] == 0
    assert any((tmp_path / "cache" / "crackdown" / "httpcache").rglob("response_body"))


def test_the_child_never_imports_from_the_working_folder(
    spider_site: SpiderSite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under systemd the working folder is the writable state directory: a crawler.py there
    must not replace our package in the crawl child (`python -P`)."""
    (tmp_path / "crawler.py").write_text("SHADOW = 'not our crawler package'\n")
    monkeypatch.chdir(tmp_path)
    sources = f"""
[[sources]]
key = "fine"
kind = "spider"
url = "{spider_site.site.url("/utf8/index.html")}"
links = "ul.news a"
"""
    status, out, err = run_cli("--config", str(write_config(tmp_path, sources)), "crawl")
    assert status == 0, out + err
    assert out.splitlines()[-1].startswith("1 crawled, 0 failed"), out
