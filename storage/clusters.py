"""Story clusters in the database: one event, every source that reported it.

`assign_clusters` runs in the transaction that inserts new stories. Evidence,
strongest first (the canonical URL is handled before: a known URL is never
stored twice):

1. the same title fingerprint (`stories.fingerprint`) within the window,
   unless the texts disagree (conflicting figures or platforms, or a similarity below
   the complete-link floor: generic titles such as "关于防范虚拟货币交易炒作风险的提示"
   are shared by different notices);
2. LSH: stories sharing a band of their MinHash signature (`story_bands`)
   within the window are candidates, and `crawler.cluster.Pool` decides with
   the estimated Jaccard index (see crawler/cluster.py).

A cluster is named by its first story's id; that story's `cluster_id` is its
own id. The state lives in the database (signatures, bands, cluster ids), so
clustering survives restarts and is shared by daemons on one PostgreSQL
database. Two daemons storing reports of one event in transactions that
overlap cannot see each other's rows, and both start a cluster: at worst
the alert a cluster would have saved.

Cost: per chunk of `CHUNK` new stories, five SELECTs, all through the
driver (`_Driver`): the ids sharing a band (one UNION ALL of a SELECT a
band), the first and newest ids of each title, the signatures of each
story's best candidates, and the spans and newest members of the clusters
it may join (two); then the writes (signatures, bands, cluster ids). Only
the stories worth clustering come here (`storage.stories`: what can be
alerted, or can report an event that was). Every read is bounded whatever
the feeds look like, in rows read and in rows walked: a bucket holds
BUCKET_CAP stories in a window, a story is compared with MAX_CANDIDATES
candidates and may join one of MAX_JOINABLE clusters, each read as its
MAX_MEMBERS newest members; of a title, 2 x TITLE_CAP stories are read (the
(fingerprint, published_at) and (cluster_id, published_at) indexes make
those walks as short as what they return). bench/feeds.py's templated
corpus (every story alike) was quadratic without these bounds: 11 ms a story
at 49,000 stories and growing, 3 ms with them; bench/archive.py's news-like
one costs about 1.2 ms a story, insert and search index included.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import numpy as np
from sqlalchemy import (
    Table,
    delete,
    insert,
    select,
)
from sqlalchemy.orm import Session

from crawler.cluster import (
    NUM_PERM,
    Pool,
    Signature,
    band_keys,
    compatible,
    conflict,
    from_bytes,
    signature,
    signature_bytes,
)
from crawler.types import Story
from storage.models import Source, StoryBand, StoryRow, StorySignature

CHUNK = 200  # stories per query: 200 x 32 bands x 2 parameters stays under SQLite's 32,766
MAX_PARAMETERS = 30_000
BUCKET_CAP = 8  # stories an LSH bucket holds within a window (see _write_signatures)
MAX_CANDIDATES = 32  # candidates a story is compared with: those sharing the most bands
MAX_MEMBERS = 16  # members of a cluster a story joining it is compared with: the newest
MAX_JOINABLE = 3  # stored clusters a story may join: those of its most similar candidates
TITLE_CAP = 8  # stories of one title read in a window: the first and the newest this many
COMPOUND = 200  # SELECTs a UNION ALL joins (SQLite allows 500)
DEFAULT_WINDOW = timedelta(days=3)
DEFAULT_THRESHOLD = 0.2


@dataclass(frozen=True)
class ClusterSettings:
    """`[cluster]` in the config: how far apart in time, and how alike, one event's reports are."""

    window: timedelta = DEFAULT_WINDOW
    threshold: float = DEFAULT_THRESHOLD
    enabled: bool = True
    # Entity key -> family, for the entities whose names tell events apart (`[cluster]
    # distinct`): two leads naming such entities of no common family are two events.
    families: Mapping[str, str] = field(default_factory=dict)
    # Watchlist keys that say where, not what ("china"): a story that names only these is
    # not clustered unless a chat follows one (`storage.stories.store_stories`).
    places: frozenset[str] = frozenset()
    # Rule-only keys that say neither what happened nor who acted ("prices", "licence",
    # "ordered", "ethereum"): the same, for a story that names only these and places.
    background: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ClusterMember:
    """One report of a clustered event, for "also reported by"."""

    story_id: int
    source_key: str
    url: str
    title: str
    published_at: datetime


