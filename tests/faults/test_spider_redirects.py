"""Article links whose redirect Scrapy drops are errors of the source, not silence.

Scrapy drops a request whose redirect leaves the allowed domains (a site moved
to a new domain), goes round in a loop, or reaches a page fetched already, and
calls neither the callback nor the errback. The old code's crawl then said
"0 errors" for a source that yielded nothing.
"""

from __future__ import annotations

from pathlib import Path

from crackdown.demo.site import LoopbackSite, Page
from tests.e2e.conftest import cli_env
from tests.hostile import run_measured
from tests.spiders.conftest import write_config
from tests.spiders.site import MATCHING_BODY, MATCHING_TITLE, html, utf8_list


def test_article_redirects_scrapy_drops_are_reported_as_errors(
    tmp_path: Path, site: LoopbackSite
) -> None:
    utf8 = "text/html; charset=utf-8"
    moved = site.url("/new/a.html").replace("127.0.0.1", "localhost")  # another domain
    links = [
        ("moved.html", "迁移", "2024年06月15日"),
        ("loop-a.html", "循环", "2024年06月15日"),
        ("good.html", MATCHING_TITLE, "2024年06月15日"),
    ]
    site.pages.update(
        {
            "/robots.txt": Page(b"User-agent: *\nAllow: /\n", "text/plain"),
            "/r/index.html": Page(utf8_list(links, None).encode(), utf8),
            "/r/moved.html": Page(b"", utf8, 301, headers={"Location": moved}),
            "/r/loop-a.html": Page(b"", utf8, 302, headers={"Location": "/r/loop-b.html"}),
            "/r/loop-b.html": Page(b"", utf8, 302, headers={"Location": "/r/loop-a.html"}),
            "/new/a.html": Page(html("新址", "正文").encode(), utf8),
            "/r/good.html": Page(html(MATCHING_TITLE, MATCHING_BODY).encode(), utf8),
        }
    )
    source = (
        f'[[sources]]\nkey = "redirects"\nkind = "spider"\nurl = "{site.url("/r/index.html")}"\n'
        'links = "ul.news li a"\n'
    )
    result = run_measured(["--config", str(write_config(tmp_path, source)), "crawl"], cli_env())
    print(result.stdout)
    assert result.returncode == 0, result.stderr[-3000:]
    errors = [line for line in result.stdout.splitlines() if " error " in line]
    for page in ("moved.html", "loop-a.html"):
        assert any(page in line and "no response: redirected" in line for line in errors), errors
    assert "2 errors" in result.stdout
