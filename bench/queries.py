"""Subscriber queries at scale: 500 chats x 10 /watch queries against a 1,000-story poll.

Why: issue 16 measured a 1,000-story poll at 0.43 s with no watched queries and 17.8 s
with 500 chats x 10 queries, because every query was evaluated on every story. The
target: the queries cost <= 2x the no-query poll. `crawler.queryindex` runs a query
only when one of its necessary names (entity, category or phrase) is in the story.

What: 1,000 stories built from the sentences of the labelled corpora (the repository's
`tests/data/filter_challenge.jsonl`, plus `/work/shared/corpus/*.jsonl` when present):
a title sentence and 3-6 summary sentences each, fixed seed. 5,000 distinct queries of
the shapes people write: a phrase (two corpus words; one in ten a pair that occurs), entity
AND phrase, category AND phrase, phrase NEAR/5 entity, a few bare entities, entity OR
entity and entity AND NOT phrase (following an entity alone is /follow, not /watch), and a
few NOT-only queries (always evaluated). Matches per story are printed: the queries that
do hold must be evaluated, so the figure depends on how selective the queries are.

Two figures, each against a no-query baseline measured in the same run:
1. filter only: `FilterBook.match` over the 1,000 stories, with every query evaluated
   (the old way; once) and with the index (best of 5, alternating with the baseline so
   that other load on the machine hits both). Both must name the same queries.
2. ingest (a poll without the HTTP and parsing): `crackdown.runtime.pipeline.ingest` of the
   1,000 stories into a fresh SQLite file, with and without the 500 chats and their
   5,000 queries (index on; best of 2, alternating). The run with queries also writes an outbox
   row per query match: work the matches cause, not the evaluation.

Run from the repository root: `python bench/queries.py [--chats N] [--per-chat N]
[--stories N] [--json]`. Exits 0 unless the code under test raises.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crackdown.app import App, open_app
from crackdown.config import build_config
from crackdown.runtime.filters import FilterBook
from crackdown.runtime.pipeline import ingest
from crawler.normalize import normalise
from crawler.types import MatchResult, RawStory, Story
from crawler.watchlist import Watchlist
from storage import subscribers

SEED = 20261206
ROOT = Path(__file__).resolve().parents[1]
CORPORA = [ROOT / "tests/data/filter_challenge.jsonl", *Path("/work/shared/corpus").glob("*.jsonl")]
FEEDS = 20
FETCHED_AT = datetime(2026, 12, 1, tzinfo=UTC)
_SENTENCE = re.compile(r"(?<=[.!?。！？])\s*")
_WORD = re.compile(r"[A-Za-z][A-Za-z\-]{3,}")


def sentences() -> list[str]:
    found: list[str] = []
    for path in CORPORA:
        if not path.is_file():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            record = json.loads(line)
            for text in (record.get("title") or "", record.get("text") or ""):
                found.extend(s.strip() for s in _SENTENCE.split(text) if len(s.strip()) > 20)
    return list(dict.fromkeys(found))


def make_stories(count: int, pool: Sequence[str], rng: random.Random) -> list[RawStory]:
    return [
        RawStory(
            source_key=f"feed{n % FEEDS}",
            url=f"https://news{n % FEEDS}.example/{n}",
            title=rng.choice(pool)[:200],
            summary=" ".join(rng.sample(pool, rng.randint(3, 6))),
        )
        for n in range(count)
    ]


def make_queries(
    count: int, pool: Sequence[str], watchlist: Watchlist, rng: random.Random
) -> list[str]:
    """`count` distinct queries in the shapes subscribers write."""
    entities = sorted(e.key for e in watchlist.entities)
    categories = sorted(watchlist.categories)
    words = sorted({w.lower() for s in pool for w in _WORD.findall(s)})

    def phrase() -> str:
        """Mostly two words of the corpus that seldom meet; one in ten a pair that does."""
        if rng.random() < 0.1:
            found = [w.lower() for w in _WORD.findall(rng.choice(pool))]
            if len(found) >= 2:
                at = rng.randrange(len(found) - 1)
                return f'"{found[at]} {found[at + 1]}"'
        return f'"{rng.choice(words)} {rng.choice(words)}"'

    # Following an entity alone is /follow, not /watch: few queries are a bare entity.
    shapes: list[tuple[float, Callable[[], str]]] = [
        (0.42, phrase),
        (0.01, lambda: rng.choice(entities)),
        (0.32, lambda: f"{rng.choice(entities)} AND {phrase()}"),
        (0.01, lambda: f"{rng.choice(entities)} OR {rng.choice(entities)}"),
        (0.12, lambda: f"{rng.choice(categories)} AND {phrase()}"),
        (0.10, lambda: f"{phrase()} NEAR/5 {rng.choice(entities)}"),
        (0.009, lambda: f"{rng.choice(entities)} AND NOT {phrase()}"),
        (0.001, lambda: f"NOT {phrase()}"),
    ]
    weights = [w for w, _ in shapes]
    queries: dict[str, None] = {}
    while len(queries) < count:
        (make,) = rng.choices([m for _, m in shapes], weights)
        queries[make()] = None
    return list(queries)


def new_app(folder: Path) -> App:
    document = {
        "storage": {"url": f"sqlite:///{folder / 'bench.db'}"},
        "sources": [
            {"key": f"feed{n}", "url": f"https://news{n}.example/rss"} for n in range(FEEDS)
        ],
    }
    return open_app(build_config(document, {}))


def watch(app: App, queries: Sequence[str], per_chat: int) -> None:
    with app.db.session() as session:
        for at, query in enumerate(queries):
            subscribers.add(session, 900_000 + at // per_chat, "query", query)
    app.filters.refresh(app.db)


def time_match(match: Callable[[Story], MatchResult], stories: Sequence[Story]) -> float:
    started = time.perf_counter()
    for story in stories:
        match(story)
    return time.perf_counter() - started


def best_of(rounds: int, *runs: Callable[[], float]) -> list[float]:
    """Each run's best time; runs alternate, so that load from other processes hits all alike."""
    best = [float("inf")] * len(runs)
    for _ in range(rounds):
        for at, run in enumerate(runs):
            best[at] = min(best[at], run())
    return best


