"""The daemon crawls spider sources: `run --once` crawls them all, `run` crawls them when due."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from crackdown.demo.site import Page
from crackdown.standin import BotApiStandIn
from tests.e2e.conftest import cli_env, crackdown
from tests.spiders.conftest import CRAWL, write_config
from tests.spiders.site import MATCHING_TITLE, SpiderSite, utf8_list

USER = 7101


def daemon_config(folder: Path, site: SpiderSite, standin: BotApiStandIn, path: str) -> Path:
    sources = f"""
[telegram]
api_base_url = "{standin.base_url}"
poll_timeout = "1s"
[delivery]
interval = "1s"
[[sources]]
key = "news"
kind = "spider"
url = "{site.site.url(path)}"
links = "ul.news a"
interval = "1s"
lang = "zh"
"""
    crawl = CRAWL.replace("[crawl]\n", '[crawl]\ntick = "1s"\n').replace(
        "[polling]\n", '[polling]\nmin_interval = "1s"\n'
    )
    return write_config(folder, sources, crawl=crawl)


def alerts(standin: BotApiStandIn) -> list[str]:
    return [m.plain_text for m in standin.sent_messages(USER)]


def test_run_once_crawls_spider_sources_and_sends_the_alert(
    spider_site: SpiderSite, standin: BotApiStandIn, tmp_path: Path
) -> None:
    config = daemon_config(tmp_path, spider_site, standin, "/utf8/index.html")
    standin.add_user(USER, "Ann")
    standin.send_text(USER, "/start")
    result = crackdown("--config", str(config), "run", "--once")
    assert result.returncode == 0, result.stderr
    assert "2 stories, 1 matched, 1 alerts sent" in result.stdout  # a1, a2: no next_page
    texts = alerts(standin)
    assert texts[0].startswith("Subscribed")
    assert sum(MATCHING_TITLE in text for text in texts) == 1


def test_the_daemon_crawls_a_spider_source_when_it_is_due(
    spider_site: SpiderSite, standin: BotApiStandIn, tmp_path: Path
) -> None:
    path = "/daemon/index.html"
    spider_site.site.pages[path] = Page(utf8_list([], None).encode("utf-8"), "text/html")
    config = daemon_config(tmp_path, spider_site, standin, path)
    standin.add_user(USER, "Ann")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "crackdown", "--config", str(config), "run"],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    err = ""
    try:
        standin.send_text(USER, "/start")
        standin.wait_for_messages(1, chat_id=USER, timeout=30)
        # Only now does the notice appear: the next crawl of the source finds and sends it.
        rows = [("/utf8/a1.html", MATCHING_TITLE, "2024年06月15日")]
        spider_site.site.pages[path] = Page(utf8_list(rows, None).encode("utf-8"), "text/html")
        standin.wait_for_messages(2, chat_id=USER, timeout=40)
    finally:
        daemon.send_signal(signal.SIGTERM)
        _out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert "1 spiders" in err and "stopped" in err
    texts = alerts(standin)
    assert sum(MATCHING_TITLE in text for text in texts) == 1
