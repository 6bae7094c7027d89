"""The archive at scale: 1,000,000 stories stored and clustered, then searched.

Why: issue 9 asks what clustering costs at ingest, how fast the archive
answers `/search`, and how big the database grows, for a million stories.

What: a deterministic corpus (fixed seed), half English and half Chinese,
streamed in publication order, `--per-day` stories a day (default 5,000: a
million is 200 days). Texts have the shape of news without being news:
words drawn from a Zipf distribution over 20,000 made-up English words or
20,000 two-character Chinese words (so unrelated stories overlap as much as
real ones do, in their common words), plus watchlist names (PBoC, Binance,
USDT, 央行, 洗钱 ...) for the queries to find. A third of the stories are
reports of one event by 2-5 sources within 36 hours: each report keeps
80-100% of the event's own words, figures and names, reworded around them
with words of its own; one report in twenty is a verbatim syndicated copy.
Titles 8-14 words (12-28 characters), summaries 25-60 words (50-150
characters), and a quarter carry a body of 150-400 words (300-900
characters), as spider pages do. 5% are stored as matched (a topic).

Timed: `storage.stories.store_stories` in transactions of `--batch` stories
(a polling cycle), clustering on as the daemon runs it (`[cluster]`
defaults, with each title's watchlist hits for the guard on who acted: an
event's first name is in every report's title, as an actor is in news).
Baseline: the first `--baseline` stories again, into a fresh database,
with clustering off; the ratio compares the rates over the same
first stories. Search: `storage.search.search` (the archive's index, then
the matcher checks and ranks at most 2,000 of the newest candidates, as
`/search` and `crackdown search` run it) for typical queries; its index step
alone against a baseline that finds the same candidates with LIKE (newest
first, up to the same 2,001), as one would without an index. Sizes: the database file after a
checkpoint, and per table where SQLite has `dbstat`.

The generator also knows which stories report one event, so the run prints
the clustering's pairwise precision and recall on it. Synthetic text is
not news: take those as a check that clustering at scale neither falls
apart nor chains into giant clusters, not as its quality (that is
tests/crawler/test_cluster_eval.py, on hand-written reports).
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select, text

from crackdown.app import cluster_settings, load_watchlist
from crackdown.config import Config
from crawler.fold import fold
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import MatchResult, RawStory, Story
from crawler.watchlist import builtin_watchlist
from storage import search, sources, stories
from storage.clusters import ClusterSettings, forget_before
from storage.db import Database
from storage.housekeeping import database_bytes, optimize
from storage.models import StoryRow

SEED = 20261125
STORIES, QUICK_STORIES = 1_000_000, 50_000
PER_DAY, BATCH, BASELINE = 5_000, 500, 100_000
SOURCES_PER_LANG = 100
EVENT_SHARE = 0.33  # of stories: reports of an event by several sources
EVENT_SIZES = (2, 3, 4, 5)
SYNDICATED = 0.05  # of event reports: a verbatim copy of the first
CORE_WORDS = 14  # an event's own words, besides two names and a figure
FAMILIES, FAMILY_WORDS = 20, 10  # per language: what stories of a kind share (arrests, fines)
BODY_SHARE, MATCHED_SHARE = 0.25, 0.05
VOCABULARY = 20_000
ZIPF = 1.0
COMMON = 100  # the most frequent words of real text are stopwords, which signatures drop
START = datetime(2026, 1, 1, tzinfo=UTC)
FORGET_AFTER = timedelta(days=12)  # 4 windows: housekeeping's cut for bands and signatures
REPEATS = 10  # runs of each query (after one to warm the cache)
RUNS = ("search", "index", "like")
MB = 1_000_000

QUERIES = (  # (query in the /search syntax, the words a LIKE baseline looks for)
    ("binance", ("Binance",)),
    ("pboc AND otc", ("PBoC", "OTC")),
    ("usdt AND laundering", ("USDT", "laundering")),
    ('"underground bank"', ("underground bank",)),
    ("mining AND NOT price", ("mining",)),
    ("央行", ("央行",)),
    ("币安 OR 火币", ("币安",)),
    ("洗钱 AND usdt", ("洗钱", "USDT")),
    ("场外交易", ("场外交易",)),
    ("稳定币 AND 香港", ("稳定币", "香港")),
)
EN_NAMES = (
    "PBoC", "Binance", "Huobi", "OKX", "USDT", "OTC", "Alipay", "WeChat Pay", "stablecoin",
    "bitcoin", "mining", "laundering", "underground bank", "Shanghai", "Shenzhen", "Zhejiang",
    "police", "court", "CSRC", "Hong Kong",
)  # fmt: skip
ZH_NAMES = (
    "央行", "币安", "火币", "USDT", "场外交易", "支付宝", "微信支付", "稳定币", "比特币",
    "挖矿", "洗钱", "地下钱庄", "上海", "深圳", "浙江", "警方", "法院", "证监会", "香港",
)  # fmt: skip
EN_FUNCTION = (
    "the", "of", "and", "to", "in", "a", "on", "for", "said", "with", "by", "that", "as",
    "from", "its", "was", "were", "has", "after", "it",
)  # fmt: skip


class Vocabulary:
    """Made-up words with Zipf frequencies: common ones shared, rare ones telling."""

    def __init__(self, rng: np.random.Generator) -> None:
        en_zh = ("en", "zh")
        syllables = [c + v for c in "bdfghklmnprstvz" for v in ("a", "e", "i", "o", "u", "ar")]
        en: list[str] = []
        seen: set[str] = set()
        while len(en) < VOCABULARY:
            word = "".join(rng.choice(syllables, size=int(rng.integers(2, 4))))
            if word not in seen:
                seen.add(word)
                en.append(word)
        simplified = [chr(c) for c in range(0x4E00, 0x9FA6) if fold(chr(c)) == chr(c)]
        chars = list(rng.choice(simplified, 3000, replace=False))  # news is mostly simplified
        char_p = _zipf(len(chars))
        zh: list[str] = []
        seen = set()
        while len(zh) < VOCABULARY:
            word = "".join(rng.choice(chars, size=2, p=char_p))
            if word not in seen:
                seen.add(word)
                zh.append(word)
        self.words = {"en": en, "zh": zh}
        self.p = _zipf(VOCABULARY, COMMON)
        self.families = {
            lang: [self.draw(rng, lang, FAMILY_WORDS) for _ in range(FAMILIES)] for lang in en_zh
        }

    def family(self, rng: np.random.Generator, lang: str) -> list[str]:
        """Some words of one family of stories, as stories of one kind share them."""
        words = self.families[lang][int(rng.integers(FAMILIES))]
        return list(rng.choice(words, size=int(rng.integers(3, 8)), replace=False))

    def draw(self, rng: np.random.Generator, lang: str, n: int) -> list[str]:
        picks = rng.choice(VOCABULARY, size=n, p=self.p)
        words = self.words[lang]
        return [words[i] for i in picks]


def _zipf(n: int, skip: int = 0) -> np.ndarray:
    """Zipf frequencies over ranks skip+1 .. skip+n."""
    weights = 1.0 / np.arange(skip + 1, skip + n + 1) ** ZIPF
    return weights / weights.sum()


@dataclass
class Event:
    lang: str
    core: list[str]  # the event's own words, figures and names
    actor: str  # the first of its names: in every report's title, as in news
    first_title: str = ""
    first_summary: str = ""
    sources: list[int] = field(default_factory=list)


@dataclass
class Generated:
    story: Story
    match: MatchResult
    event: int  # -1: a story of its own


class Corpus:
    """Stories in publication order, with the event each one reports."""

    def __init__(self, n: int, per_day: int, seed: int, matcher: Matcher) -> None:
        self.n = n
        self.matcher = matcher
        self.rng = np.random.default_rng(seed)
        self.vocab = Vocabulary(self.rng)
        self.step = 86400.0 / per_day
        mean_size = sum(EVENT_SIZES) / len(EVENT_SIZES)
        self.new_event = EVENT_SHARE / mean_size / (1 - EVENT_SHARE + EVENT_SHARE / mean_size)
        self.matched = MatchResult(
            entities=("pboc",), topics=("china-crypto-enforcement",), signals=("pboc",), score=1
        )

    @staticmethod
    def source_keys() -> list[str]:
        return [f"{lang}-{i:03d}" for lang in ("en", "zh") for i in range(SOURCES_PER_LANG)]

    def __iter__(self) -> Iterator[Generated]:
        rng = self.rng
        due: list[tuple[float, int, int]] = []  # (time, event, report number)
        events: dict[int, Event] = {}
        for i in range(self.n):
            at = START + timedelta(seconds=i * self.step)
            if due and due[0][0] <= i * self.step:
                _, event_id, _ = heapq.heappop(due)
                yield self._report(i, at, event_id, events)
            elif rng.random() < self.new_event:
                event_id = len(events)
                lang = "en" if rng.random() < 0.5 else "zh"
                events[event_id] = self._event(lang)
                for k in range(int(rng.choice(EVENT_SIZES)) - 1):
                    later = i * self.step + float(rng.uniform(600, 36 * 3600))
                    heapq.heappush(due, (later, event_id, k))
                yield self._report(i, at, event_id, events)
            else:
                lang = "en" if rng.random() < 0.5 else "zh"
                title, summary = self._text(lang, [])
                yield self._story(i, at, lang, self._source(lang, []), title, summary, -1)

    def _event(self, lang: str) -> Event:
        rng = self.rng
        names = EN_NAMES if lang == "en" else ZH_NAMES
        core = self.vocab.draw(rng, lang, CORE_WORDS - 4) + self.vocab.family(rng, lang)
        named = [str(name) for name in rng.choice(names, size=2)]
        core += named
        core.append(str(int(rng.integers(2, 999))) + ("" if lang == "en" else "亿元"))
        return Event(lang, core, named[0])

    def _report(self, i: int, at: datetime, event_id: int, events: dict[int, Event]) -> Generated:
        event = events[event_id]
        source = self._source(event.lang, event.sources)
        event.sources.append(source)
        if event.first_title and self.rng.random() < SYNDICATED:
            title, summary = event.first_title, event.first_summary
        else:
            share = self.rng.uniform(0.8, 1.0)
            keep = [w for w in event.core if w == event.actor or self.rng.random() < share]
            title, summary = self._text(event.lang, keep, event.actor)
        if not event.first_title:
            event.first_title, event.first_summary = title, summary
        return self._story(i, at, event.lang, source, title, summary, event_id)

    def _source(self, lang: str, taken: list[int]) -> int:
        while True:
            source = int(self.rng.integers(SOURCES_PER_LANG))
            if source not in taken:
                return source

    def _text(self, lang: str, core: list[str], actor: str = "") -> tuple[str, str]:
        """A title and a summary around an event's words (none for a story of its own).

        As in news, the event is told in the title and the first sentence
        (its words mixed with a report's own), and the rest is background.
        """
        rng = self.rng
        names = EN_NAMES if lang == "en" else ZH_NAMES
        extra = list(rng.choice(names, size=int(rng.integers(0, 3))))
        words = core or self.vocab.draw(rng, lang, CORE_WORDS - 1) + self.vocab.family(rng, lang)
        in_title = [w for w in words if rng.random() < 0.5 and w != actor][: 6 if actor else 7]
        in_title += [actor] if actor else []
        title = in_title + self.vocab.draw(rng, lang, int(rng.integers(1, 5))) + extra[:1]
        rng.shuffle(title)
        lede = list(words)  # the event's words in the event's order, a report's own among them
        for word in self.vocab.draw(rng, lang, int(rng.integers(1, 6))) + extra:
            lede.insert(int(rng.integers(0, len(lede) + 1)), word)
        tail = self.vocab.draw(rng, lang, int(rng.integers(5, 40)))
        if lang == "en":
            return " ".join(title).capitalize(), self._sentence(lede) + " " + self._sentence(tail)
        return "".join(title), self._phrase(lede) + "。" + self._phrase(tail) + "。"

    def _sentence(self, words: list[str]) -> str:
        rng = self.rng
        out = [f"{rng.choice(EN_FUNCTION)} {w}" if rng.random() < 0.4 else w for w in words]
        return " ".join(out).capitalize() + "."

    @staticmethod
    def _phrase(words: list[str]) -> str:
        return "，".join("".join(words[k : k + 7]) for k in range(0, len(words), 7))

    def _story(
        self, i: int, at: datetime, lang: str, source: int, title: str, summary: str, event: int
    ) -> Generated:
        rng = self.rng
        body = ""
        if rng.random() < BODY_SHARE:
            if lang == "en":
                more = self.vocab.draw(rng, lang, int(rng.integers(120, 360)))
                body = summary + " " + self._sentence(more)
            else:
                more = self.vocab.draw(rng, lang, int(rng.integers(120, 400)))
                body = summary + self._phrase(more) + "。"
        key = f"{lang}-{source:03d}"
        raw = RawStory(key, f"https://{key}.example/{i}", title, summary, body, at, lang)
        story = normalise(raw, fetched_at=at)
        # The title's hits, which clustering's actor guard reads (`[cluster] distinct`).
        hits = self.matcher.match(replace(story, summary="", body="")).hits
        flagged = rng.random() < MATCHED_SHARE
        match = replace(self.matched, hits=hits) if flagged else MatchResult(hits=hits)
        return Generated(story, match, event)


# ----------------------------------------------------------------------------- the runs


@dataclass
class Ingest:
    stories: int
    seconds: float
    seconds_at_baseline: float  # store time of the first `baseline` stories
    ids: list[int]  # story ids in corpus order
    events: list[int]  # event of each story (-1: none)


def ingest(
    db: Database,
    corpus: Corpus,
    settings: ClusterSettings,
    baseline: int,
    forget_after: timedelta | None = None,
) -> Ingest:
    """Store the corpus in transactions of BATCH stories; time only the transactions.

    With `forget_after`, once a simulated day the bands and signatures of
    stories published that long before the newest are dropped, as
    housekeeping would (`storage.clusters.forget_before`); its time counts.
    """
    with db.session() as session:
        sources.sync_sources(
            session, [(k, "feed", f"https://{k}.example/f") for k in corpus.source_keys()]
        )
    ids: list[int] = []
    events: list[int] = []
    spent = at_baseline = 0.0
    batch: list[Generated] = []
    started = time.perf_counter()
    forgotten = START
    cpu = 0.0  # CPU seconds of the same
    mark = (0, 0.0, 0.0)  # stories, storing seconds and CPU seconds at the last progress line
    for item in corpus:
        batch.append(item)
        if len(batch) < BATCH:
            continue
        cpu_started = time.process_time()
        spent += _store(db, batch, settings, ids, events)
        cpu += time.process_time() - cpu_started
        newest = batch[-1].story.published_at
        batch = []
        if forget_after is not None and newest - forgotten >= timedelta(days=1):
            forgotten = newest
            begun, cpu_begun = time.perf_counter(), time.process_time()
            with db.session() as session:
                forget_before(session, newest - forget_after)
            spent += time.perf_counter() - begun
            cpu += time.process_time() - cpu_begun
        if not at_baseline and len(ids) >= baseline:
            at_baseline = spent
        if len(ids) % max(corpus.n // 10, BATCH) == 0:
            rate = len(ids) / spent
            recent = (len(ids) - mark[0]) / max(spent - mark[1], 1e-9)  # this tenth alone
            # The same per CPU second: a tenth slower by the clock but not by the CPU was
            # the machine (other work on the cores), not the archive growing.
            recent_cpu = (len(ids) - mark[0]) / max(cpu - mark[2], 1e-9)
            mark = (len(ids), spent, cpu)
            elapsed = time.perf_counter() - started
            say(
                f"  {len(ids):,} stories, {rate:,.0f}/s stored, the last tenth {recent:,.0f}/s"
                f" ({recent_cpu:,.0f} per CPU second; load {os.getloadavg()[0]:.1f})"
                f" ({elapsed:.0f} s)"
            )
    if batch:
        spent += _store(db, batch, settings, ids, events)
    return Ingest(len(ids), spent, at_baseline or spent, ids, events)


def _store(
    db: Database,
    batch: list[Generated],
    settings: ClusterSettings,
    ids: list[int],
    events: list[int],
) -> float:
    started = time.perf_counter()
    with db.session() as session:
        session.info["clustering"] = settings
        outcomes = stories.store_stories(session, [(g.story, g.match) for g in batch])
    spent = time.perf_counter() - started
    for generated, outcome in zip(batch, outcomes, strict=True):
        if outcome.story_id is not None:
            ids.append(outcome.story_id)
            events.append(generated.event)
    return spent


def pairwise(db: Database, ids: list[int], events: list[int]) -> dict[str, Any]:
    """Precision and recall of the clusters against the generator's events, by counting pairs."""
    with db.session() as session:
        cluster = dict(session.execute(select(StoryRow.id, StoryRow.cluster_id)).all())
    labels = [
        (cluster[i] if cluster[i] is not None else i, e) for i, e in zip(ids, events, strict=True)
    ]
    pairs = lambda counts: sum(n * (n - 1) // 2 for n in counts.values())  # noqa: E731
    by_cluster = Counter(c for c, _ in labels)
    by_event = Counter(e for _, e in labels if e >= 0)
    both = Counter((c, e) for c, e in labels if e >= 0)
    predicted, actual, right = pairs(by_cluster), pairs(by_event), pairs(both)
    return {
        "precision": right / predicted if predicted else 1.0,
        "recall": right / actual if actual else 1.0,
        "clusters": len(by_cluster),
        "multi_story_clusters": sum(1 for n in by_cluster.values() if n > 1),
        "largest_cluster": max(by_cluster.values()),
        "events": len(by_event),
        "event_stories": sum(by_event.values()),
    }


SCAN = 2000  # storage.search.search's default: candidates the matcher checks at most


def search_latency(db: Database, now: datetime) -> dict[str, Any]:
    """Milliseconds per query: `search.search`, its index step, and a LIKE scan for that step.

    The index's job is to find the newest candidates (at most SCAN + 1)
    that may match; the matcher then checks and ranks them. Without an
    index the first step is a scan: LIKE, newest first, to the same limit.
    """
    matcher = Matcher(builtin_watchlist())
    runs: dict[str, dict[str, list[float]]] = {"search": {}, "index": {}, "like": {}}
    found: dict[str, tuple[int, int, int]] = {}  # hits, index candidates, LIKE candidates
    for query, words in QUERIES:
        rule = matcher.compile(query, bare_words_are_phrases=True)
        for run in range(REPEATS + 1):
            with db.session() as session:
                started = time.perf_counter()
                results = search.search(session, matcher, rule, now=now, scan=SCAN)
                spent = (time.perf_counter() - started) * 1000
                started = time.perf_counter()
                ids = search._candidate_ids(  # the index step alone
                    session, rule, matcher, since=None, matched_only=False, limit=SCAN + 1
                )
                index_ms = (time.perf_counter() - started) * 1000
            like_ms, like_ids = _like(db, words)
            if run:
                runs["search"].setdefault(query, []).append(spent)
                runs["index"].setdefault(query, []).append(index_ms)
                runs["like"].setdefault(query, []).append(like_ms)
            found[query] = (len(results.hits), len(ids), like_ids)
    return {**runs, "found": found}


def _like(db: Database, words: Sequence[str]) -> tuple[float, int]:
    conditions = " AND ".join(
        f"(title LIKE :w{k} OR summary LIKE :w{k} OR body LIKE :w{k})" for k in range(len(words))
    )
    sql = text(f"SELECT id FROM stories WHERE {conditions} ORDER BY id DESC LIMIT {SCAN + 1}")
    params = {f"w{k}": f"%{word}%" for k, word in enumerate(words)}
    with db.engine.connect() as connection:
        started = time.perf_counter()
        rows = connection.execute(sql, params).all()
        return (time.perf_counter() - started) * 1000, len(rows)


def table_sizes(db: Database) -> dict[str, float]:
    """MB per table with its indexes (SQLite's dbstat, when compiled in)."""
    try:
        with db.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT COALESCE(m.tbl_name, d.name), SUM(d.pgsize) FROM dbstat d"
                    " LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1"
                )
            ).all()
    except Exception:  # dbstat missing from this SQLite build
        return {}
    sizes: Counter[str] = Counter()
    for name, size in rows:
        sizes["story_fts" if str(name).startswith("story_fts") else str(name)] += size
    return {name: round(size / MB, 1) for name, size in sizes.most_common() if size >= MB / 10}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_STORIES:,} stories")
    parser.add_argument("--stories", type=int, help=f"stories to store (default {STORIES:,})")
    parser.add_argument("--per-day", type=int, default=PER_DAY, help="stories published a day")
    parser.add_argument(
        "--baseline", type=int, default=BASELINE, help="stories stored again with clustering off"
    )
    parser.add_argument(
        "--keep-bands",
        action="store_true",
        help="never drop old bands and signatures (default: those published"
        f" {FORGET_AFTER.days} days before the newest story, daily)",
    )
    parser.add_argument("--keep", type=Path, help="keep the clustered database at this path")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    n = args.stories if args.stories is not None else QUICK_STORIES if args.quick else STORIES
    baseline_n = min(args.baseline, n)
    config = Config()  # `[cluster]` and the watchlist as shipped
    watchlist, matcher = load_watchlist(config)
    settings = cluster_settings(config, watchlist)

    with tempfile.TemporaryDirectory(prefix="crackdown-bench-") as folder:
        path = args.keep or Path(folder) / "archive.db"
        db = Database(f"sqlite:///{path}")
        db.upgrade()
        say(f"storing {n:,} stories with clustering on ({args.per_day:,} a day) ...")
        forget = None if args.keep_bands else FORGET_AFTER
        on = ingest(db, Corpus(n, args.per_day, SEED, matcher), settings, baseline_n, forget)
        say("clustering against the generator's events ...")
        quality = pairwise(db, on.ids, on.events)
        optimize(db)
        size = database_bytes(db) or 0
        tables = table_sizes(db)
        say("searching ...")
        latency = search_latency(db, START + timedelta(seconds=n * 86400 / args.per_day))
        db.dispose()

        say(f"baseline: the first {baseline_n:,} stories with clustering off ...")
        plain = Database(f"sqlite:///{Path(folder) / 'baseline.db'}")
        plain.upgrade()
        off = ingest(
            plain,
            Corpus(baseline_n, args.per_day, SEED, matcher),
            ClusterSettings(enabled=False),
            baseline_n,
        )
        optimize(plain)
        plain_size = database_bytes(plain) or 0
        plain.dispose()

    pooled = {k: [ms for runs in latency[k].values() for ms in runs] for k in RUNS}
    report: dict[str, Any] = {
        "stories": on.stories,
        "per_day": args.per_day,
        "batch": BATCH,
        "bands_kept_days": None if args.keep_bands else FORGET_AFTER.days,
        "threshold": settings.threshold,
        "window_days": settings.window.total_seconds() / 86400,
        "insert_seconds": round(on.seconds, 1),
        "insert_per_s": round(on.stories / on.seconds, 1),
        "baseline_stories": baseline_n,
        "first_per_s": round(baseline_n / on.seconds_at_baseline, 1),
        "off_per_s": round(off.stories / off.seconds, 1),
        "clustering_cost": round(
            (off.stories / off.seconds) / (baseline_n / on.seconds_at_baseline), 2
        ),
        "db_mb": round(size / MB, 1),
        "db_mb_per_1000": round(size / MB / on.stories * 1000, 2),
        "baseline_db_mb": round(plain_size / MB, 1),
        "tables_mb": tables,
        **{
            f"{k}_p{q}_ms": round(percentile(pooled[k], q / 100), 1) for k in RUNS for q in (50, 95)
        },
        "queries": {
            query: {
                "hits": latency["found"][query][0],
                "candidates": latency["found"][query][1],
                "like_candidates": latency["found"][query][2],
                **{f"{k}_p50_ms": round(statistics.median(latency[k][query]), 1) for k in RUNS},
            }
            for query, _ in QUERIES
        },
        **{
            f"synthetic_{k}": (round(v, 3) if isinstance(v, float) else v)
            for k, v in quality.items()
        },
    }
    report["index_speedup_p50"] = round(report["like_p50_ms"] / report["index_p50_ms"], 1)
    report["index_speedup_p95"] = round(report["like_p95_ms"] / report["index_p95_ms"], 1)
    print(json.dumps(report, ensure_ascii=False) if args.json else render(report))
    return 0


