"""Rows bound for the driver are the rows SQLAlchemy would bind (`storage.rows`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select, text

from storage.db import Database
from storage.models import MatchRow, Source, StoryRow, StorySource
from storage.rows import bind, insert_rows, sqlite_utc_text

TIMES = [
    datetime(2026, 12, 6, 17, 42, 1, 123456, tzinfo=UTC),
    datetime(2026, 12, 6, 17, 42, 1, tzinfo=UTC),  # no microseconds: still written out
    datetime(2026, 12, 7, 1, 42, 1, 5, tzinfo=timezone(timedelta(hours=8))),
    datetime(2026, 7, 1, 12, 30, tzinfo=ZoneInfo("Europe/Berlin")),
    datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),  # a four-digit year, zero-padded
    datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-5))),
]


def test_sqlite_utc_text_is_sqlalchemys_text(db: Database) -> None:
    with db.engine.connect() as connection:
        column = StorySource.__table__.c.seen_at
        reference = column.type.dialect_impl(connection.dialect).bind_processor(connection.dialect)
        ours = bind(connection, column)
        assert reference is not None
        for value in [*TIMES, None]:
            assert ours(value) == reference(value)
        if connection.dialect.name == "sqlite":
            assert ours is sqlite_utc_text
            assert sqlite_utc_text(TIMES[1]) == "2026-12-06 17:42:01.000000"
            with pytest.raises(ValueError, match="naive"):
                ours(datetime(2026, 12, 6))


def test_insert_rows_stores_what_core_stores(db: Database) -> None:
    """The same stored text and the same times read back, through the driver and through Core."""
    with db.engine.begin() as connection:
        sources = [
            {"key": f"s{i}", "url": f"https://s{i}.example/", "kind": "rss"}
            for i in range(2 * len(TIMES))
        ]
        connection.execute(insert(Source.__table__), sources)
        source_ids = list(connection.execute(select(Source.id).order_by(Source.id)).scalars())
        source_id = source_ids[0]
        story = {
            "canonical_url": "c",
            "url": "u",
            "source_id": source_id,
            "title": "t",
            "lang": "en",
            "published_at": TIMES[0],
            "fingerprint": "f",
        }
        story_id = connection.execute(
            insert(StoryRow.__table__).values(story).returning(StoryRow.id)
        ).scalar_one()
        table = StorySource.__table__
        core = [
            {"story_id": story_id, "source_id": source_ids[i], "url": f"core{i}", "seen_at": when}
            for i, when in enumerate(TIMES)
        ]
        ours = [
            row | {"url": f"ours{i}", "source_id": source_ids[len(TIMES) + i]}
            for i, row in enumerate(core)
        ]
        connection.execute(insert(table), core)
        insert_rows(connection, table, ours)
        as_text = text("SELECT url, CAST(seen_at AS TEXT) FROM story_sources")
        raw = dict(connection.execute(as_text).all())
        read = dict(connection.execute(select(table.c.url, table.c.seen_at)).all())
    for i, when in enumerate(TIMES):
        assert raw[f"ours{i}"] == raw[f"core{i}"]
        assert read[f"ours{i}"] == read[f"core{i}"] == when


def test_shared_values_and_defaults_bind_as_core_binds_them(db: Database) -> None:
    """Rows sharing a time object or an empty list, then differing, bind as each alone would;
    a callable default (the outbox's times) is made once a statement, the same for its rows."""
    with db.engine.begin() as connection:
        connection.execute(
            insert(Source.__table__), [{"key": "s", "url": "https://s.example/", "kind": "rss"}]
        )
        (source_id,) = connection.execute(select(Source.id)).scalars()
        stories = [
            {
                "canonical_url": f"c{i}",
                "url": f"u{i}",
                "source_id": source_id,
                "title": "t",
                "lang": "en",
                "published_at": when,
                "fingerprint": "f",
            }
            for i, when in enumerate([TIMES[0], TIMES[0], TIMES[2], TIMES[0], TIMES[3]])
        ]
        story_ids = [
            connection.execute(
                insert(StoryRow.__table__).values(s).returning(StoryRow.id)
            ).scalar_one()
            for s in stories
        ]
        shared = TIMES[2]
        seen = [shared, shared, TIMES[4], shared, TIMES[5]]
        insert_rows(
            connection,
            StorySource.__table__,
            [
                {"story_id": sid, "source_id": source_id, "url": f"x{i}", "seen_at": when}
                for i, (sid, when) in enumerate(zip(story_ids, seen, strict=True))
            ],
        )
        read = dict(connection.execute(select(StorySource.url, StorySource.seen_at)).all())
        assert [read[f"x{i}"] for i in range(5)] == seen
        entities: list[list[str]] = [[], [], ["PBOC"], [], ["OKX", "PBOC"]]
        insert_rows(
            connection,
            MatchRow.__table__,
            [
                {"story_id": sid, "entities": e, "topics": [], "hits": [], "score": 1.0}
                for sid, e in zip(story_ids, entities, strict=True)
            ],
        )
        rows = connection.execute(
            select(MatchRow.story_id, MatchRow.entities, MatchRow.created_at).order_by(
                MatchRow.story_id
            )
        ).all()
        # a list changed between two statements is bound as it is now
        shared: list[str] = ["A"]
        for sid in story_ids[:2]:
            connection.execute(MatchRow.__table__.delete().where(MatchRow.story_id == sid))
            insert_rows(
                connection,
                MatchRow.__table__,
                [{"story_id": sid, "entities": shared, "topics": [], "hits": [], "score": 1.0}],
            )
            shared.append("B")
        again = connection.execute(
            select(MatchRow.entities)
            .where(MatchRow.story_id.in_(story_ids[:2]))
            .order_by(MatchRow.story_id)
        ).scalars()
        assert list(again) == [["A"], ["A", "B"]]
    assert [row.entities for row in rows] == entities
    assert len({row.created_at for row in rows}) == 1
