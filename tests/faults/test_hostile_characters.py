"""Characters in a source that no database or parser takes: NUL and other controls, lone
surrogates, numeric references past Unicode.

Old code: `&#xD800;` (or `&#x110000;`, `&#99999999999;`) in one title failed the whole feed
with "internal error" on every poll (feedparser's loose parser calls chr(n).encode());
`&#0;` or a raw NUL in a title was stored on SQLite and made PostgreSQL refuse the whole
poll ("text fields cannot contain NUL"), again on every poll; a JSON API's "\\ud800" made
SQLite's UTF-8 encoding fail the poll.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from crackdown.demo.site import LoopbackSite, Page
from tests.e2e.conftest import cli_env, crackdown

PHRASE = "中国人民银行打击虚拟货币非法集资"
# Each title hides hostile characters inside PHRASE; what the reader should get back.
TITLES = {
    "surrogate": (
        "中国人民银行打击&#xD800;虚拟货币非法集资",
        "中国人民银行打击\ufffd虚拟货币非法集资",
    ),
    "decimal-surrogate": (
        "中国人民银行&#57343;打击虚拟货币非法集资",
        "中国人民银行\ufffd打击虚拟货币非法集资",
    ),
    "past-unicode": (
        "中国人民银行打击虚拟货币&#x110000;非法集资",
        "中国人民银行打击虚拟货币\ufffd非法集资",
    ),
    "overflow": (
        "中国人民银行打击虚拟货币非法集资&#99999999999;",
        "中国人民银行打击虚拟货币非法集资\ufffd",
    ),
    "nul-reference": ("中国人民银行打击虚拟货币&#0;非法集资", PHRASE),
    "controls": ("中国人民银行打击&#x1b;虚拟货币&#1;非法集资\x7f", PHRASE),
    "raw-nul": ("中国人民银行打击虚拟货币\x00非法集资", PHRASE),
}


def _feed() -> bytes:
    items = "".join(
        f"<item><title>{markup}</title><link>https://x.example/{key}</link>"
        f"<description>{markup}</description></item>"
        for key, (markup, _) in TITLES.items()
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"{items}</channel></rss>"
    ).encode()


def _api() -> bytes:
    # json.dumps writes a lone surrogate as the escape "\ud800", which json.loads reads back
    items = [
        {"id": 1, "title": "中国人民银行\ud800打击虚拟货币非法集资", "content": "\udfff\x00"},
        {"id": 2, "title": "中国人民银行打击虚拟货币\x00非法集资", "content": "x"},
    ]
    return json.dumps({"list": items}).encode("ascii")


def test_hostile_characters_are_dropped_and_every_story_stored(
    tmp_path: Path, site: LoopbackSite, database_url: str
) -> None:
    site.pages["/hostile.xml"] = Page(_feed(), "application/rss+xml; charset=utf-8")
    site.pages["/api.json"] = Page(_api(), "application/json")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "{database_url}"\n'
        f'[[sources]]\nkey = "hostile"\nurl = "{site.url("/hostile.xml")}"\nlang = "zh"\n'
        f'[[sources]]\nkey = "api"\nkind = "json"\nurl = "{site.url("/api.json")}"\nlang = "zh"\n'
        '[sources.api]\nitems = "list"\ntitle = "title"\nsummary = "content"\n'
        'link_template = "https://api.example/{id}"\n',
        encoding="utf-8",
    )
    result = crackdown("--config", str(config), "poll", env=cli_env())
    output = result.stdout + result.stderr[-3000:]
    assert result.returncode == 0, output
    assert "internal error" not in output and "database error" not in output, output
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = dict(connection.execute(text("SELECT url, title FROM stories")).all())
    finally:
        engine.dispose()
    expected = {f"https://x.example/{key}": title for key, (_, title) in TITLES.items()}
    expected |= {"https://api.example/1": "中国人民银行打击虚拟货币非法集资"}
    expected |= {"https://api.example/2": PHRASE}
    assert rows == expected
    assert "9 matched" in result.stdout


@pytest.mark.parametrize("reference", [b"&#xd800;", b"&#x110000;", b"&#0000055296;", b"&#x00DFFF;"])
def test_bad_references_become_the_replacement_character(reference: bytes) -> None:
    from crawler.charrefs import without_bad_charrefs

    kept = b"&#20013;&#x4e2d;&#x10FFFF;&#55295;&#57344;"
    assert without_bad_charrefs(kept + reference + kept) == kept + b"&#xFFFD;" + kept
    assert without_bad_charrefs(kept) == kept
