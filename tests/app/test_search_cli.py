"""`crackdown search`, and the index behind it: built by the migration, kept by every insert."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete

from crackdown.cli import main
from crawler.normalize import normalise
from crawler.types import RawStory
from storage import search, sources, stories
from storage.db import Database
from storage.migrate import upgrade
from storage.models import StoryRow
from tests.probing import shipped_matcher

MATCHER = shipped_matcher()
NOW = datetime.now(UTC)
TITLES = {
    "https://wire.example/1": ("PBoC bans bitcoin OTC trading", 1),
    "https://wire.example/2": ("央行：虚拟货币交易属于非法金融活动", 3),
    "https://wire.example/3": ("幣安被禁止在中國應用商店上架", 40),  # traditional
    "https://wire.example/4": ("Weather report for Beijing", 2),
}


def _store(db: Database) -> None:
    with db.session() as session:
        sources.sync_sources(session, [("wire", "feed", "https://wire.example/feed")])
        for url, (title, days) in TITLES.items():
            story = normalise(
                RawStory("wire", url, title, published_at=NOW - timedelta(days=days)),
                fetched_at=NOW,
            )
            stories.store_story(session, story, MATCHER.match(story))


def _stored_database(tmp_path: Path) -> Database:
    """The config's database, migrated, with the stories of `_store` in it."""
    db = Database(f"sqlite:///{tmp_path / 'c.db'}")
    db.upgrade()
    _store(db)
    return db


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "c.db"}"\n', encoding="utf-8")
    return path


def _search(config: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["--config", str(config), "search", *args], environ={})
    out, err = capsys.readouterr()
    return code, out, err


