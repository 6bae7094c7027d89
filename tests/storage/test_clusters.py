"""`storage.clusters` on real databases: title matches, LSH matches, the window, deletes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import delete, event, func, inspect, select, text

from crackdown.app import cluster_settings, load_watchlist
from crackdown.config import Config
from crawler.cluster import BANDS
from crawler.normalize import normalise
from crawler.types import MatchResult, RawStory, Story
from storage import sources, stories, subscribers
from storage.clusters import (
    BUCKET_CAP,
    MAX_CANDIDATES,
    MAX_MEMBERS,
    TITLE_CAP,
    ClusterSettings,
    cluster_members,
    forget_before,
)
from storage.db import Database
from storage.migrate import alembic_config
from storage.models import MatchRow, StoryBand, StoryRow, StorySignature
from tests.crawler.test_cluster import JINHUA, JINHUA_AGAIN, ZHENGZHOU

T0 = datetime(2026, 4, 8, 3, 0, tzinfo=UTC)
SETTINGS = ClusterSettings(window=timedelta(days=3), threshold=0.2)
OFF = ClusterSettings(enabled=False)
# What an alerted story's verdict names: worth clustering (`storage.stories`).
ALERTED = MatchResult(topics=("t",), entities=("virtual-currency",), signals=("arrest",))

WEATHER = ("Shanghai weather", "Sunny skies and light winds are expected across the city today.")


def make(
    n: int, text: tuple[str, str], *, source: str = "a", at: datetime = T0, lang: str = "en"
) -> Story:
    title, summary = text
    raw = RawStory(source, f"https://{source}.example/{n}", title, summary, "", at, lang)
    return normalise(raw, fetched_at=at)


def setup(db: Database) -> None:
    with db.session() as session:
        sources.sync_sources(session, [(k, "feed", f"https://{k}.example/f") for k in "abcd"])


def store(db: Database, batch: list[Story], settings: ClusterSettings = SETTINGS) -> dict[int, int]:
    """Store alerted stories as ingest does (clustered, then inserted); new id -> its cluster id."""
    with db.session() as session:
        session.info["clustering"] = settings
        outcomes = stories.store_stories(session, [(s, ALERTED) for s in batch])
        new = [o.story_id for o in outcomes if o.story_id is not None]
        stored = dict(
            session.execute(
                select(StoryRow.id, StoryRow.cluster_id).where(StoryRow.id.in_(new))
            ).all()
        )
    return {story_id: stored[story_id] for story_id in new}


def cluster_ids(db: Database) -> dict[str, int | None]:
    with db.session() as session:
        return dict(session.execute(select(StoryRow.url, StoryRow.cluster_id)).all())


def count(db: Database, model: type[StoryBand] | type[StorySignature]) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_report_with_the_same_title_joins_the_first_ones_cluster(db: Database) -> None:
    setup(db)
    ((first, first_cluster),) = store(db, [make(1, JINHUA)]).items()
    assert first_cluster == first  # the first story of a cluster holds its own id
    same_title = (JINHUA[0], "Thirty-two suspects were detained in Jinhua, Zhejiang.")
    ((second, cluster),) = store(db, [make(2, same_title, source="b")]).items()
    assert cluster == first and second != first
    assert cluster_ids(db) == {"https://a.example/1": first, "https://b.example/2": first}


def test_a_reworded_report_joins_through_the_stored_bands(db: Database) -> None:
    setup(db)
    ((first, _),) = store(db, [make(1, JINHUA)]).items()
    assert count(db, StoryBand) == BANDS and count(db, StorySignature) == 1
    later = T0 + timedelta(hours=6)
    assert list(store(db, [make(2, JINHUA_AGAIN, source="b", at=later)]).values()) == [first]


def test_a_story_whose_title_decides_counts_its_buckets_without_reading_their_rows(
    db: Database,
) -> None:
    """Its buckets' sizes decide which bands it writes; their ids serve only to rank candidates.

    A first cycle read 594,466 band rows for 4,959 stories clustered, of which
    93 ranked candidates (session 14): the others now read one row a bucket.
    """
    setup(db)
    ((first, _),) = store(db, [make(1, JINHUA)]).items()
    statements: list[str] = []

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        same_title = (JINHUA[0], "Thirty-two suspects were detained in Jinhua, Zhejiang.")
        assert list(store(db, [make(2, same_title, source="b")]).values()) == [first]
        band_reads = [s for s in statements if "FROM story_bands" in s]
        assert band_reads and all("count(*)" in s for s in band_reads)
        statements.clear()
        later = T0 + timedelta(hours=6)  # another title: ranks its band candidates
        assert list(store(db, [make(3, JINHUA_AGAIN, source="c", at=later)]).values()) == [first]
        assert any("story_id, published_at FROM story_bands" in s for s in statements)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert count(db, StoryBand) == 3 * BANDS


def test_reports_outside_the_window_start_a_cluster_of_their_own(db: Database) -> None:
    setup(db)
    store(db, [make(1, JINHUA)])
    late = T0 + timedelta(days=3, hours=1)
    ((late_id, cluster),) = store(db, [make(2, JINHUA, source="b", at=late)]).items()
    assert cluster == late_id  # same title and text, but too late
    early = T0 - timedelta(days=3, hours=1)
    ((early_id, cluster),) = store(db, [make(3, JINHUA_AGAIN, source="c", at=early)]).items()
    assert cluster == early_id


def test_stories_of_one_call_cluster_with_each_other(db: Database) -> None:
    setup(db)
    batch = [
        make(1, JINHUA),
        make(2, WEATHER, source="b"),
        make(3, JINHUA_AGAIN, source="c"),
        make(4, JINHUA, source="d"),  # the same title as the first
    ]
    assigned = store(db, batch)
    ids = list(assigned)
    assert [assigned[i] for i in ids] == [ids[0], ids[1], ids[0], ids[0]]


def test_similar_words_with_other_figures_are_another_event(db: Database) -> None:
    setup(db)
    store(db, [make(1, JINHUA)])
    ((zhengzhou, cluster),) = store(db, [make(2, ZHENGZHOU, source="b")]).items()
    assert cluster == zhengzhou


def test_a_shared_generic_title_does_not_join_a_different_notice(db: Database) -> None:
    setup(db)
    title = "关于防范虚拟货币交易炒作风险的提示"
    beijing = (title, "人民银行北京市分行提示辖内机构不得为虚拟货币交易提供服务，涉案32家。")
    shenzhen = (title, "人民银行深圳市分行提醒公众，警惕以稳定币名义实施的非法集资，涉案19家。")
    store(db, [make(1, beijing, lang="zh")])
    ((other, cluster),) = store(db, [make(2, shenzhen, source="b", lang="zh")]).items()
    assert cluster == other


def test_languages_are_not_clustered_together(db: Database) -> None:
    setup(db)
    store(db, [make(1, JINHUA)])
    ((other, cluster),) = store(db, [make(2, JINHUA, source="b", lang="zh")]).items()
    assert cluster == other


def test_deletes_cascade_and_a_headless_cluster_is_adopted(db: Database) -> None:
    setup(db)
    ((head, _),) = store(db, [make(1, JINHUA)]).items()
    ((member, _),) = store(db, [make(2, JINHUA_AGAIN, source="b")]).items()
    with db.session() as session:
        session.execute(delete(StoryRow).where(StoryRow.id == head))
    assert cluster_ids(db) == {"https://b.example/2": None}  # ON DELETE SET NULL
    assert count(db, StorySignature) == 1 and count(db, StoryBand) == BANDS  # the head's went
    assigned = store(db, [make(3, JINHUA, source="c", at=T0 + timedelta(hours=1))])
    assert list(assigned.values()) == [member]
    assert cluster_ids(db)["https://b.example/2"] == member  # now the first of its cluster


def test_clustering_off_makes_every_story_a_cluster_and_stores_no_signature(
    db: Database,
) -> None:
    setup(db)
    assigned = store(db, [make(1, JINHUA), make(2, JINHUA, source="b")], OFF)
    assert all(story == cluster for story, cluster in assigned.items())
    assert set(cluster_ids(db).values()) == set(assigned)
    assert count(db, StorySignature) == 0 and count(db, StoryBand) == 0


def test_members_are_listed_first_seen_first(db: Database) -> None:
    setup(db)
    ((head, _),) = store(db, [make(1, JINHUA)]).items()
    store(db, [make(2, WEATHER, source="b")])
    store(db, [make(3, JINHUA_AGAIN, source="c", at=T0 - timedelta(hours=1))])
    with db.session() as session:
        members = cluster_members(session, head)
    assert [(m.source_key, m.url, m.title) for m in members] == [
        ("a", "https://a.example/1", JINHUA[0]),
        ("c", "https://c.example/3", JINHUA_AGAIN[0]),  # published earlier, seen later
    ]
    assert members[1].published_at == T0 - timedelta(hours=1)


def test_a_big_batch_is_clustered_in_chunks_across_their_edges(db: Database) -> None:
    setup(db)
    filler = [
        make(
            i,
            (f"Story {i}", f"Item {i} on topic t{i} detail d{i} city c{i} sector s{i} region r{i}"),
            source="b",
        )
        for i in range(10, 460)
    ]
    batch = [make(1, JINHUA), *filler, make(2, JINHUA_AGAIN, source="c")]
    assigned = store(db, batch)
    ids = list(assigned)
    assert assigned[ids[-1]] == ids[0]  # 451 stories apart: another chunk
    assert len(set(assigned.values())) == len(batch) - 1


def test_forgetting_old_signatures_keeps_clusters(db: Database) -> None:
    setup(db)
    store(db, [make(1, JINHUA), make(2, JINHUA_AGAIN, source="b")])
    store(db, [make(3, WEATHER, source="c", at=T0 + timedelta(days=40))])
    with db.session() as session:
        dropped = forget_before(session, T0 + timedelta(days=30))
    assert dropped == 2 * BANDS
    assert count(db, StorySignature) == 1 and count(db, StoryBand) == BANDS
    clusters = cluster_ids(db)
    assert clusters["https://a.example/1"] == clusters["https://b.example/2"]


def test_the_migration_makes_stored_stories_clusters_of_their_own(db: Database) -> None:
    """Upgrading an archive keeps every row (no table copy: the FKs would cascade) and the index."""
    command.downgrade(alembic_config(db.engine), "0010")
    setup(db)
    with db.engine.begin() as connection:  # the 0010 schema: rows as the code of then wrote them
        connection.execute(
            text(
                "INSERT INTO stories (id, canonical_url, url, source_id, title, summary, body,"
                " lang, published_at, fetched_at, fingerprint)"
                " SELECT 1, 'https://a.example/1', 'https://a.example/1', id, 't', 's', '',"
                " 'en', :at, :at, 'f' FROM sources WHERE key = 'a'"
            ),
            {"at": T0.replace(tzinfo=None)},
        )
        connection.execute(
            text(
                "INSERT INTO matches (story_id, entities, topics, hits, score, created_at)"
                " VALUES (1, '[]', '[\"t\"]', '[]', 1.0, :at)"
            ),
            {"at": T0.replace(tzinfo=None)},
        )
    db.upgrade()
    assert list(cluster_ids(db).values()) == [1]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(MatchRow)) == 1
    names = set(inspect(db.engine).get_table_names())
    assert {"story_signatures", "story_bands"} <= names
    if db.engine.dialect.name == "sqlite":  # the search index's delete trigger survived
        with db.engine.connect() as connection:
            triggers = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            ).scalars()
            assert "story_fts_forget" in set(triggers)


def test_a_cluster_id_references_a_story_and_is_cleared_with_it(db: Database) -> None:
    """The FK as the database holds it (SQLAlchemy cannot reflect its options on SQLite)."""
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            rows = connection.execute(text("PRAGMA foreign_key_list(stories)")).mappings()
            found = {(r["table"], r["from"], r["to"], r["on_delete"]) for r in rows}
        assert ("stories", "cluster_id", "id", "SET NULL") in found
    else:
        fks = inspect(db.engine).get_foreign_keys("stories")
        (fk,) = [fk for fk in fks if fk["constrained_columns"] == ["cluster_id"]]
        assert (fk["referred_table"], fk["options"].get("ondelete")) == ("stories", "SET NULL")


def test_a_templated_feed_fills_no_bucket_past_its_cap_and_copies_still_join(
    db: Database,
) -> None:
    """A ticker's items share most words and differ in figures: dozens of stories, one template.

    Every band bucket stops at BUCKET_CAP stories in the window (so a new
    story reads a bounded number of candidates however many came before),
    different figures stay different events, and a syndicated copy of one
    item still finds it.
    """
    setup(db)
    template = (
        "Bitcoin miners in Sichuan report hash rate update",
        "Mining farms in Sichuan reported a hash rate of {n} exahashes on {n} machines, "
        "the provincial energy bureau said in its weekly update on power use.",
    )
    items = [
        make(n, (template[0] + f" #{n}", template[1].format(n=100 + n)), at=T0 + timedelta(hours=n))
        for n in range(40)
    ]
    for item in items:
        store(db, [item])
    copy = make(99, (items[30].title, items[30].summary), source="b", at=T0 + timedelta(hours=31))
    ((copy_id, copy_cluster),) = store(db, [copy]).items()
    with db.session() as session:
        fullest = session.scalar(
            select(func.count())
            .select_from(StoryBand)
            .group_by(StoryBand.band, StoryBand.hash)
            .order_by(func.count().desc())
            .limit(1)
        )
        clusters = dict(session.execute(select(StoryRow.url, StoryRow.cluster_id)).all())
    assert fullest == BUCKET_CAP  # full buckets exist, and take no more
    assert len({clusters[f"https://a.example/{n}"] for n in range(40)}) == 40  # other figures
    assert copy_cluster == clusters["https://a.example/30"] != copy_id


def test_a_story_finds_by_title_only_the_stories_stored_before_it(db: Database) -> None:
    """One transaction or three, the same events: a report never joins a later story.

    The second story is not worth clustering (nothing matched), and was
    published earlier; before, all such stories of a transaction were
    visible to the clustered ones, so the first report joined it when both
    polls shared a transaction, and did not when they did not.
    """
    setup(db)
    items = [
        (make(1, JINHUA), ALERTED),
        (make(2, JINHUA, source="b", at=T0 - timedelta(hours=1)), MatchResult()),
        (make(3, JINHUA, source="c"), ALERTED),
    ]
    with db.session() as session:
        session.info["clustering"] = SETTINGS
        first, quiet, _ = (o.story_id for o in stories.store_stories(session, items))
    assert cluster_ids(db) == {
        "https://a.example/1": first,
        "https://b.example/2": quiet,
        "https://c.example/3": first,
    }


def test_store_stories_clusters_only_what_can_be_alerted(db: Database) -> None:
    """Clustering folds alerts: a story naming no more than a place is its own event.

    Unless a chat follows that place: then it is alerted, and clustered.
    """
    setup(db)
    settings = replace(SETTINGS, places=frozenset({"china", "japan"}))
    found, china, japan = (
        MatchResult(signals=("arrest", "china")),
        MatchResult(signals=("china",)),
        MatchResult(signals=("japan",)),
    )
    with db.session() as session:
        subscribers.add(session, 7, "entity", "japan")
    jinhua_retitled = ("Zhejiang: USDT OTC ring busted", JINHUA[1])
    with db.session() as session:
        session.info["clustering"] = settings
        outcomes = stories.store_stories(
            session,
            [
                (make(1, JINHUA), found),
                (make(2, JINHUA_AGAIN, source="b"), found),
                (make(3, jinhua_retitled, source="c"), china),
                (
                    make(4, ("Jinhua: USDT network broken up", JINHUA_AGAIN[1]), source="d"),
                    MatchResult(),
                ),
                (
                    make(
                        5,
                        ("Jinhua police bust USDT ring", JINHUA[1]),
                        source="a",
                        at=T0 + timedelta(hours=1),
                    ),
                    japan,
                ),
            ],
        )
    ids = [o.story_id for o in outcomes]
    assert cluster_ids(db) == {
        "https://a.example/1": ids[0],
        "https://b.example/2": ids[0],  # an action: one event
        "https://c.example/3": ids[2],  # only a place: never alerted, not clustered
        "https://d.example/4": ids[3],  # nothing found
        "https://a.example/5": ids[0],  # only a place, but a chat follows it
    }
    assert count(db, StorySignature) == 3  # nor signed: clustering's cost is in the alerted


def test_background_words_alone_are_not_clustered_but_who_and_what_are(db: Database) -> None:
    """Prices, licensing, "ordered": background; a court or a sentence may report the event.

    The default watchlist's background (`crackdown.app.cluster_settings`) holds
    the first kind and not the second.
    """
    setup(db)
    settings = replace(
        SETTINGS, places=frozenset({"china"}), background=frozenset({"market-talk", "order"})
    )
    alerted = MatchResult(topics=("t",), entities=("virtual-currency",), signals=("arrest",))
    with db.session() as session:
        session.info["clustering"] = settings
        outcomes = stories.store_stories(
            session,
            [
                (make(1, JINHUA), alerted),
                (make(2, JINHUA_AGAIN, source="b"), MatchResult(signals=("court", "china"))),
                (
                    make(3, ("Jinhua USDT network broken up", JINHUA_AGAIN[1]), source="c"),
                    MatchResult(signals=("order", "market-talk")),
                ),
            ],
        )
    ids = [o.story_id for o in outcomes]
    assert cluster_ids(db) == {
        "https://a.example/1": ids[0],
        "https://b.example/2": ids[0],  # a court: may report the alerted event
        "https://c.example/3": ids[2],  # background words only: its own event, not signed
    }
    assert count(db, StorySignature) == 2
    watchlist, _ = load_watchlist(Config())
    default = cluster_settings(Config(), watchlist)
    assert {"market-talk", "rule-making", "order", "altcoin"} <= default.background
    assert not {"court", "judgment", "pyramid-selling", "china"} & default.background


def test_a_title_carried_by_many_reads_a_bounded_number_of_them(db: Database) -> None:
    """A wire title stored 60 times: a new report reads 2 x TITLE_CAP of them, and joins."""
    setup(db)
    first = None
    for n in range(60):
        ((story_id, cluster),) = store(
            db, [make(n, JINHUA, source="abcd"[n % 4], at=T0 + timedelta(minutes=n))]
        ).items()
        first = first or story_id
        assert cluster == first
    read: list[int] = []

    def count_ids(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        if "story_signatures" in statement and "JOIN" in statement.upper():
            read.append(len(parameters))

    event.listen(db.engine, "before_cursor_execute", count_ids)
    try:
        late = T0 + timedelta(hours=2)
        assert list(store(db, [make(99, JINHUA, source="b", at=late)]).values()) == [first]
    finally:
        event.remove(db.engine, "before_cursor_execute", count_ids)
    assert read and max(read) <= 2 * TITLE_CAP + MAX_CANDIDATES


def test_an_event_folds_across_batches_writers_and_a_restart(database_url: str) -> None:
    """The database is the only band index: what one daemon stored, the next one finds.

    Three reports of one event, each its own poll: the first through one
    `Database`, the second through another open at the same time (a second
    poller on the same PostgreSQL, or the CLI), the third after both were
    closed and a new one opened (a restart). A story of another event in
    the same polls stays apart.
    """
    alerted = MatchResult(topics=("t",), entities=("virtual-currency",), signals=("arrest",))
    first, second = Database(database_url), Database(database_url)
    first.upgrade()
    setup(first)
    retitled = ("Zhejiang: USDT OTC ring busted", JINHUA[1])

    def poll(database: Database, batch: list[Story]) -> list[int]:
        with database.session() as session:
            session.info["clustering"] = SETTINGS
            outcomes = stories.store_stories(session, [(story, alerted) for story in batch])
        return [o.story_id for o in outcomes if o.story_id is not None]

    try:
        (jinhua, zhengzhou) = poll(first, [make(1, JINHUA), make(2, ZHENGZHOU)])
        (again,) = poll(second, [make(3, JINHUA_AGAIN, source="b")])
    finally:
        first.dispose()
        second.dispose()
    restarted = Database(database_url)
    try:
        (late,) = poll(restarted, [make(4, retitled, source="c", at=T0 + timedelta(hours=5))])
        with restarted.session() as session:
            clusters = dict(session.execute(select(StoryRow.id, StoryRow.cluster_id)).all())
    finally:
        restarted.dispose()
    assert clusters == {jinhua: jinhua, zhengzhou: zhengzhou, again: jinhua, late: jinhua}


def test_a_cluster_closes_a_window_after_its_first_report_however_many_came_since(
    db: Database,
) -> None:
    """The span is every member's, not the newest MAX_MEMBERS' that a joining story is read with.

    Seventeen reworded reports join the first over two and a half days; a
    report three and a half days after the first is within the window of
    every member read for the complete link, but not of the first: a new
    event.
    """
    setup(db)
    words = "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike"
    names = [*words.split(), "november", "oscar", "papa", "quebec"]
    assert len(names) > MAX_MEMBERS
    ((first, cluster),) = store(db, [make(0, JINHUA)]).items()
    assert cluster == first
    for n, name in enumerate(names, start=1):
        at = T0 + timedelta(days=1, hours=2 * n)
        report = make(n, (f"{JINHUA[0]} {name}", JINHUA[1]), source="abcd"[n % 4], at=at)
        assert list(store(db, [report]).values()) == [first]
    late = make(99, (f"{JINHUA[0]} romeo", JINHUA[1]), source="b", at=T0 + timedelta(days=3.5))
    ((late_id, late_cluster),) = store(db, [late]).items()
    assert late_cluster == late_id


def test_a_full_bucket_outside_a_storys_window_leaves_its_bands_written(db: Database) -> None:
    """Each story of a call counts a bucket's rows within its own window, not the call's.

    A call reads the buckets of all its stories at once, over their joint
    window; a story whose window holds every row read takes them whole, the
    others filter them (storage.clusters `_Batch.read`). A full bucket of old
    stories keeps a new one's bands out only within the new one's window.
    """
    setup(db)
    for n in range(BUCKET_CAP):
        store(db, [make(n, WEATHER, at=T0 + timedelta(minutes=n))])
    assert count(db, StoryBand) == BANDS * BUCKET_CAP
    late, near = T0 + timedelta(days=5), T0 + timedelta(hours=1)
    new = store(db, [make(100, WEATHER, source="b", at=late), make(101, WEATHER, at=near)])
    late_id, near_id = sorted(new)
    with db.session() as session:
        written = dict(
            session.execute(
                select(StoryBand.story_id, func.count()).group_by(StoryBand.story_id)
            ).all()
        )
    assert written.get(late_id) == BANDS  # the old ones are out of its window: room in all
    assert near_id not in written  # every bucket full within its window