@dataclass
class _Known:
    """A stored story a new one may join: its cluster, signature and time."""

    story_id: int
    cluster_id: int | None
    published_at: datetime
    fingerprint: str
    signature: Signature | None


def assign_clusters(
    session: Session,
    stories: Sequence[tuple[int, Story]],
    settings: ClusterSettings,
    names: Mapping[int, Collection[str]] | None = None,
) -> dict[int, int]:
    """Cluster newly inserted stories (id, story), in insertion order; story id -> cluster id.

    `names` holds, by story id, the entity families its title names
    (`crawler.cluster.title_names`), which keep other platforms' stories out.
    The stories were inserted as events of their own (`cluster_id` = their
    id, `storage.stories`); this writes the cluster id of those that join
    another event, the signatures and the bands. Stories of one call
    cluster with each other as well as with stored ones. With clustering
    off, every story is a cluster of its own and nothing is written.
    """
    if not settings.enabled:
        return {story_id: story_id for story_id, _ in stories}
    pending = {story_id for story_id, _ in stories}
    assigned = {}
    for start in range(0, len(stories), CHUNK):
        chunk = stories[start : start + CHUNK]
        assigned |= _assign_chunk(session, chunk, settings, pending, names or {})
        pending -= {story_id for story_id, _ in chunk}
    return assigned


def _assign_chunk(
    session: Session,
    chunk: Sequence[tuple[int, Story]],
    settings: ClusterSettings,
    pending: set[int],
    names: Mapping[int, Collection[str]],
) -> dict[int, int]:
    signatures = {sid: signature(story, names.get(sid, ())) for sid, story in chunk}
    keys = {sid: band_keys(sig) for sid, sig in signatures.items() if sig is not None}
    times = [story.published_at for _, story in chunk]
    low, high = min(times) - settings.window, max(times) + settings.window
    fingerprints = {story.fingerprint for _, story in chunk}
    near, by_title, sizes = _candidates(session, keys, fingerprints, low, high, pending)
    joinable = _joinable(chunk, signatures, near, settings)
    members, spans = _members(session, set().union(*joinable.values()), pending)
    pool = Pool()
    for cluster, (first, last) in spans.items():
        pool.span(cluster, first, last)
    pooled: set[int] = set()
    clusters = set().union(*joinable.values())
    for known in members + [k for found in near.values() for k in found]:
        cluster = known.cluster_id or known.story_id
        if cluster in clusters and known.signature is not None and known.story_id not in pooled:
            pooled.add(known.story_id)
            pool.add(cluster, known.signature, known.published_at)
    stored = [*members, *(k for found in (*near.values(), *by_title.values()) for k in found)]
    headless = {k.story_id for k in stored if k.cluster_id is None}  # a deleted first story
    # This call's stories meet each other as stored ones do: through a shared band.
    buckets: dict[tuple[int, int], set[int]] = {}  # band key -> clusters of the call's stories
    assigned: dict[int, int] = {}
    adopted: dict[int, int] = {}  # headless stories a new one joined: now their own cluster
    for story_id, story in chunk:
        sig = signatures[story_id]
        match = _title_match(story, sig, by_title.get(story.fingerprint, []), settings)
        if match is not None:
            cluster = match.cluster_id or match.story_id
        else:
            among = set(joinable.get(story_id, set()))
            for key in keys.get(story_id, ()):
                among |= buckets.get(key, set())
            chosen = None
            if sig is not None:
                chosen = pool.choose(
                    sig, story.published_at, settings.window, settings.threshold, among
                )
            cluster = chosen[0] if chosen is not None else story_id
        if cluster in headless:
            adopted[cluster] = cluster
        assigned[story_id] = cluster
        for key in keys.get(story_id, ()):
            buckets.setdefault(key, set()).add(cluster)
        by_title.setdefault(story.fingerprint, []).append(
            _Known(story_id, cluster, story.published_at, story.fingerprint, sig)
        )
        if sig is not None:
            pool.add(cluster, sig, story.published_at)
    _write_signatures(session, chunk, signatures, keys, sizes)
    joined = {story_id: cluster for story_id, cluster in assigned.items() if story_id != cluster}
    _write_cluster_ids(session, joined | adopted)
    return assigned


