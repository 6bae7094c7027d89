"""`render = "browser"`: a list behind a JavaScript challenge, read through the system Chromium.

The loopback site answers like the PBoC's WZWS guard: without its cookie
every page is the challenge (a script computes the cookie from
`wzwsquestion` and `wzwsfactor`, sets it and reloads `dynamicurl`); with
it, the list and the notices. A plain fetch gets only the challenge; the
browser-rendered crawl stores the notices. The list's rows are written by a
script after the page has loaded, as on the MPS's lists.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import Database
from tests.spiders.conftest import run_cli, write_config

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="Debian's chromium is not installed (/usr/bin/chromium): apt-get install chromium",
)
QUESTION, FACTOR = "U1T@3R", "6173"
COOKIE = "wzws_cid"
# What the challenge's script computes: the character codes of the question, summed, times
# the factor (the shape of WZWS's computation; the server checks the same sum).
ANSWER = str(sum(ord(c) for c in QUESTION) * int(FACTOR))

CHALLENGE = (
    "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>"
    "<noscript>请开启JavaScript并刷新该页.</noscript>"
    f'<script type="text/javascript">var dynamicurl="{{path}}";var wzwsquestion="{QUESTION}";'
    f'var wzwsfactor="{FACTOR}";var wzwsmethod="get";var wzwsparams="";'
    "function HXXTTKKLLPPP5(){var n=0;for(var i=0;i<wzwsquestion.length;i++)"
    "{n+=wzwsquestion.charCodeAt(i);}n*=parseInt(wzwsfactor,10);"
    f'document.cookie="{COOKIE}="+n+"; path=/";'
    "setTimeout(function(){window.location.href=dynamicurl;},50);}"
    "HXXTTKKLLPPP5();</script></body></html>"
)
NOTICES = {
    "/goutongjiaoliu/2026010511.html": (
        "中国人民银行：依法打击虚拟货币非法交易活动",
        "人民银行会同有关部门召开会议，部署依法打击虚拟货币非法交易炒作活动，维护经济金融秩序。",
        "2026-01-05",
    ),
    "/goutongjiaoliu/2026010411.html": (
        "人民银行召开2026年工作会议",
        "会议总结2025年工作，部署2026年重点工作，强调防范化解金融风险。",
        "2026-01-04",
    ),
}


def _list_page() -> str:
    rows = "".join(
        f'<tr><td><font class="newslist_style"><a href="{path}" title="{title}">{title}</a>'
        f'</font></td><td><span class="hui12">{date}</span></td></tr>'
        for path, (title, _body, date) in NOTICES.items()
    )
    # The rows arrive by script after the page has loaded (as on the MPS's lists): the
    # browser waits for the `links` selector, not just for the load event.
    fill = json.dumps(f"<table>{rows}</table>", ensure_ascii=False)
    return (
        "<html><head><meta charset='utf-8'><title>沟通交流</title></head><body>"
        '<div id="list"></div><script>window.addEventListener("load", function () {'
        f'setTimeout(function () {{ document.getElementById("list").innerHTML = {fill}; }}, 300);'
        "});</script></body></html>"
    )


def _notice(title: str, body: str, date: str) -> str:
    return (
        f"<html><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f'<h2 style="font-size:16px">{title}</h2><span id="shijian">{date} 10:00:00</span>'
        f'<div id="zoom"><p>{body}</p><p>{body}</p></div></body></html>'
    )


class GuardedSite:
    """A loopback site behind the challenge; it records who passed (by path and cookie)."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, bool]] = []  # path, had the right cookie
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                passed = f"{COOKIE}={ANSWER}" in (self.headers.get("Cookie") or "")
                site.requests.append((path, passed))
                if path == "/robots.txt":
                    return self._send(404, "not here")
                if not passed:
                    return self._send(200, CHALLENGE.replace("{path}", path))
                if path == "/goutongjiaoliu/index.html":
                    return self._send(200, _list_page())
                if path in NOTICES:
                    return self._send(200, _notice(*NOTICES[path]))
                return self._send(404, "not here")

            def _send(self, status: int, body: str) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/goutongjiaoliu/index.html"

    def __enter__(self) -> GuardedSite:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def site() -> Iterator[GuardedSite]:
    with GuardedSite() as guarded:
        yield guarded