def render(r: dict[str, Any]) -> str:
    """The figures, then the per-query table."""
    lines = [
        f"corpus    {r['stories']:,} stories (en/zh), {r['per_day']:,} a day, stored "
        f"{r['batch']} a transaction; clustering threshold {r['threshold']}, window "
        f"{r['window_days']:g} days; bands and signatures "
        + (
            "kept forever"
            if r["bands_kept_days"] is None
            else f"dropped after {r['bands_kept_days']} days"
        ),
        "",
        f"{'':34}{'clustering on':>15}{'off':>10}{'ratio':>8}",
        f"{'insert, first ' + format(r['baseline_stories'], ',') + ' (stories/s)':34}"
        f"{r['first_per_s']:>15,.0f}{r['off_per_s']:>10,.0f}{r['clustering_cost']:>7.2f}x",
        f"{'insert, all (stories/s)':34}{r['insert_per_s']:>15,.0f}",
        f"{'database (MB)':34}{r['db_mb']:>15,.0f}{'':>10}{'':>8}  "
        f"({r['db_mb_per_1000']:.2f} MB per 1,000 stories; off, first "
        f"{r['baseline_stories']:,}: {r['baseline_db_mb']:,.0f} MB)",
        "",
        f"{'':26}{'search':>10}{'its index step':>16}{'LIKE scan':>11}{'speed-up':>10}",
        f"{'latency p50 (ms)':26}{r['search_p50_ms']:>10.1f}{r['index_p50_ms']:>16.1f}"
        f"{r['like_p50_ms']:>11.1f}{r['index_speedup_p50']:>9.1f}x",
        f"{'latency p95 (ms)':26}{r['search_p95_ms']:>10.1f}{r['index_p95_ms']:>16.1f}"
        f"{r['like_p95_ms']:>11.1f}{r['index_speedup_p95']:>9.1f}x",
        "",
        f"  {'query':<26}{'hits':>5}{'search':>9}{'index':>8}{'LIKE':>8}  candidates (LIKE)",
    ]
    for query, q in r["queries"].items():
        lines.append(
            f"  {query:<26}{q['hits']:>5}{q['search_p50_ms']:>9.1f}{q['index_p50_ms']:>8.1f}"
            f"{q['like_p50_ms']:>8.1f}  {q['candidates']:,} ({q['like_candidates']:,})"
        )
    if r["tables_mb"]:
        lines += [
            "",
            "tables (MB, with indexes): "
            + ", ".join(f"{k} {v:,}" for k, v in r["tables_mb"].items()),
        ]
    lines += [
        "",
        f"synthetic events: {r['synthetic_event_stories']:,} stories in {r['synthetic_events']:,} "
        f"events -> {r['synthetic_multi_story_clusters']:,} clusters of 2+ (largest "
        f"{r['synthetic_largest_cluster']}); pairwise precision {r['synthetic_precision']:.3f}, "
        f"recall {r['synthetic_recall']:.3f}",
        "ratio: rate with clustering off over rate with it on, same first stories (the cost)",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