def _joinable(
    chunk: Sequence[tuple[int, Story]],
    signatures: dict[int, Signature | None],
    near: dict[int, list[_Known]],
    settings: ClusterSettings,
) -> dict[int, set[int]]:
    """For each new story, the stored clusters it may join: a candidate reaches the threshold.

    Only their members are fetched (for the complete link): most band hits
    are chance collisions far below the threshold. At most MAX_JOINABLE
    clusters a story, those of its most similar candidates: the story joins
    the most similar cluster that takes it, and in a field's templated
    items (a price ticker, a results season) dozens reach the threshold.
    """
    joinable: dict[int, set[int]] = {}
    window = settings.window.total_seconds()
    for story_id, story in chunk:
        sig = signatures[story_id]
        found = [k for k in near.get(story_id, ()) if k.signature is not None]
        if sig is None or not found:
            continue
        values = np.stack([k.signature.values for k in found])  # type: ignore[union-attr]
        scores = np.count_nonzero(values == sig.values, axis=1) / NUM_PERM
        times = np.fromiter((k.published_at.timestamp() for k in found), dtype=np.float64)
        close = np.abs(times - story.published_at.timestamp()) <= window
        clusters: dict[int, None] = {}
        for i in np.argsort(-scores, kind="stable").tolist():
            if len(clusters) == MAX_JOINABLE or scores[i] < settings.threshold:
                break
            if close[i] and not conflict(sig, found[i].signature):  # type: ignore[arg-type]
                clusters.setdefault(found[i].cluster_id or found[i].story_id)
        joinable[story_id] = set(clusters)
    return joinable


def _title_match(
    story: Story, sig: Signature | None, known: list[_Known], settings: ClusterSettings
) -> _Known | None:
    """The earliest story within the window with the same title whose text does not disagree."""
    for candidate in sorted(known, key=lambda k: (k.cluster_id or k.story_id, k.story_id)):
        if abs(candidate.published_at - story.published_at) > settings.window:
            continue
        other = candidate.signature
        if sig is not None and other is not None and not compatible(sig, other, settings.threshold):
            continue
        return candidate
    return None


def _candidates(
    session: Session,
    keys: dict[int, list[tuple[int, int]]],
    fingerprints: set[str],
    low: datetime,
    high: datetime,
    pending: set[int],
) -> tuple[dict[int, list[_Known]], dict[str, list[_Known]], dict[tuple[int, int], int]]:
    """Stored stories within [low, high]: each new story's LSH candidates, and title matches.

    Also the size of each bucket (band key) in the window, for
    `_write_signatures`. The stored stories sharing a band with `keys` (at
    most BUCKET_CAP a bucket) and those with a title fingerprint are found as
    ids; each new story keeps its MAX_CANDIDATES candidates sharing the most
    bands (the count estimates the similarity: a band is shared with
    probability s^2); then those and the title matches are read with their
    signatures.
    """
    bucket = _buckets(session, keys, low, high)
    titled = _titled(session, fingerprints, low, high) - pending  # pending: not clustered yet
    chosen: dict[int, list[int]] = {}
    for new_id, story_keys in keys.items():
        shared_bands = Counter(s for key in story_keys for s in bucket.get(key, ()))
        chosen[new_id] = [s for s, _ in shared_bands.most_common(MAX_CANDIDATES)]
    known = _read(session, set().union(titled, *chosen.values()))
    near = {new_id: [known[s] for s in ids if s in known] for new_id, ids in chosen.items()}
    by_title: dict[str, list[_Known]] = {}
    for story_id in sorted(titled):
        if story_id in known:
            by_title.setdefault(known[story_id].fingerprint, []).append(known[story_id])
    sizes = {key: len(members) for key, members in bucket.items()}
    return near, by_title, sizes