def _source(url: str, render: str | None) -> str:
    return (
        '[[sources]]\nkey = "pboc-news"\nkind = "spider"\nlang = "zh"\n'
        f'url = "{url}"\nlinks = "font.newslist_style a[title]"\ndate = "span.hui12"\n'
        'article_body = "#zoom"\n' + (f'render = "{render}"\n' if render else "")
    )


# Chromium's start and a navigation take seconds on a busy machine: a longer timeout here.
CRAWL = '[crawl]\ndelay = "0"\ntimeout = "30s"\nretries = 0\nbatch_timeout = "120s"\n'


def _stories(folder: Path) -> dict[str, tuple[str, str]]:
    db = Database(f"sqlite:///{folder / 'crackdown.db'}")
    try:
        with db.session() as session:
            rows = session.execute(text("SELECT url, title, body FROM stories")).all()
    finally:
        db.dispose()
    return {re.sub(r"^http://127\.0\.0\.1:\d+", "", u): (t, b) for u, t, b in rows}


def test_a_plain_fetch_gets_the_challenge_and_says_it_needs_the_browser(
    site: GuardedSite, tmp_path: Path
) -> None:
    config = write_config(tmp_path, _source(site.url, None), crawl=CRAWL)
    _status, out, _err = run_cli("--config", str(config), "crawl")
    assert re.search(r"^pboc-news +FAILED .*needs render = browser", out, re.M), out
    assert _stories(tmp_path) == {}
    assert not any(passed for _path, passed in site.requests)


@needs_chromium
def test_the_browser_passes_the_challenge_and_the_notices_are_stored(
    site: GuardedSite, tmp_path: Path
) -> None:
    config = write_config(tmp_path, _source(site.url, "browser"), crawl=CRAWL)
    status, out, err = run_cli("--config", str(config), "crawl")
    assert status == 0, out + err
    stories = _stories(tmp_path)
    assert set(stories) == set(NOTICES)
    for path, (title, body, _date) in NOTICES.items():
        assert stories[path][0] == title and body in stories[path][1]
    assert ("/goutongjiaoliu/index.html", False) in site.requests  # the challenge, then
    assert ("/goutongjiaoliu/index.html", True) in site.requests  # the list, with the cookie
    assert all(passed for path, passed in site.requests if path in NOTICES)  # same browser
    assert re.search(r"^pboc-news +done .* 2 items, 0 errors.*: 2 new", out, re.M), out


def test_without_the_browser_a_browser_source_fails_in_one_line_saying_what_to_install(
    site: GuardedSite, tmp_path: Path
) -> None:
    crawl = CRAWL + f'browser = "{tmp_path / "no-chromium"}"\n'
    config = write_config(tmp_path, _source(site.url, "browser"), crawl=crawl)
    _status, out, _err = run_cli("--config", str(config), "crawl")
    (line,) = [x for x in out.splitlines() if x.startswith("pboc-news ")]
    assert "render = browser needs Chromium at" in line and "crackdown[browser]" in line, line
    assert site.requests == []  # nothing fetched


def test_a_batch_without_browser_sources_never_imports_playwright() -> None:
    """The crawl child's modules, and a plain source's requests, leave Playwright unloaded."""
    code = (
        "import sys\n"
        "from crawler.spiders.run import Runners\n"
        "from crawler.spiders.job import CrawlSettings, SourceJob, SpiderSpec\n"
        "from crawler.spiders.listing import ListingSpider\n"
        "spec = SpiderSpec('plain', ('http://127.0.0.1:9/',), links='a')\n"
        "runners = Runners({}, CrawlSettings())\n"
        "assert runners.for_source(SourceJob(spec)) is runners.plain\n"
        "ListingSpider(spec).list_request(spec.start_urls[0], page=1)\n"
        "loaded = [m for m in sys.modules if 'playwright' in m]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_without_scrapy_playwright_the_reason_says_what_to_install() -> None:
    code = (
        "import sys\n"
        "sys.modules['scrapy_playwright'] = None  # as if the extra were not installed\n"
        "from crawler.spiders.browser import unavailable\n"
        "from crawler.spiders.job import CrawlSettings\n"
        "print(unavailable(CrawlSettings()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("render = browser needs scrapy-playwright: pip install ")
    assert "'crackdown[browser]'" in done.stdout