def time_ingest(
    raws: Sequence[RawStory], queries: Sequence[str], per_chat: int
) -> tuple[float, int]:
    """One ingest into a fresh database; the chats follow their queries and nothing else."""
    with tempfile.TemporaryDirectory() as folder:
        app = new_app(Path(folder))
        if queries:
            watch(app, queries, per_chat)
        started = time.perf_counter()
        report = ingest(app.db, app.filters, raws, FETCHED_AT)
        seconds = time.perf_counter() - started
        app.db.engine.dispose()
    return seconds, report.queued


def run(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(SEED)
    pool = sentences()
    raws = make_stories(args.stories, pool, rng)
    stories = [normalise(r, fetched_at=FETCHED_AT) for r in raws]
    total = args.chats * args.per_chat
    with tempfile.TemporaryDirectory() as folder:
        app = new_app(Path(folder))
        queries = make_queries(total, pool, app.watchlist, rng)
        base = FilterBook(app.watchlist, app.matcher, max_query_length=1000)
        watch(app, queries, args.per_chat)
        book = app.filters
        matcher = book.matcher
        every = time_match(lambda s: matcher.match(s, book.queries), stories)
        baseline, indexed = best_of(
            5, lambda: time_match(base.match, stories), lambda: time_match(book.match, stories)
        )
        same = all(matcher.match(s, book.queries).queries == book.match(s).queries for s in stories)
        holding = sum(len(book.match(s).queries) for s in stories)
        evaluated = sum(len(book.index.candidates(matcher.evidence(s)[0].names)) for s in stories)
        always = len(book.index.always)
        app.db.engine.dispose()
    queued = [0, 0]  # outbox rows written, without and with the queries

    def ingest_run(at: int, watched: Sequence[str]) -> float:
        seconds, queued[at] = time_ingest(raws, watched, args.per_chat)
        return seconds

    ingest_base, ingest_queries = best_of(
        2, lambda: ingest_run(0, []), lambda: ingest_run(1, queries)
    )
    return {
        "stories": len(stories),
        "queries": len(queries),
        "always_evaluated": always,
        "query_matches": holding,
        "evaluated_per_story": round(evaluated / len(stories), 1),
        "same_verdicts": same,
        "match_s_no_queries": round(baseline, 3),
        "match_s_every_query": round(every, 3),
        "match_s_indexed": round(indexed, 3),
        "match_ratio_every": round(every / baseline, 2),
        "match_ratio_indexed": round(indexed / baseline, 2),
        "ingest_s_no_queries": round(ingest_base, 3),
        "ingest_s_indexed": round(ingest_queries, 3),
        "ingest_ratio_indexed": round(ingest_queries / ingest_base, 2),
        "queued_no_queries": queued[0],
        "queued_with_queries": queued[1],
    }


def render(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"{r['stories']} stories, {r['queries']} queries "
            f"({r['always_evaluated']} with no necessary phrase, always evaluated); "
            f"{r['query_matches']} query matches; {r['evaluated_per_story']} queries evaluated"
            f" per story; indexed == every query: {r['same_verdicts']}",
            f"filter only: no queries {r['match_s_no_queries']:.3f} s, every query "
            f"{r['match_s_every_query']:.3f} s ({r['match_ratio_every']}x), indexed "
            f"{r['match_s_indexed']:.3f} s ({r['match_ratio_indexed']}x; target <= 2x)",
            f"ingest (poll without HTTP): no queries {r['ingest_s_no_queries']:.3f} s, "
            f"with queries, indexed {r['ingest_s_indexed']:.3f} s "
            f"({r['ingest_ratio_indexed']}x; target <= 2x); outbox rows "
            f"{r['queued_no_queries']} -> {r['queued_with_queries']}",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=500)
    parser.add_argument("--per-chat", type=int, default=10, help="queries per chat")
    parser.add_argument("--stories", type=int, default=1000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    result = run(args)
    print(json.dumps(result) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