def test_search_prints_ranked_stories_and_json(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _stored_database(tmp_path)
    db.dispose()

    code, out, err = _search(config, "币安 OR 央行", capsys=capsys)  # simplified finds traditional
    assert code == 0, err
    lines = out.splitlines()
    assert "央行：虚拟货币交易属于非法金融活动" in lines[0]  # newer ranks first
    assert "幣安被禁止在中國應用商店上架" in lines[2]
    assert "2 stories" in err

    code, out, _ = _search(config, "bitcoin OR weather", "--json", capsys=capsys)
    found = json.loads(out)
    assert [f["title"] for f in found] == [
        "PBoC bans bitcoin OTC trading",
        "Weather report for Beijing",
    ]
    assert [f["matched"] for f in found] == [True, False]
    assert found[0]["entities"] and found[0]["source"] == "wire"
    assert [f["cluster_id"] for f in found] == [f["story_id"] for f in found]  # two events

    code, out, _ = _search(config, "bitcoin OR weather", "--matched", "--json", capsys=capsys)
    assert [f["title"] for f in json.loads(out)] == ["PBoC bans bitcoin OTC trading"]

    code, out, _ = _search(config, "币安", "--since", "7d", capsys=capsys)
    assert code == 1 and out == ""  # the only story about it is 40 days old

    code, _, err = _search(config, "binance AND (", capsys=capsys)
    assert code == 2 and "query error at character" in err
    code, _, err = _search(config, "binance", "--since", "last tuesday", capsys=capsys)
    assert code == 2 and "--since" in err


def test_the_migration_indexes_stories_stored_before_it_and_deletes_follow(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    upgrade(db.engine, "0009")
    with db.session() as session:  # a database from before search, with stories in it
        sources.sync_sources(session, [("wire", "feed", "https://wire.example/feed")])
        session.execute(
            StoryRow.__table__.insert(),
            [
                {
                    "canonical_url": url,
                    "url": url,
                    "source_id": 1,
                    "title": title,
                    "summary": "",
                    "body": "",
                    "lang": "en",
                    "published_at": NOW,
                    "fetched_at": NOW,
                    "fingerprint": url,
                }
                for url, (title, _) in TITLES.items()
            ],
        )
    db.upgrade()

    def found(query: str) -> list[str]:
        rule = MATCHER.compile(query, bare_words_are_phrases=True)
        with db.session() as session:
            results = search.search(session, MATCHER, rule, now=NOW)
        return [hit.story.title for hit in results.hits]

    assert found("央行") == ["央行：虚拟货币交易属于非法金融活动"]
    with db.session() as session:
        session.execute(delete(StoryRow).where(StoryRow.canonical_url == "https://wire.example/2"))
        assert search.fts5_query(MATCHER.compile("pboc").needs, MATCHER) is not None
    assert found("央行") == []  # deleting a story (retention) takes it out of the index
    db.dispose()


def test_queries_the_index_cannot_narrow_are_still_answered_exactly(tmp_path: Path) -> None:
    db = _stored_database(tmp_path)
    for query in ("NOT bitcoin", "币", "NOT weather AND NOT 央行"):
        rule = MATCHER.compile(query, bare_words_are_phrases=True)
        assert search.fts5_query(rule.needs, MATCHER) is None, query
    rule = MATCHER.compile("NOT weather AND NOT 央行", bare_words_are_phrases=True)
    with db.session() as session:
        titles = [h.story.title for h in search.search(session, MATCHER, rule, now=NOW).hits]
        capped = search.search(session, MATCHER, rule, now=NOW, scan=1)
    assert sorted(titles) == sorted(
        [TITLES["https://wire.example/1"][0], TITLES["https://wire.example/3"][0]]
    )
    assert capped.capped and capped.scanned == 1
    db.dispose()


def test_export_writes_flagged_stories_with_clusters_and_sources(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _stored_database(tmp_path)
    with db.session() as session:  # another outlet carries the PBoC story too
        sources.sync_sources(session, [("echo", "feed", "https://echo.example/feed")])
        canonical = "https://wire.example/1"
        stories.record_also_reported(session, "echo", {canonical: "https://echo.example/pboc"})
    db.dispose()

    code = main(["--config", str(config), "export", "--since", "30d", "--format", "jsonl"], {})
    out, err = capsys.readouterr()
    assert code == 0 and err.strip() == "2 stories exported"  # the weather and the 40-day one not
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["title"] for r in rows] == [
        TITLES["https://wire.example/1"][0],
        TITLES["https://wire.example/2"][0],
    ]
    first = rows[0]
    assert first["source"] == "wire" and first["sources"] == ["wire", "echo"]
    assert "pboc" in first["entities"] and first["topics"] == ["china-crypto-enforcement"]
    assert first["cluster_id"] == first["story_id"]  # the first report of its event

    target = tmp_path / "out.csv"
    code = main(
        ["--config", str(config), "export", "--since", "2000-01-01", "--output", str(target)], {}
    )
    lines = target.read_text(encoding="utf-8").splitlines()
    assert code == 0 and lines[0].startswith("story_id,published_at,source,title")
    assert len(lines) == 1 + 3 and "幣安被禁止在中國應用商店上架" in target.read_text(
        encoding="utf-8"
    )
    assert main(["--config", str(config), "export", "--since", "someday"], {}) == 2


def test_the_star_marks_only_stories_a_topic_matched(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An entity alone (Binance listing a token) is found, but it did not alert: no star."""
    db = _stored_database(tmp_path)
    with db.session() as session:
        story = normalise(
            RawStory("wire", "https://wire.example/5", "Binance lists a new token"),
            fetched_at=NOW,
        )
        stories.store_story(session, story, MATCHER.match(story))
    db.dispose()
    code, out, err = _search(config, "binance OR 幣安", capsys=capsys)
    assert code == 0, err
    lines = out.splitlines()[::2]  # "  rank M date source title", then the URL
    titles = [line.split(" wire ", 1)[1].split("  ⚖")[0].strip() for line in lines]
    starred = {title: line[7] == "*" for title, line in zip(titles, lines, strict=True)}
    assert starred == {"Binance lists a new token": False, "幣安被禁止在中國應用商店上架": True}
    assert "* = a topic matched" in err


def test_search_says_what_happened_and_who_acted(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _stored_database(tmp_path)
    db.dispose()

    code, out, err = _search(config, "bitcoin OR weather", capsys=capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].endswith("PBoC bans bitcoin OTC trading  ⚖ ban · by PBoC")  # as alerts say
    assert lines[2].endswith("Weather report for Beijing")  # nothing happened

    code, out, _ = _search(config, "bitcoin OR weather", "--json", capsys=capsys)
    found = json.loads(out)
    assert [(f["actions"], f["actors"]) for f in found] == [(["ban"], ["pboc"]), ([], [])]