def _buckets(
    session: Session, keys: dict[int, list[tuple[int, int]]], low: datetime, high: datetime
) -> dict[tuple[int, int], list[int]]:
    """The stored stories (ids, ascending) of each bucket `keys` fall in, published in [low, high].

    One statement through the driver, a UNION ALL of one SELECT a band: each
    IN list is a set of ranges of the (band, hash, published_at) index.
    Through SQLAlchemy, one OR of 32 IN lists (up to 6,400 parameters a
    chunk) cost five times what the database took to answer it, in rendering
    and binding the parameters and wrapping the rows. The database stays
    the only index: a restarted daemon, or a second one writing to the same
    PostgreSQL, finds what the others stored.
    """
    by_band: dict[int, set[int]] = {}
    for story_keys in keys.values():
        for band, value in story_keys:
            by_band.setdefault(band, set()).add(value)
    if not by_band:
        return {}
    driver = _Driver(session)
    window = (driver.to_db(low), driver.to_db(high))
    parts: list[str] = []
    params: list[object] = []
    for band, values in sorted(by_band.items()):
        parts.append(
            f"SELECT band, hash, story_id FROM story_bands WHERE band = {int(band)}"
            f" AND hash IN ({driver.marks(len(values))})"
            f" AND published_at BETWEEN {driver.mark} AND {driver.mark}"
        )
        params += [*sorted(values), *window]
    found: dict[tuple[int, int], list[int]] = {}
    for band, value, story_id in driver.rows(" UNION ALL ".join(parts), params):
        found.setdefault((band, value), []).append(story_id)
    for members in found.values():
        members.sort()  # the same candidates, whatever order the database answers in
    return found


