"""Chinese sources whose charset lies: GBK bytes declared UTF-8, a stray byte at the end.

Old code: the feed went to feedparser as declared, which fell back to windows-1252, so
the title was stored as mojibake ("ÖÐ¹úÈËÃñÒøÐÐ...") that no filter term matches; the
page with a stray byte was read as UTF-8 with every Chinese character replaced.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from crackdown.demo.site import LoopbackSite, Page
from crawler.spiders.decoding import decode_page
from tests.e2e.conftest import cli_env, crackdown

TITLE = "中国人民银行：坚决打击虚拟货币非法集资活动"


@pytest.mark.parametrize("stray", [b"", b"\xff"], ids=["gbk", "gbk-and-a-stray-byte"])
def test_a_gbk_feed_declared_utf8_is_read_as_chinese(
    tmp_path: Path, site: LoopbackSite, stray: bytes
) -> None:
    feed = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>{TITLE}</title><link>https://x.example/1</link></item></channel></rss>"
    )
    site.pages["/lying.xml"] = Page(
        feed.encode("gbk") + stray, "application/rss+xml; charset=utf-8"
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "crackdown.db"}"\n'
        f'[[sources]]\nkey = "lying"\nurl = "{site.url("/lying.xml")}"\nlang = "zh"\n',
        encoding="utf-8",
    )
    result = crackdown("--config", str(config), "poll", env=cli_env())
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    with sqlite3.connect(tmp_path / "crackdown.db") as conn:
        titles = [row[0] for row in conn.execute("SELECT title FROM stories")]
    assert titles == [TITLE]
    assert "1 matched" in result.stdout


def test_a_gbk_page_with_a_stray_byte_is_read_as_gb18030_not_replaced() -> None:
    page = (
        f'<html><head><meta charset="utf-8"><title>{TITLE}</title></head>'
        f"<body><p>{TITLE * 3}</p></body></html>"
    ).encode("gbk") + b"\xff\xfe\x80"
    decoded = decode_page(page, "text/html; charset=utf-8")
    assert TITLE in decoded.text and decoded.encoding == "gb18030"
    assert decoded.suspect and "bad bytes" in (decoded.note or "")


def test_a_latin_page_declared_utf8_is_not_read_as_chinese() -> None:
    page = ("<p>" + "The caf\xe9 r\xe9sum\xe9 text. " * 3 + "</p>").encode("cp1252")
    assert "caf\xe9" in decode_page(page, "text/html; charset=utf-8").text
