"""`crackdown poll` of feeds whose dates no calendar holds: each entry is kept, none lies ahead."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from crackdown.demo.site import LoopbackSite, Page
from tests.e2e.conftest import cli_env, crackdown

ENTRIES = [  # (id, updated): a normal date, the year 9999, and the year 10000 once in UTC
    ("normal", "2026-01-05T08:00:00Z"),
    ("far-future", "9999-12-31T23:59:59Z"),
    ("past-9999", "9999-12-31T23:59:59-12:00"),
    ("year-one", "0001-01-01T00:00:00+14:00"),
    ("old", "1900-01-01T00:00:00Z"),
]


def atom() -> bytes:
    entries = "".join(
        f"<entry><title>PBoC bans bitcoin trading {key}</title>"
        f'<link href="https://news.example/{key}"/><id>{key}</id><updated>{when}</updated></entry>'
        for key, when in ENTRIES
    )
    return f'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>{entries}</feed>'.encode()


def test_entries_with_impossible_or_future_dates_are_stored_as_seen_now(
    tmp_path: Path, site: LoopbackSite
) -> None:
    """Old code: the year-10000 date raised ValueError and the whole feed failed; a 9999 date
    was stored as is, heading every newest-first list until then."""
    site.pages["/dates.xml"] = Page(atom(), "application/atom+xml")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path / "crackdown.db"}"\n'
        f'[[sources]]\nkey = "dates"\nurl = "{site.url("/dates.xml")}"\n',
        encoding="utf-8",
    )
    started = datetime.now(UTC)
    result = crackdown("--config", str(config), "poll", env=cli_env())
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    with sqlite3.connect(tmp_path / "crackdown.db") as conn:
        stored = dict(conn.execute("SELECT url, published_at FROM stories"))
    assert len(stored) == len(ENTRIES), stored
    latest = started + timedelta(days=1, minutes=5)
    for url, published in stored.items():
        when = datetime.fromisoformat(published)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        assert when <= latest, (url, published)
    assert stored["https://news.example/normal"].startswith("2026-01-05")