def _titled(session: Session, fingerprints: set[str], low: datetime, high: datetime) -> set[int]:
    """Stored stories with one of `fingerprints` in [low, high]: of each, the first and newest few.

    A wire story's title, or a templated feed's, recurs hundreds of times in
    a window: reading every one (and its signature) for every new report was
    quadratic. The first ones hold the oldest cluster, the newest the
    clusters still open. Each is a walk of TITLE_CAP rows along the
    (fingerprint, published_at) index, however often the title recurs.
    """
    driver = _Driver(session)
    window = (driver.story_time(low), driver.story_time(high))
    found: set[int] = set()
    ordered = sorted(fingerprints)
    for start in range(0, len(ordered), COMPOUND // 2):
        parts: list[str] = []
        params: list[object] = []
        for fingerprint in ordered[start : start + COMPOUND // 2]:
            for way in ("", " DESC"):
                parts.append(
                    f"SELECT * FROM (SELECT id FROM stories WHERE fingerprint = {driver.mark}"
                    f" AND published_at BETWEEN {driver.mark} AND {driver.mark}"
                    f" ORDER BY published_at{way}, id{way} LIMIT {TITLE_CAP}) AS few"
                )
                params += [fingerprint, *window]
        found.update(story_id for (story_id,) in driver.rows(" UNION ALL ".join(parts), params))
    return found


def _read(session: Session, story_ids: set[int]) -> dict[int, _Known]:
    """Stored stories by id, with their signatures (None: a story with too little text)."""
    found: dict[int, _Known] = {}
    driver = _Driver(session)
    ordered = sorted(story_ids)
    for start in range(0, len(ordered), MAX_PARAMETERS):
        part = ordered[start : start + MAX_PARAMETERS]
        rows = driver.rows(
            "SELECT s.id, s.cluster_id, s.published_at, s.fingerprint, g.signature"
            " FROM stories s LEFT JOIN story_signatures g ON g.story_id = s.id"
            f" WHERE s.id IN ({driver.marks(len(part))})",
            part,
        )
        for story_id, cluster_id, published_at, fingerprint, blob in rows:
            sig = from_bytes(blob) if blob is not None else None
            at = driver.from_db(published_at)
            found[story_id] = _Known(story_id, cluster_id, at, fingerprint, sig)
    return found


def _members(
    session: Session, clusters: set[int], pending: set[int]
) -> tuple[list[_Known], dict[int, tuple[datetime, datetime]]]:
    """The newest MAX_MEMBERS stored members of each of `clusters`, and each one's time span.

    A story joining a cluster is compared with those members (the complete
    link), and must be within the window of its first and last report, all
    of them, not only those within [low, high]: a member outside the window
    closes the cluster (see `Pool.choose`). Only the newest are compared:
    a wire story carried by a hundred outlets, or a templated feed's items,
    make clusters whose every member would be read for every new report.
    """
    found: list[_Known] = []
    spans: dict[int, tuple[datetime, datetime]] = {}
    driver = _Driver(session)
    ordered = sorted(clusters)
    # Each a walk along the (cluster_id, published_at) index: the newest signed members,
    # and the first and last time; never every member.
    for start in range(0, len(ordered), COMPOUND):
        part = [int(cluster) for cluster in ordered[start : start + COMPOUND]]
        span_rows = driver.rows(
            " UNION ALL ".join(
                f"SELECT {cluster},"
                f" (SELECT min(published_at) FROM stories WHERE cluster_id = {cluster}),"
                f" (SELECT max(published_at) FROM stories WHERE cluster_id = {cluster})"
                for cluster in part
            ),
            (),
        )
        for cluster, first, last in span_rows:
            if first is not None:
                spans[cluster] = (driver.from_db(first), driver.from_db(last))
        rows = driver.rows(
            " UNION ALL ".join(
                "SELECT * FROM (SELECT s.id, s.cluster_id, s.published_at, s.fingerprint,"
                " g.signature FROM stories s JOIN story_signatures g ON g.story_id = s.id"
                f" WHERE s.cluster_id = {cluster}"
                f" ORDER BY s.published_at DESC, s.id DESC LIMIT {MAX_MEMBERS}) AS newest"
                for cluster in part
            ),
            (),
        )
        for story_id, cluster_id, published_at, fingerprint, blob in rows:
            if story_id not in pending:
                at = driver.from_db(published_at)
                found.append(_Known(story_id, cluster_id, at, fingerprint, from_bytes(blob)))
    return found, spans


class _Driver:
    """Statements of this session's transaction straight to the DB-API driver.

    Why: clustering's reads and writes are few statements with many
    parameters or rows; SQLAlchemy's compiling, binding and row wrapping
    cost more than the database's work. Times are converted by the
    column's own processors, so they compare as SQLAlchemy stores them.
    """

    def __init__(self, session: Session) -> None:
        self.connection = session.connection()
        dialect = self.connection.dialect
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        column = _STORIES.c.published_at.type
        # Bands' times as `_write_signatures` binds them (on SQLite, the driver's own format),
        # stories' as SQLAlchemy does: a comparison must see the stored format.
        self.to_db = column.bind_processor(dialect) or _same
        self.story_time = column.dialect_impl(dialect).bind_processor(dialect) or _same
        self.from_db = column.dialect_impl(dialect).result_processor(dialect, None) or _same

    def marks(self, count: int) -> str:
        """`count` parameter marks, comma-separated."""
        return ", ".join([self.mark] * count)

    def rows(self, statement: str, params: Sequence[object]) -> list[Any]:
        """Every row of one SELECT (through `exec_driver_sql`: no compiling, events still fire)."""
        return list(self.connection.exec_driver_sql(statement, tuple(params)).fetchall())


def _same(value: Any) -> Any:
    return value


def _write_signatures(
    session: Session,
    chunk: Sequence[tuple[int, Story]],
    signatures: dict[int, Signature | None],
    keys: dict[int, list[tuple[int, int]]],
    sizes: dict[tuple[int, int], int],
) -> None:
    """Store the chunk's signatures, and their bands but in buckets already full.

    A bucket holding BUCKET_CAP stories in the window takes no more: like a
    stopword, a band that many stories share says nothing about which event
    one reports (chance collisions fill buckets in proportion to the
    stories in the window, and one field's vocabulary fills some fast).
    Uncapped, a templated feed made every story fetch and compare most of
    the window: 11 ms a story at 49,000 stories, growing with them. A report
    of an event still finds its siblings through its other bands, and
    through the first BUCKET_CAP of a full one.
    """
    rows = [
        {"story_id": sid, "signature": signature_bytes(sig)}
        for sid, sig in signatures.items()
        if sig is not None
    ]
    if not rows:
        return
    session.execute(insert(_SIGNATURES), rows)
    # 32 rows a story: straight to the driver, the time converted once a story by the
    # column's own bind processor (through Core, binding each row's parameters cost as
    # much as SQLite's inserting them).
    connection = session.connection()
    dialect = connection.dialect
    to_db = _BANDS.c.published_at.type.bind_processor(dialect) or (lambda value: value)
    published = {story_id: to_db(story.published_at) for story_id, story in chunk}
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    bands = [
        (sid, band, value, published[sid])
        for sid, story_keys in keys.items()
        for band, value in story_keys
        if _take(sizes, (band, value))
    ]
    if bands:
        connection.exec_driver_sql(
            f"INSERT INTO story_bands (story_id, band, hash, published_at)"
            f" VALUES ({mark}, {mark}, {mark}, {mark})",
            bands,
        )


def _take(sizes: dict[tuple[int, int], int], key: tuple[int, int]) -> bool:
    """Whether a bucket has room for one more story; counts it if so."""
    held = sizes.get(key, 0)
    if held >= BUCKET_CAP:
        return False
    sizes[key] = held + 1
    return True


def _write_cluster_ids(session: Session, changed: dict[int, int]) -> None:
    """Cluster ids of stories that joined another event, and of headless ones adopted.

    A story of its own event holds its id from its INSERT (`storage.stories`):
    rewriting every new row (body included) once more was 14% of a growing
    archive's storing time (bench/archive.py). An adopted headless story (its
    first story was deleted) holds NULL and gets its own id here. Through the
    driver: through Core, binding each id cost more than the UPDATE.
    """
    if changed:
        driver = _Driver(session)
        driver.connection.exec_driver_sql(
            f"UPDATE stories SET cluster_id = {driver.mark} WHERE id = {driver.mark}",
            [(cluster, story_id) for story_id, cluster in changed.items()],
        )


def cluster_members(session: Session, cluster_id: int) -> list[ClusterMember]:
    """The reports of one cluster, first seen first (the alert's "also reported by")."""
    rows = session.execute(
        select(StoryRow.id, Source.key, StoryRow.url, StoryRow.title, StoryRow.published_at)
        .join(Source, Source.id == StoryRow.source_id)
        .where(StoryRow.cluster_id == cluster_id)
        .order_by(StoryRow.fetched_at, StoryRow.id)
    )
    return [ClusterMember(*row) for row in rows]


def forget_before(session: Session, published_before: datetime) -> int:
    """Drop the bands and signatures of stories published before a date; returns bands dropped.

    Why: they only serve stories published within the window, and bands are
    most of what clustering adds to the database (32 rows a story). Cluster
    ids stay. A story published before the cutoff and stored later (a
    backfill) then starts a cluster of its own unless its title matches.
    Housekeeping should call it daily with a cutoff of a few windows back
    (bench/archive.py: 12 days): kept, the bands slow inserts as they grow.
    """
    old = _BANDS.c.published_at < published_before
    # Through the bands (a table this keeps small), not the stories: the stories published
    # before the cutoff are nearly the whole archive, and most were forgotten already.
    session.execute(
        delete(_SIGNATURES).where(_SIGNATURES.c.story_id.in_(select(_BANDS.c.story_id).where(old)))
    )
    dropped = session.execute(delete(_BANDS).where(old))
    return max(dropped.rowcount or 0, 0)


_STORIES = cast(Table, StoryRow.__table__)
_SIGNATURES = cast(Table, StorySignature.__table__)
_BANDS = cast(Table, StoryBand.__table__)
