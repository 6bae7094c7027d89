"""Story clusters in the database: one event, every source that reported it.

`plan_clusters` runs in the transaction that inserts new stories, before their rows
(`storage.stories`: each is inserted with its cluster id). Evidence,
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

A story's cluster depends on the stories stored before it and not on
which of them share its transaction: the poller stores together the polls
that end at about one time, so that is network timing. Each new story is
clustered as if stored alone right after those before it in the call
(`_Batch`; tests/app/test_poll_batching.py); before, one transaction's
stories saw each other through uncapped in-memory buckets and later polls'
titles: the same 40 feeds put 6 of 1,000 stories in other events, and
queued other alerts, stored one poll a transaction or several.

Cost: per chunk of `CHUNK` new stories, five SELECTs, all through the
driver (`_Driver`): the ids sharing a band (one UNION ALL of a SELECT a
band), the first and newest ids of each story's title, the signatures of each
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

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import chain
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


@dataclass
class ClusterPlan:
    """`plan_clusters`' answer: each story's cluster, and the rows to write once it is stored."""

    assigned: dict[int, int]  # story id -> cluster id
    batch: _Batch | None = None  # None: clustering is off, nothing to write

    def write(self) -> None:
        """Signatures, bands and adopted clusters' ids, once the stories' rows exist."""
        if self.batch is not None:
            self.batch.write()


def plan_clusters(
    session: Session,
    stories: Sequence[tuple[int, Story]],
    settings: ClusterSettings,
    names: Mapping[int, Collection[str]] | None = None,
    alone: Collection[int] = (),
    signatures: Mapping[int, Signature | None] | None = None,
) -> ClusterPlan:
    """Each new story's cluster (id, story, in the order stored), before its row is inserted.

    Each story is clustered as if it had been stored in a transaction of its
    own, right after the ones before it in `stories`: it finds the stored
    stories and this call's earlier ones through the same bounded reads
    (buckets, titles, candidates, members), and never a later one. So which
    polls share a transaction changes nothing (the poller batches them by
    network timing; tests/app/test_poll_batching.py). The database is read
    once a chunk; this call's stories are laid over what it returned
    (`_Batch`).

    Every read leaves the call's own story rows out, so their ids may be
    chosen before they are inserted, and a story is inserted with its
    cluster id instead of updated once more (4,928 UPDATEs of a first
    cycle's 4,959 stories clustered, session 14). `ClusterPlan.write` writes
    the rest (signatures, bands, adopted clusters), after the stories' rows.

    `names` holds, by story id, the entity families its title names
    (`crawler.cluster.title_names`), which keep other platforms' stories out.
    The stories in `alone` are each their own event (`storage.stories`: not
    worth clustering), but later ones may still join theirs by title, as
    they join a stored one. With clustering off, every story is a cluster of
    its own and nothing is written. `signatures` holds, by story id, those
    made already (`signature(story, names)`, in a parse worker).
    """
    if not settings.enabled:
        return ClusterPlan({story_id: story_id for story_id, _ in stories})
    batch = _Batch(session, settings, stories)
    assigned: dict[int, int] = {}
    for chunk in _chunks(stories, alone):
        clustered = [(story_id, story) for story_id, story in chunk if story_id not in alone]
        made = signatures or {}
        chunk_signatures = {
            story_id: made[story_id]
            if story_id in made
            else signature(story, (names or {}).get(story_id, ()))
            for story_id, story in clustered
        }
        keys = {sid: band_keys(sig) for sid, sig in chunk_signatures.items() if sig is not None}
        batch.read(clustered, chunk_signatures, keys)
        for story_id, story in chunk:
            if story_id in alone:
                assigned[story_id] = batch.own_event(story_id, story)
            else:
                sig, story_keys = chunk_signatures[story_id], keys.get(story_id, [])
                assigned[story_id] = batch.assign(story_id, story, sig, story_keys)
    return ClusterPlan(assigned, batch)


def _chunks(
    stories: Sequence[tuple[int, Story]], alone: Collection[int]
) -> Iterator[Sequence[tuple[int, Story]]]:
    """`stories` in order, in runs holding CHUNK stories to cluster (and any number alone)."""
    start = count = 0
    for end, (story_id, _) in enumerate(stories, start=1):
        count += story_id not in alone
        if count == CHUNK:
            yield stories[start:end]
            start = end
            count = 0
    if start < len(stories):
        yield stories[start:]


Key = tuple[int, int]  # (band, hash): one LSH bucket
Rank = tuple[int, int, int]  # (-buckets shared, first bucket's index, story id): `_ranked`
_LAST = 1 << 62  # above every story id: a title's last row at a time


class _Batch:
    """One call's stories, each shown what the database would show it stored alone.

    What was stored before the call is read once a chunk, for every story of
    the chunk, wide enough for each (`read`); each story then takes its part
    of it (its window, the caps) plus the call's stories before it, as the
    same SELECTs would have returned them had those been committed first.
    Nothing is written until the call's end, so the database holds only what
    was stored before (and the call's own story rows, which every read
    leaves out). A cap over the union of two parts is the cap over the
    union of each part's capped rows, so the caps hold exactly.
    """

    def __init__(
        self, session: Session, settings: ClusterSettings, stories: Sequence[tuple[int, Story]]
    ) -> None:
        self.session, self.settings = session, settings
        self.driver = _Driver(session)
        self.ours = {story_id for story_id, _ in stories}
        self.titles_ours = Counter(story.fingerprint for _, story in stories)
        # Stored before the call (the chunk's reads, and what earlier chunks read).
        self.buckets: dict[Key, list[tuple[int, Any]]] = {}  # (story id, band time as stored)
        self.read_between: tuple[datetime, datetime] | None = None  # the chunk's band window
        self.stored_sizes: dict[int, dict[Key, int]] = {}  # new story -> its buckets' sizes
        self.stored_bucket: dict[int, dict[Key, list[int]]] = {}  # new story -> their ids, if read
        self.ranked: dict[int, list[Rank]] = {}  # new story -> stored candidates, best first
        self.scores: dict[int, dict[int, float]] = {}  # new story -> their similarity
        self.titled: dict[int, set[int]] = {}  # new story -> stored stories of its title
        self.known: dict[int, _Known] = {}  # stored stories read, and the call's clustered
        self.stored_members: dict[int, list[_Known]] = {}  # cluster -> newest signed members
        self.stored_spans: dict[int, tuple[datetime, datetime]] = {}
        # The call's stories so far, as the database would hold them.
        self.bands: dict[Key, list[tuple[int, Any]]] = {}
        self.by_title: dict[str, tuple[list[tuple[datetime, int]], list[_Known]]] = {}  # sorted
        self.members: dict[int, list[_Known]] = {}
        self.spans: dict[int, tuple[datetime, datetime]] = {}
        # What to write at the end.
        self.signature_rows: list[dict[str, object]] = []
        self.band_rows: list[tuple[int, int, int, Any]] = []
        self.adopted: dict[int, None] = {}  # stored headless stories now first of their cluster

    def read(
        self,
        chunk: Sequence[tuple[int, Story]],
        signatures: Mapping[int, Signature | None],
        keys: Mapping[int, list[Key]],
    ) -> None:
        """What each story of `chunk` may find stored: its candidates, titles, their clusters."""
        if not chunk:
            return
        window = self.settings.window
        times = [story.published_at for _, story in chunk]
        low, high = self.read_between = (min(times) - window, max(times) + window)
        sizes = _bucket_sizes(self.session, keys, low, high)
        self.titled.update(_titled(self.session, chunk, window, self.titles_ours, self.ours))
        # Most stories' windows hold every row read (a chunk's stories are published within
        # hours of each other): those take each bucket's size as counted, without a filter.
        span = (
            (
                min(first for _, first, _ in sizes.values()),
                max(last for _, _, last in sizes.values()),
            )
            if sizes
            else None
        )
        covered = {sid: span is None or self._covers(story, span) for sid, story in chunk}
        # The ids in a bucket are read only for a story that ranks its candidates now (no
        # stored story of its title) or whose window leaves some rows out: the others need
        # the sizes alone (4,866 of a first cycle's 4,959 clustered; 594,466 rows read
        # before, for 96,481 buckets).
        wanted = {
            sid: keys.get(sid, []) for sid, _ in chunk if not self.titled[sid] or not covered[sid]
        }
        self.buckets = _candidates(self.session, wanted, low, high) if wanted else {}
        for story_id, story in chunk:
            story_keys = keys.get(story_id, [])
            if not covered[story_id]:
                stored = self._in_window(story, story_keys, self.buckets)
            elif story_id in wanted:
                stored = {key: self._ids(key) for key in story_keys if key in self.buckets}
            else:  # its buckets' sizes decide the bands written
                self.stored_sizes[story_id] = {
                    key: sizes[key][0] for key in story_keys if key in sizes
                }
                continue
            self.stored_bucket[story_id] = stored
            self.stored_sizes[story_id] = {key: len(ids) for key, ids in stored.items()}
            # A story with stored stories of its title most likely joins one of them, and
            # then its band candidates are never looked at: they are ranked and read only
            # if the title does not decide (`assign`; a wire or templated title recurs).
            if not self.titled[story_id]:
                self.ranked[story_id] = _ranked(story_keys, stored)
        wanted = set().union(
            *({rank[2] for rank in ranked} for ranked in self.ranked.values()),
            *self.titled.values(),
        )
        self.known.update(_read(self.session, wanted - self.known.keys()))
        # The members of the clusters each story may join, read for all at once: those of
        # its candidates that reach the threshold (`_joinable` keeps a few of them).
        clusters: set[int] = set()
        for story_id, _ in chunk:
            sig = signatures[story_id]
            near = [self.known[rank[2]] for rank in self.ranked.get(story_id, ())]
            if sig is not None and near:
                scores = self.scores[story_id] = _similarities(sig, near)
                clusters.update(
                    k.cluster_id or k.story_id
                    for k in near
                    if scores.get(k.story_id, 0.0) >= self.settings.threshold
                )
        self._fetch_members(clusters)

    def _fetch_members(self, clusters: set[int]) -> None:
        """The stored members and spans of `clusters` not read yet (not the call's own)."""
        wanted = clusters - self.stored_members.keys() - self.ours
        if not wanted:
            return
        members, spans = _members(self.session, wanted, self.ours)
        for cluster in wanted:
            self.stored_members[cluster] = []
        for known in members:
            self.stored_members[known.cluster_id or known.story_id].append(known)
        self.stored_spans.update(spans)

    def _ids(self, key: Key) -> list[int]:
        """The stored ids read in a bucket, ascending."""
        return [story_id for story_id, _ in self.buckets[key]]

    def _covers(self, story: Story, span: tuple[Any, Any]) -> bool:
        """Whether the story's window holds every time in `span` (band times, as stored)."""
        window = self.settings.window
        low = self.driver.to_db(story.published_at - window)
        high = self.driver.to_db(story.published_at + window)
        return bool(low <= span[0] and span[1] <= high)

    def _in_window(
        self, story: Story, keys: list[Key], rows: Mapping[Key, list[tuple[int, Any]]]
    ) -> dict[Key, list[int]]:
        """The ids of `rows` in each of the story's buckets within its window, as SELECTed."""
        window = self.settings.window
        low = self.driver.to_db(story.published_at - window)
        high = self.driver.to_db(story.published_at + window)
        found: dict[Key, list[int]] = {}
        for key in keys:
            ids = [story_id for story_id, at in rows.get(key, ()) if low <= at <= high]
            if ids:
                found[key] = ids
        return found

    def assign(self, story_id: int, story: Story, sig: Signature | None, keys: list[Key]) -> int:
        """The story's cluster, from what was stored and the call's stories before it."""
        settings = self.settings
        stored_sizes = self.stored_sizes.pop(story_id, {})
        stored = self.stored_bucket.pop(story_id, None)  # None: only the sizes were read
        ranked = self.ranked.pop(story_id, None)  # None: left until the title does not decide
        scores = self.scores.pop(story_id, {})
        ours = self._in_window(story, [k for k in keys if k in self.bands], self.bands)
        sizes = {key: stored_sizes.get(key, 0) + len(ours.get(key, ())) for key in keys}
        by_title = self._title_rows(story_id, story)
        match = _title_match(story, sig, by_title, settings)
        if ranked is None:
            ranked = [] if match is not None else self._ranked_late(story, keys, stored)
        if ours:  # the call's stories before it share its buckets: they may rank among them
            ranked = sorted(ranked + _ranked(keys, ours))[:MAX_CANDIDATES]
        near = [self.known[rank[2]] for rank in ranked]
        if match is not None:
            cluster = match.cluster_id or match.story_id
        else:
            chosen = None
            joinable: set[int] = set()
            if sig is not None and near:
                scores |= _similarities(sig, [k for k in near if k.story_id not in scores])
                joinable = _joinable(story, sig, near, scores, settings)
                self._fetch_members(joinable)  # one the call's stories joined, if not read
            if sig is not None and joinable:
                chosen = self._pool(joinable, near).choose(
                    sig, story.published_at, settings.window, settings.threshold, joinable
                )
            cluster = chosen[0] if chosen is not None else story_id
        headless = {k.story_id for k in (*near, *by_title) if k.cluster_id is None}
        if cluster in headless:  # its first story was deleted: now its own cluster's first
            self._adopt(self.known[cluster])
        self._add(_Known(story_id, cluster, story.published_at, story.fingerprint, sig))
        if sig is not None:
            self._write_later(story_id, story, sig, keys, sizes)
        return cluster

    def _ranked_late(
        self, story: Story, keys: list[Key], stored: Mapping[Key, list[int]] | None
    ) -> list[Rank]:
        """A story's stored candidates, ranked and read when its title did not decide after all.

        The same ranks and rows as `read` would have found: nothing is written
        until the call's end, and stories read already keep what the call made
        of them (an adopted headless one). Its buckets' ids are read now if
        `read` counted them only (`stored` None), with the chunk's reads.
        """
        if stored is None:
            assert self.read_between is not None  # `read` ran for its chunk
            rows = _candidates(self.session, {0: keys}, *self.read_between)
            stored = {key: [story_id for story_id, _ in found] for key, found in rows.items()}
        ranked = _ranked(keys, stored)
        missing = {rank[2] for rank in ranked} - self.known.keys()
        if missing:
            self.known.update(_read(self.session, missing))
        return ranked

    def _pool(self, joinable: set[int], near: list[_Known]) -> Pool:
        """What a story is compared with: the newest members of each cluster, its candidates."""
        pool = Pool()
        for cluster in sorted(joinable):
            newest = sorted(
                (*self.stored_members.get(cluster, ()), *self.members.get(cluster, ())),
                key=lambda k: (k.published_at, k.story_id),
                reverse=True,
            )[:MAX_MEMBERS]
            rows = {k.story_id: k for k in newest}
            for k in near:
                if (k.cluster_id or k.story_id) == cluster and k.signature is not None:
                    rows.setdefault(k.story_id, k)
            span = _merge(self.stored_spans.get(cluster), self.spans.get(cluster))
            if span is not None:
                pool.span(cluster, *span)
            pool.add_many(
                cluster,
                [k.signature for k in rows.values() if k.signature is not None],
                [k.published_at for k in rows.values() if k.signature is not None],
            )
        return pool

    def _title_rows(self, story_id: int, story: Story) -> list[_Known]:
        """Stories of its title in its window: the first and newest TITLE_CAP, by id."""
        window = self.settings.window
        low, high = story.published_at - window, story.published_at + window
        times, knowns = self.by_title.get(story.fingerprint, ([], []))
        inside = knowns[bisect_left(times, (low, -1)) : bisect_right(times, (high, _LAST))]
        ours = inside[:TITLE_CAP] + inside[TITLE_CAP:][-TITLE_CAP:]
        stored = [self.known[s] for s in self.titled.get(story_id, ())]
        found = sorted((*stored, *ours), key=lambda k: (k.published_at, k.story_id))
        chosen = {k.story_id: k for k in (*found[:TITLE_CAP], *found[-TITLE_CAP:])}
        return [chosen[s] for s in sorted(chosen)]

    def own_event(self, story_id: int, story: Story) -> int:
        """A story not worth clustering: its own event, which later ones may join by title."""
        self._add(_Known(story_id, story_id, story.published_at, story.fingerprint, None))
        return story_id

    def _add(self, known: _Known) -> None:
        cluster = known.cluster_id or known.story_id
        self.known[known.story_id] = known
        times, knowns = self.by_title.setdefault(known.fingerprint, ([], []))
        at = bisect_right(times, (known.published_at, known.story_id))
        times.insert(at, (known.published_at, known.story_id))
        knowns.insert(at, known)
        self._widen(cluster, known.published_at)
        if known.signature is not None:
            self.members.setdefault(cluster, []).append(known)

    def _widen(self, cluster: int, at: datetime) -> None:
        first, last = self.spans.get(cluster, (at, at))
        self.spans[cluster] = (min(first, at), max(last, at))

    def _adopt(self, known: _Known) -> None:
        """A headless stored story a new one joins: its cluster id becomes its own id."""
        known.cluster_id = known.story_id
        self.adopted[known.story_id] = None
        self._widen(known.story_id, known.published_at)
        if known.signature is not None:
            self.members.setdefault(known.story_id, []).append(known)

    def _write_later(
        self,
        story_id: int,
        story: Story,
        sig: Signature,
        keys: list[Key],
        sizes: Mapping[Key, int],
    ) -> None:
        """The signature, and the bands but in buckets that hold BUCKET_CAP in the window.

        A full bucket takes no more: like a stopword, a band that many stories
        share says nothing about which event one reports (chance collisions
        fill buckets in proportion to the stories in the window, and one
        field's vocabulary fills some fast). Uncapped, a templated feed made
        every story fetch and compare most of the window: 11 ms a story at
        49,000 stories, growing with them. A report of an event still finds
        its siblings through its other bands, and through the first
        BUCKET_CAP of a full one.
        """
        self.signature_rows.append({"story_id": story_id, "signature": signature_bytes(sig)})
        at = self.driver.to_db(story.published_at)
        for key in keys:
            if sizes[key] < BUCKET_CAP:
                self.bands.setdefault(key, []).append((story_id, at))
                self.band_rows.append((story_id, key[0], key[1], at))

    def write(self) -> None:
        """Signatures and bands of the call's stories, and adopted clusters' ids.

        The call's stories hold their cluster id from their INSERT.
        """
        _write_signatures(self.session, self.signature_rows, self.band_rows)
        _write_adopted(self.session, list(self.adopted))


def _merge(
    a: tuple[datetime, datetime] | None, b: tuple[datetime, datetime] | None
) -> tuple[datetime, datetime] | None:
    """The span covering both (either may be None)."""
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), max(a[1], b[1])


def _ranked(keys: list[Key], bucket: Mapping[Key, list[int]]) -> list[Rank]:
    """The MAX_CANDIDATES ids sharing the most of the story's buckets, best first.

    As (-buckets shared, index of the first, id): the order in which
    `Counter.most_common` ranked them (ties in the order first listed, a
    bucket's ids ascending), which two parts' ranks merge into exactly.
    """
    shared = Counter(chain.from_iterable(bucket[key] for key in keys if key in bucket))
    first: dict[int, int] = {}
    for index in range(len(keys) - 1, -1, -1):  # the lowest index written last
        if keys[index] in bucket:
            first.update(dict.fromkeys(bucket[keys[index]], index))
    return [(-n, first[s], s) for s, n in shared.most_common(MAX_CANDIDATES)]


def _similarities(sig: Signature, near: list[_Known]) -> dict[int, float]:
    """Estimated similarity of `sig` to each signed story of `near`, by id."""
    found = [k for k in near if k.signature is not None]
    if not found:
        return {}
    values = np.stack([k.signature.values for k in found])  # type: ignore[union-attr]
    scores = np.count_nonzero(values == sig.values, axis=1) / NUM_PERM
    return dict(zip((k.story_id for k in found), scores.tolist(), strict=True))


def _joinable(
    story: Story,
    sig: Signature,
    near: list[_Known],
    similarity: Mapping[int, float],
    settings: ClusterSettings,
) -> set[int]:
    """The clusters a story may join: those of candidates that reach the threshold.

    Only their members are read (for the complete link): most band hits
    are chance collisions far below the threshold. At most MAX_JOINABLE
    clusters, those of its most similar candidates: the story joins the
    most similar cluster that takes it, and in a field's templated items
    (a price ticker, a results season) dozens reach the threshold.
    """
    found = [k for k in near if k.signature is not None]
    if not found:
        return set()
    scores = np.array([similarity[k.story_id] for k in found])
    times = np.fromiter((k.published_at.timestamp() for k in found), dtype=np.float64)
    close = np.abs(times - story.published_at.timestamp()) <= settings.window.total_seconds()
    clusters: dict[int, None] = {}
    for i in np.argsort(-scores, kind="stable").tolist():
        if len(clusters) == MAX_JOINABLE or scores[i] < settings.threshold:
            break
        if close[i] and not conflict(sig, found[i].signature):  # type: ignore[arg-type]
            clusters.setdefault(found[i].cluster_id or found[i].story_id)
    return set(clusters)


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


def _bucket_sizes(
    session: Session, keys: Mapping[int, list[Key]], low: datetime, high: datetime
) -> dict[Key, tuple[int, Any, Any]]:
    """`_candidates` counted: each bucket's stored stories in [low, high], first and last time.

    The same walks of the (band, hash, published_at) index, one row a bucket
    (the times as stored, as `_candidates` returns them).
    """
    found: dict[Key, tuple[int, Any, Any]] = {}
    for band, value, count, first, last in _bucket_statement(
        session,
        keys,
        low,
        high,
        "count(*), min(published_at), max(published_at)",
        " GROUP BY band, hash",
    ):
        found[(band, value)] = (count, first, last)
    return found


def _bucket_statement(
    session: Session,
    keys: Mapping[int, list[Key]],
    low: datetime,
    high: datetime,
    columns: str,
    grouping: str = "",
) -> list[Any]:
    """The rows of one UNION ALL of a SELECT a band over the buckets of `keys` in [low, high]."""
    by_band: dict[int, set[int]] = {}
    for story_keys in keys.values():
        for band, value in story_keys:
            by_band.setdefault(band, set()).add(value)
    if not by_band:
        return []
    driver = _Driver(session)
    window = (driver.to_db(low), driver.to_db(high))
    parts: list[str] = []
    params: list[object] = []
    for band, values in sorted(by_band.items()):
        parts.append(
            f"SELECT band, hash, {columns} FROM story_bands WHERE band = {int(band)}"
            f" AND hash IN ({driver.marks(len(values))})"
            f" AND published_at BETWEEN {driver.mark} AND {driver.mark}{grouping}"
        )
        params += [*sorted(values), *window]
    return driver.rows(" UNION ALL ".join(parts), params)


def _candidates(
    session: Session, keys: Mapping[int, list[Key]], low: datetime, high: datetime
) -> dict[Key, list[tuple[int, Any]]]:
    """The stored stories of each bucket `keys` fall in, published in [low, high], with the time.

    One statement through the driver, a UNION ALL of one SELECT a band: each
    IN list is a set of ranges of the (band, hash, published_at) index.
    Through SQLAlchemy, one OR of 32 IN lists (up to 6,400 parameters a
    chunk) cost five times what the database took to answer it, in rendering
    and binding the parameters and wrapping the rows. The database stays
    the only index: a restarted daemon, or a second one writing to the same
    PostgreSQL, finds what the others stored. The time is the band's, as
    stored, so that each story keeps the rows of its own window as the
    database would (`_Batch._bucket_rows`).
    """
    found: dict[Key, list[tuple[int, Any]]] = {}
    for band, value, story_id, at in _bucket_statement(
        session, keys, low, high, "story_id, published_at"
    ):
        found.setdefault((band, value), []).append((story_id, at))
    for rows in found.values():
        rows.sort()  # by id: the same candidates, whatever order the database answers in
    return found


def _titled(
    session: Session,
    chunk: Sequence[tuple[int, Story]],
    window: timedelta,
    ours: Mapping[str, int],
    our_ids: Collection[int],
) -> dict[int, set[int]]:
    """For each new story, stored stories of its title in its window: the first and newest few.

    A wire story's title, or a templated feed's, recurs hundreds of times in
    a window: reading every one (and its signature) for every new report was
    quadratic. The first ones hold the oldest cluster, the newest the
    clusters still open. Each is a walk of TITLE_CAP rows along the
    (fingerprint, published_at) index, however often the title recurs. The
    call's own stories (`our_ids`, inserted already) are left out: by their
    range of ids when they hold one whole (no other writer's id can be in
    it), else by reading as many more of a title as the call has (`ours`).
    """
    driver = _Driver(session)
    low_id, high_id = min(our_ids, default=0), max(our_ids, default=0)
    whole = high_id - low_id + 1 == len(our_ids)
    skip = f" AND id NOT BETWEEN {int(low_id)} AND {int(high_id)}" if whole else ""
    found: dict[int, set[int]] = {}
    asks: dict[tuple[str, datetime], list[int]] = {}  # one SELECT pair a title and time
    for story_id, story in chunk:
        asks.setdefault((story.fingerprint, story.published_at), []).append(story_id)
    ordered = list(asks.items())
    for start in range(0, len(ordered), COMPOUND // 2):
        parts: list[str] = []
        params: list[object] = []
        for index, ((fingerprint, at), _) in enumerate(ordered[start : start + COMPOUND // 2]):
            cap = TITLE_CAP if whole else TITLE_CAP + ours.get(fingerprint, 0)
            for way in ("", " DESC"):
                parts.append(
                    f"SELECT {index}, id FROM (SELECT id FROM stories"
                    f" WHERE fingerprint = {driver.mark}"
                    f" AND published_at BETWEEN {driver.mark} AND {driver.mark}{skip}"
                    f" ORDER BY published_at{way}, id{way} LIMIT {cap}) AS few"
                )
                params += [
                    fingerprint,
                    driver.story_time(at - window),
                    driver.story_time(at + window),
                ]
        rows = driver.rows(" UNION ALL ".join(parts), params)
        titled: dict[int, set[int]] = {}
        for index, story_id in rows:
            if story_id not in our_ids:
                titled.setdefault(index, set()).add(story_id)
        for index, (_, asked_by) in enumerate(ordered[start : start + COMPOUND // 2]):
            for new_id in asked_by:
                found[new_id] = titled.get(index, set())
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
        # Bands' times as `_write_signatures` binds them, stories' as SQLAlchemy does: a
        # comparison must see the stored format. On SQLite a band's time is the text the
        # driver makes of a datetime (isoformat), bound as that text, so that the rows read
        # back compare in Python as SQLite compares them (`_Batch._in_window`).
        bind = column.bind_processor(dialect) or _same
        self.to_db: Callable[[datetime], Any] = (
            (lambda value: bind(value).isoformat(" ")) if dialect.name == "sqlite" else bind
        )
        self.story_time = column.dialect_impl(dialect).bind_processor(dialect) or _same
        self.from_db = column.dialect_impl(dialect).result_processor(dialect, None) or _same

    def marks(self, count: int) -> str:
        """`count` parameter marks, comma-separated."""
        return ", ".join([self.mark] * count)

    def rows(self, statement: str, params: Sequence[object]) -> list[Any]:
        """Every row of one SELECT, as the driver's tuples.

        Through `exec_driver_sql` (no compiling, events still fire), but
        fetched from the DB-API cursor: wrapping each of a first cycle's
        half a million band rows in a `Row` cost a fifth of reading them.
        """
        result = self.connection.exec_driver_sql(statement, tuple(params))
        try:
            return list(result.cursor.fetchall())
        finally:
            result.close()


def _same(value: Any) -> Any:
    return value


def _write_signatures(
    session: Session,
    signature_rows: list[dict[str, object]],
    band_rows: list[tuple[int, int, int, Any]],
) -> None:
    """Store signatures and band rows (story id, band, hash, time as the driver binds it)."""
    if signature_rows:
        session.execute(insert(_SIGNATURES), signature_rows)
    # 32 rows a story: straight to the driver (through Core, binding each row's parameters
    # cost as much as SQLite's inserting them).
    if band_rows:
        driver = _Driver(session)
        driver.connection.exec_driver_sql(
            "INSERT INTO story_bands (story_id, band, hash, published_at)"
            f" VALUES ({driver.marks(4)})",
            band_rows,
        )


def _write_adopted(session: Session, story_ids: list[int]) -> None:
    """Stored headless stories a new one joined: each the first of its cluster now.

    Its first story was deleted (`cluster_id` NULL, ON DELETE SET NULL), so it
    takes its own id. The only cluster id written after an INSERT: a new story
    holds its cluster id from its INSERT (`plan_clusters`), since updating
    every new row (body included) once more was 14% of a growing archive's
    storing time (bench/archive.py). Through the driver: through Core,
    binding each id cost more than the UPDATE.
    """
    if story_ids:
        driver = _Driver(session)
        driver.connection.exec_driver_sql(
            f"UPDATE stories SET cluster_id = id WHERE id = {driver.mark}",
            [(story_id,) for story_id in story_ids],
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
