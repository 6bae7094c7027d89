"""UTF-8 sources with a few windows-1252 bytes in them: a CMS that pastes Word's smart
quotes and dashes into a UTF-8 page or feed as they were.

Old code: strict UTF-8 failed, so the guesses read the whole body as GB18030: a Chinese
feed without a charset in its Content-Type was stored as mojibake in every title (nothing
matched), and such an article page too; with the header's charset the quotes became U+FFFD.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crackdown.demo.site import LoopbackSite, Page
from crawler.spiders.decoding import decode_page
from tests.e2e.conftest import cli_env, crackdown

TITLE = "中国人民银行：坚决打击虚拟货币非法集资活动"
QUOTED = "\u201cVirtual currency\u201d ban \u2013 PBoC\u2019s notice"


def test_a_utf8_feed_with_cp1252_quotes_keeps_its_chinese_and_its_quotes(
    tmp_path: Path, site: LoopbackSite
) -> None:
    items = "".join(
        f"<item><title>{TITLE} {n}</title><link>https://x.example/{n}</link></item>"
        for n in range(3)
    ).encode()
    pasted = f"<item><title>{QUOTED}</title><link>https://x.example/q</link></item>"
    feed = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        + items
        + pasted.encode("cp1252")
        + b"</channel></rss>"
    )
    site.pages["/mixed.xml"] = Page(feed, "text/xml")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "crackdown.db"}"\n'
        f'[[sources]]\nkey = "mixed"\nurl = "{site.url("/mixed.xml")}"\nlang = "zh"\n',
        encoding="utf-8",
    )
    result = crackdown("--config", str(config), "poll", env=cli_env())
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    with sqlite3.connect(tmp_path / "crackdown.db") as conn:
        titles = sorted(row[0] for row in conn.execute("SELECT title FROM stories"))
    assert titles == sorted([*(f"{TITLE} {n}" for n in range(3)), QUOTED])


def test_a_utf8_page_with_cp1252_quotes_is_read_as_utf8() -> None:
    page = (
        f'<html><head><meta charset="utf-8"><title>{TITLE}</title></head>'
        f"<body><p>{TITLE * 3}</p><p>{QUOTED}</p></body></html>"
    )
    body = page.replace(QUOTED, "@@").encode().replace(b"@@", QUOTED.encode("cp1252"))
    decoded = decode_page(body, "text/html; charset=utf-8")
    assert TITLE in decoded.text and QUOTED in decoded.text, decoded.text
    assert decoded.suspect and "4 bytes as cp1252" in (decoded.note or "")


def test_gbk_and_latin_pages_are_not_taken_for_nearly_utf8() -> None:
    gbk = f"<html><body><p>{TITLE * 3}</p></body></html>".encode("gbk") + b"\xff"
    assert TITLE in decode_page(gbk, "text/html; charset=utf-8").text
    latin = ("<p>" + "The caf\xe9 r\xe9sum\xe9 \u201ctext\u201d. " * 3 + "</p>").encode("cp1252")
    assert "caf\xe9 r\xe9sum\xe9 \u201ctext\u201d" in decode_page(latin, "text/html").text
