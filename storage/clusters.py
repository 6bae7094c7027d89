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

Cost: per chunk of `CHUNK` new stories, two SELECTs (the stories sharing a
band or a title, with their signatures; the members of the clusters whose
candidates reach the threshold) and three executemany writes (signatures,
bands, cluster ids).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import (
    BigInteger,
    SmallInteger,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    null,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import Session

from crawler.cluster import (
    Pool,
    Signature,
    band_keys,
    compatible,
    conflict,
    from_bytes,
    signature,
    signature_bytes,
    similarity,
)
from crawler.types import Story
from storage.models import Source, StoryBand, StoryRow, StorySignature

CHUNK = 200  # stories per query: 200 x 32 bands x 2 parameters stays under SQLite's 32,766
MAX_PARAMETERS = 30_000
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
    Writes `stories.cluster_id`, the signatures and the bands. Stories of one
    call cluster with each other as well as with stored ones. With
    clustering off, every story is a cluster of its own and nothing else is
    written.
    """
    if not settings.enabled:
        assigned = {story_id: story_id for story_id, _ in stories}
        _write_cluster_ids(session, assigned)
        return assigned
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
    hits, by_title = _candidates(session, keys, fingerprints, low, high, pending)
    joinable = _joinable(chunk, signatures, keys, hits, settings)
    members = _members(session, set().union(*joinable.values()), pending)
    pool = Pool()
    pooled: set[int] = set()
    clusters = set().union(*joinable.values())
    for known in members + [k for found in hits.values() for k in found]:
        cluster = known.cluster_id or known.story_id
        if cluster in clusters and known.signature is not None and known.story_id not in pooled:
            pooled.add(known.story_id)
            pool.add(cluster, known.signature, known.published_at)
    stored = [*members, *(k for found in (*hits.values(), *by_title.values()) for k in found)]
    headless = {k.story_id for k in stored if k.cluster_id is None}  # a deleted first story
    batch: set[int] = set()  # clusters of this call's stories: compared with every one
    assigned: dict[int, int] = {}
    adopted: dict[int, int] = {}  # headless stories a new one joined: now their own cluster
    for story_id, story in chunk:
        sig = signatures[story_id]
        match = _title_match(story, sig, by_title.get(story.fingerprint, []), settings)
        if match is not None:
            cluster = match.cluster_id or match.story_id
        else:
            among = joinable.get(story_id, set()) | batch
            chosen = None
            if sig is not None:
                chosen = pool.choose(
                    sig, story.published_at, settings.window, settings.threshold, among
                )
            cluster = chosen[0] if chosen is not None else story_id
        if cluster in headless:
            adopted[cluster] = cluster
        assigned[story_id] = cluster
        batch.add(cluster)
        by_title.setdefault(story.fingerprint, []).append(
            _Known(story_id, cluster, story.published_at, story.fingerprint, sig)
        )
        if sig is not None:
            pool.add(cluster, sig, story.published_at)
    _write_signatures(session, chunk, signatures, keys)
    _write_cluster_ids(session, assigned | adopted)
    return assigned


def _joinable(
    chunk: Sequence[tuple[int, Story]],
    signatures: dict[int, Signature | None],
    keys: dict[int, list[tuple[int, int]]],
    hits: dict[tuple[int, int], list[_Known]],
    settings: ClusterSettings,
) -> dict[int, set[int]]:
    """For each new story, the stored clusters it may join: a candidate reaches the threshold.

    Only their members are fetched (for the complete link): most band hits
    are chance collisions far below the threshold.
    """
    joinable: dict[int, set[int]] = {}
    for story_id, story in chunk:
        sig = signatures[story_id]
        if sig is None:
            continue
        seen = {known.story_id: known for key in keys[story_id] for known in hits.get(key, ())}
        joinable[story_id] = {
            known.cluster_id or known.story_id
            for known in seen.values()
            if known.signature is not None
            and abs(known.published_at - story.published_at) <= settings.window
            and similarity(sig, known.signature) >= settings.threshold
            and not conflict(sig, known.signature)
        }
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


_COLUMNS = (
    StoryRow.id,
    StoryRow.cluster_id,
    StoryRow.published_at,
    StoryRow.fingerprint,
    StorySignature.signature,
)


def _candidates(
    session: Session,
    keys: dict[int, list[tuple[int, int]]],
    fingerprints: set[str],
    low: datetime,
    high: datetime,
    pending: set[int],
) -> tuple[dict[tuple[int, int], list[_Known]], dict[str, list[_Known]]]:
    """Stored stories within [low, high] sharing a band with `keys` or a title fingerprint.

    One query: the band hits by (band, hash), the title matches by
    fingerprint, each with its signature.
    """
    by_band: dict[int, set[int]] = {}
    for story_keys in keys.values():
        for band, value in story_keys:
            by_band.setdefault(band, set()).add(value)
    title_rows = (
        select(
            sql_cast(null(), SmallInteger).label("band"),
            sql_cast(null(), BigInteger).label("hash"),
            *_COLUMNS,
        )
        .outerjoin(StorySignature, StorySignature.story_id == StoryRow.id)
        .where(StoryRow.fingerprint.in_(sorted(fingerprints)))
        .where(StoryRow.published_at.between(low, high))
    )
    query = title_rows
    if by_band:
        # One IN list per band, OR-ed: each is a lookup on (band, hash), and the statement's
        # shape is the same every time, so SQLAlchemy compiles it once (a VALUES list of
        # 6,400 rows took 0.3 s to compile, each chunk).
        shared = or_(
            *(
                and_(StoryBand.band == band, StoryBand.hash.in_(sorted(hashes)))
                for band, hashes in sorted(by_band.items())
            )
        )
        band_rows = (
            select(StoryBand.band, StoryBand.hash, *_COLUMNS)
            .join(StoryRow, StoryRow.id == StoryBand.story_id)
            .join(StorySignature, StorySignature.story_id == StoryRow.id)
            .where(shared, StoryBand.published_at.between(low, high))
        )
        query = union_all(band_rows, title_rows)
    hits: dict[tuple[int, int], list[_Known]] = {}
    by_title: dict[str, list[_Known]] = {}
    decoded: dict[int, _Known] = {}
    for band, value, story_id, cluster_id, published_at, fingerprint, blob in session.execute(
        query
    ):
        if story_id in pending:  # inserted by this call and not clustered yet
            continue
        known = decoded.get(story_id)
        if known is None:
            sig = from_bytes(blob) if blob is not None else None
            known = decoded[story_id] = _Known(story_id, cluster_id, published_at, fingerprint, sig)
        if band is None:
            by_title.setdefault(fingerprint, []).append(known)
        else:
            hits.setdefault((band, value), []).append(known)
    return hits, by_title


def _members(session: Session, clusters: set[int], pending: set[int]) -> list[_Known]:
    """Every stored member of `clusters`: a story joining one is compared with each.

    All of them, not only those within [low, high]: a member outside the
    window closes the cluster (see `Pool.choose`).
    """
    found: list[_Known] = []
    ordered = sorted(clusters)
    for start in range(0, len(ordered), MAX_PARAMETERS):
        rows = session.execute(
            select(*_COLUMNS)
            .join(StorySignature, StorySignature.story_id == StoryRow.id)
            .where(StoryRow.cluster_id.in_(ordered[start : start + MAX_PARAMETERS]))
        )
        found += [
            _Known(story_id, cluster_id, published_at, fingerprint, from_bytes(blob))
            for story_id, cluster_id, published_at, fingerprint, blob in rows
            if story_id not in pending
        ]
    return found


def _write_signatures(
    session: Session,
    chunk: Sequence[tuple[int, Story]],
    signatures: dict[int, Signature | None],
    keys: dict[int, list[tuple[int, int]]],
) -> None:
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
    connection.exec_driver_sql(
        f"INSERT INTO story_bands (story_id, band, hash, published_at)"
        f" VALUES ({mark}, {mark}, {mark}, {mark})",
        [
            (sid, band, value, published[sid])
            for sid, story_keys in keys.items()
            for band, value in story_keys
        ],
    )


def _write_cluster_ids(session: Session, assigned: dict[int, int]) -> None:
    if not assigned:
        return
    session.execute(
        update(_STORIES)
        .where(_STORIES.c.id == bindparam("story"))
        .values(cluster_id=bindparam("cluster")),
        [{"story": story_id, "cluster": cluster} for story_id, cluster in assigned.items()],
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
