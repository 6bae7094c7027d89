"""Feed items that have no link of their own, or all share one: every story is kept.

Old code: `canonical_url` dropped the fragment of the key a link-less item gets
(`FEED#source-digest`), so every such item of a feed had the feed's URL for a key; and
items that all link one list page had that page's. One story was stored, each later one
was taken for it: a source that gives no links delivered one story, ever.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine, select, text

from crackdown.demo.site import LoopbackSite, Page
from storage import sources
from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.models import StoryRow
from tests.e2e.conftest import cli_env, crackdown

TITLES = [
    "中国人民银行打击虚拟货币非法集资",
    "公安部破获特大虚拟货币洗钱案",
    "网信办关停比特币交易网站",
]


def _feed(titles: list[str], item: str) -> bytes:
    items = "".join(f"<item><title>{t}</title>{item.format(title=t)}</item>" for t in titles)
    return f"<rss version='2.0'><channel><title>c</title>{items}</channel></rss>".encode()


def _titles(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return sorted(connection.execute(text("SELECT title FROM stories")).scalars())
    finally:
        engine.dispose()


def test_items_without_links_or_sharing_one_are_each_stored(
    tmp_path: Path, site: LoopbackSite, database_url: str
) -> None:
    shared = "<link>https://list.example/news/</link><guid>https://list.example/news/</guid>"
    linkless = "<guid isPermaLink='false'>{title}</guid>"
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "{database_url}"\n'
        + "".join(
            f'[[sources]]\nkey = "{key}"\nurl = "{site.url(f"/{key}.xml")}"\nlang = "zh"\n'
            for key in ("linkless", "shared")
        ),
        encoding="utf-8",
    )
    site.pages["/linkless.xml"] = Page(_feed(TITLES, linkless), "application/rss+xml")
    site.pages["/shared.xml"] = Page(_feed(TITLES, shared), "application/rss+xml")
    result = crackdown("--config", str(config), "poll", env=cli_env())
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]
    assert _titles(database_url) == sorted(TITLES * 2)


def test_stored_keys_of_link_less_items_get_their_fragment_back(database_url: str) -> None:
    feed = "https://a.example/feed"
    now = datetime(2026, 12, 1, tzinfo=UTC)
    urls = [f"{feed}#a-{n:024x}" for n in (1, 2)]
    db = Database(database_url)
    try:
        upgrade(db.engine, "0018")
        command.downgrade(alembic_config(db.engine), "0018")  # a test server's may be at head
        with db.session() as session:
            sources.sync_sources(session, [("a", "feed", feed)])
            session.execute(
                StoryRow.__table__.insert(),
                [
                    {
                        "canonical_url": key,
                        "url": url,
                        "source_id": 1,
                        "title": url,
                        "summary": "",
                        "body": "",
                        "lang": "en",
                        "published_at": now,
                        "fetched_at": now,
                        "fingerprint": url,
                    }
                    for key, url in (
                        (feed, urls[0]),
                        ("https://b.example/x", "https://b.example/x#top"),
                    )
                ],
            )
        upgrade(db.engine)
        with db.session() as session:
            keys = sorted(session.execute(select(StoryRow.canonical_url)).scalars())
    finally:
        db.dispose()
    assert keys == sorted([urls[0], "https://b.example/x"])
