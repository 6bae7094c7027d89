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


def test_a_gbk_feed_declared_utf8_is_read_as_chinese(tmp_path: Path, site: LoopbackSite) -> None:
    strays = {"gbk": b"", "gbk-and-a-stray-byte": b"\xff"}  # one poll of both: one start-up
    for n, (key, stray) in enumerate(strays.items()):
        feed = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
            f"<item><title>{TITLE}</title><link>https://x.example/{n}</link></item></channel></rss>"
        )
        site.pages[f"/{key}.xml"] = Page(
            feed.encode("gbk") + stray, "application/rss+xml; charset=utf-8"
        )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "crackdown.db"}"\n'
        + "".join(
            f'[[sources]]\nkey = "{key}"\nurl = "{site.url(f"/{key}.xml")}"\nlang = "zh"\n'
            for key in strays
        ),
        encoding="utf-8",
    )
    result = crackdown("--config", str(config), "poll", env=cli_env())
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    with sqlite3.connect(tmp_path / "crackdown.db") as conn:
        titles = [row[0] for row in conn.execute("SELECT title FROM stories")]
    assert titles == [TITLE, TITLE]
    for key in strays:
        line = next(line for line in result.stdout.splitlines() if line.startswith(key + " "))
        assert "1 matched" in line, result.stdout


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


BIG5_TITLE = "中國人民銀行：堅決打擊虛擬貨幣非法集資活動，這是對投資者的保護"
NAV = '<ul class="nav"><li><a href="/index.html">home</a></li><li><a href="/n/">news</a></li></ul>'


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/html"])
@pytest.mark.parametrize("stray", [b"\xff", b"\x80"])
def test_a_big5_page_with_a_stray_byte_is_read_as_big5(content_type: str, stray: bytes) -> None:
    """Old code: the stray byte hid Big5 from the guesser; GB18030 read it as mojibake
    (not "mostly Chinese"), so the page came out as replaced UTF-8 or GB18030 mojibake."""
    page = (
        f"<html><head><title>{BIG5_TITLE}</title></head>"
        f"<body>{NAV * 3}<p>{BIG5_TITLE * 3}</p></body></html>"
    ).encode("big5") + stray
    decoded = decode_page(page, content_type)
    assert BIG5_TITLE in decoded.text and decoded.encoding == "big5"
    assert decoded.suspect and "1 bad bytes" in (decoded.note or "")
