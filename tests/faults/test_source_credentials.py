"""A source URL with a password in it (`https://user:secret@host/feed`, a paywalled feed):
`crackdown sources` shows it as `user:***@host`, as `status` shows the database's URL.

Old code: the table printed the password to the terminal, and so to whatever an operator
pastes into a ticket or a chat.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crackdown.cli import main
from crackdown.demo.site import LoopbackSite, Page
from crawler.urls import without_password
from tests.crawler.test_feed_fetching import rss


def test_the_sources_table_hides_a_password_in_a_source_url(
    tmp_path: Path, site: LoopbackSite, capsys: pytest.CaptureFixture[str]
) -> None:
    site.pages["/feed.xml"] = Page(rss())
    url = site.url("/feed.xml").replace("http://", "http://reader:s3cret-pw@")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "c.db"}"\n'
        f'[[sources]]\nkey = "paid"\nurl = "{url}"\n',
        encoding="utf-8",
    )
    assert main(["--config", str(config), "poll", "--all"], environ={}) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "sources"], environ={}) == 0
    out = capsys.readouterr().out
    assert "s3cret-pw" not in out
    assert "reader:***@127.0.0.1" in out


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://u:p@x.example/f", "https://u:***@x.example/f"),
        ("https://u@x.example/f", "https://u@x.example/f"),
        ("https://x.example/f?a=1", "https://x.example/f?a=1"),
        ("http://[abc/x", "http://[abc/x"),
    ],
)
def test_without_password(url: str, shown: str) -> None:
    assert without_password(url) == shown
