"""`crackdown poll` of a feed with 100,000 entries: the first MAX_ENTRIES are read, in bounded
time and memory (the old code stored all of them: 90 s and 650 MB here, in one poll)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from crackdown.demo.site import LoopbackSite, Page
from crawler.feeds import MAX_ENTRIES
from tests.e2e.conftest import cli_env
from tests.hostile import run_measured


def test_a_feed_of_100000_entries_costs_one_poll_a_bounded_time_and_memory(
    tmp_path: Path, site: LoopbackSite
) -> None:
    items = "".join(
        f"<item><title>Notice {n} on the mining ban</title><link>https://x.example/{n}</link></item>"
        for n in range(100_000)
    )
    site.pages["/long.xml"] = Page(
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        f"{items}</channel></rss>".encode()
    )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "crackdown.db"}"\n'
        f'[[sources]]\nkey = "long"\nurl = "{site.url("/long.xml")}"\n',
        encoding="utf-8",
    )
    result = run_measured(["--config", str(config), "poll"], cli_env(), timeout=200)
    print(f"\n{result.seconds:.1f} s, peak RSS {result.peak_mb:.0f} MB\n{result.stdout}")
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"100000 entries: only the first {MAX_ENTRIES} read" in result.stderr
    with sqlite3.connect(tmp_path / "crackdown.db") as conn:
        (stored,) = conn.execute("SELECT count(*) FROM stories").fetchone()
    assert stored == MAX_ENTRIES
    assert result.peak_mb < 400
