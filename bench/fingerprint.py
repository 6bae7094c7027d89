"""Every decision of the filter, as one fingerprint: proof that a speed-up changed nothing.

Why: the matcher is tuned for speed (folding, the automaton, the scan and evidence
loops), and every such change must leave its decisions byte-identical. This runs the
built-in watchlist with the bench's 10,000 subscriber phrases and a fixed set of
random subscriber queries (names, phrases, AND/OR/NOT, NEAR/n, CLAUSE/n) over the
labelled corpora (`../shared/corpus` beside the repository or `$CRACKDOWN_CORPUS_DIR`,
when present), the probe files in tests/data/ and a slice of the bench's generated
corpus, and hashes every MatchResult field (topics, entities, hits with offsets, score, signals,
phrases, snippets, queries, actions, actors) and the learned veto's verdict on the default
topic (`crawler/learned.py`: probability and veto) per set. It also hashes what
`crawler.matcher.Matcher.find` returns and `crackdown eval`'s JSON per corpus.

Run from the repository root:

    python bench/fingerprint.py                # print the fingerprints (JSON)
    python bench/fingerprint.py --dump DIR     # also one JSON line per story, for diffing
    python bench/fingerprint.py --write        # store them in tests/data/ (after a change
                                               # that is meant to change decisions)

tests/crawler/test_fingerprint.py compares against the stored file. The stored file is
keyed by a hash of the vocabulary and rule sources (VOCABULARY_FILES): when those
change, the test skips and asks for `--write`, so editing the watchlist never blocks.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import random
import subprocess
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crawler.learned import LearnedVeto
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.queryindex import QueryIndex
from crawler.rules import RuleError
from crawler.types import RawStory, Story
from crawler.watchlist import Watchlist, builtin_watchlist

try:
    from bench.filter import MB, SEED, make_corpus, make_phrases
except ModuleNotFoundError:  # run as `python bench/fingerprint.py`: bench/ itself is on the path
    from filter import MB, SEED, make_corpus, make_phrases  # type: ignore[no-redef]

ROOT = Path(__file__).resolve().parent.parent
STORED = ROOT / "tests" / "data" / "matcher_fingerprint.json"
# the shared corpus beside the repository, as tests/app/test_filter_cli.py finds it
CORPUS_DIR = Path(os.environ.get("CRACKDOWN_CORPUS_DIR", ROOT.parent / "shared" / "corpus"))
CORPORA = ("dev.jsonl", "dev-2.jsonl")
# What decides the decisions apart from the matching machinery: a change here is meant
# to change them, so the stored fingerprints are only compared while these are unchanged.
VOCABULARY_FILES = (
    "crawler/data",
    "crawler/rules.py",
    "crawler/inflect.py",
    "crawler/watchlist.py",
    "crawler/types.py",  # MatchResult's fields
)
BENCH_MB = 2.0
QUERIES = 400
FETCHED_AT = datetime(2024, 6, 1, tzinfo=UTC)
TOPIC = "china-crypto-enforcement"  # the default topic, which the learned veto judges


def vocabulary_key() -> str:
    """A hash of the files that define the vocabulary and the rule language."""
    digest = hashlib.sha256()
    for name in VOCABULARY_FILES:
        path = ROOT / name
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(str(file.relative_to(ROOT)).encode())
                digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]


def _story(set_name: str, number: int, title: str, text: str) -> Story:
    raw = RawStory("fingerprint", f"https://fp.invalid/{set_name}/{number}", title, text)
    return normalise(raw, fetched_at=FETCHED_AT)


def story_sets(watchlist: Watchlist, phrases: Sequence[str]) -> dict[str, list[Story]]:
    """The labelled corpora, the probe files and a slice of the bench corpus."""
    sets: dict[str, list[Story]] = {}
    for name in CORPORA:
        path = CORPUS_DIR / name
        if path.exists():
            records = _read_jsonl(path)
            sets[name] = [
                _story(name, i, r.get("title") or "", r.get("text") or "")
                for i, r in enumerate(records)
            ]
    for path in sorted((ROOT / "tests" / "data").glob("*.jsonl")):
        records = [r for r in _read_jsonl(path) if "title" in r]
        if records:
            sets[path.name] = [
                _story(path.name, i, r.get("title") or "", r.get("text") or "")
                for i, r in enumerate(records)
            ]
    stories, _ = make_corpus(int(BENCH_MB * MB), watchlist, phrases, random.Random(SEED + 1))
    sets["bench"] = stories
    return sets


def make_queries(matcher: Matcher, phrases: Sequence[str], count: int) -> dict[str, Any]:
    """Random subscriber queries over the watchlist's names and the phrases (fixed seed)."""
    rng = random.Random(SEED + 2)
    names = sorted(e.key for e in matcher.watchlist.entities) + sorted(matcher.categories)
    quoted = [f'"{p}"' for p in phrases[:300]]

    def atom() -> str:
        return rng.choice(names) if rng.random() < 0.6 else rng.choice(quoted)

    def query() -> str:
        kind = rng.random()
        if kind < 0.3:
            op = rng.choice(("NEAR", "CLAUSE"))
            return f"{atom()} {op}/{rng.randint(1, 12)} {atom()}"
        if kind < 0.5:
            return f"{atom()} {atom()}"
        if kind < 0.7:
            return f"({atom()} OR {atom()}) NOT {atom()}"
        if kind < 0.85:
            return f"{atom()} OR {atom()} NEAR/{rng.randint(1, 8)} {atom()}"
        return atom()

    compiled = {}
    for number in range(count):
        text = query()
        try:
            compiled[f"q{number}:{text}"] = matcher.compile(text)
        except RuleError:
            continue
    return compiled


def result_line(
    story: Story, matcher: Matcher, index: QueryIndex, veto: LearnedVeto | None = None
) -> dict[str, Any]:
    result = matcher.match(story, index)
    line = dataclasses.asdict(result)
    line["matched"] = result.matched
    verdict = veto.judge(matcher, story, result) if veto is not None else None
    if verdict is not None:  # rounded: the sum's last bits are no decision
        line["learned"] = [round(verdict.probability, 6), verdict.vetoed]
    line["find"] = [
        dataclasses.asdict(hit)
        for name in ("title", "summary", "body")
        for hit in matcher.find(getattr(story, name), name)
    ]
    return line


def eval_json(path: Path) -> str:
    """`crackdown eval --json` on one corpus (the installed command, this checkout's code)."""
    done = subprocess.run(
        [sys.executable, "-m", "crackdown", "eval", "--json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return done.stdout


def fingerprints(dump: Path | None = None, with_eval: bool = True) -> dict[str, Any]:
    """{set name: sha256 of its per-story JSON lines}, plus the eval outputs' hashes."""
    watchlist = builtin_watchlist()
    phrases = make_phrases(10_000, random.Random(SEED))
    matcher = Matcher(watchlist, phrases)
    index = QueryIndex(make_queries(matcher, phrases, QUERIES), common=matcher.categories)
    veto = LearnedVeto.for_matcher(matcher, TOPIC)
    found: dict[str, Any] = {"vocabulary": vocabulary_key(), "queries": len(index), "sets": {}}
    for name, stories in story_sets(watchlist, phrases).items():
        digest = hashlib.sha256()
        lines = _lines(stories, matcher, index, veto)
        out = (dump / f"{name}.results.jsonl").open("w") if dump else None
        for line in lines:
            digest.update(line.encode())
            if out is not None:
                out.write(line)
        if out is not None:
            out.close()
        found["sets"][name] = {"stories": len(stories), "sha256": digest.hexdigest()[:32]}
    if with_eval:
        for name in CORPORA:
            path = CORPUS_DIR / name
            if path.exists():
                text = eval_json(path)
                if dump:
                    (dump / f"{name}.eval.json").write_text(text)
                found["sets"][f"eval {name}"] = hashlib.sha256(text.encode()).hexdigest()[:32]
    return found


def _lines(
    stories: Sequence[Story], matcher: Matcher, index: QueryIndex, veto: LearnedVeto | None
) -> Iterator[str]:
    for story in stories:
        line = result_line(story, matcher, index, veto)
        yield json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dump", type=Path, help="write each set's results here, for diffing")
    parser.add_argument("--write", action="store_true", help=f"store the result in {STORED}")
    parser.add_argument("--no-eval", action="store_true", help="skip `crackdown eval`")
    args = parser.parse_args(argv)
    if args.dump:
        args.dump.mkdir(parents=True, exist_ok=True)
    found = fingerprints(args.dump, with_eval=not args.no_eval)
    text = json.dumps(found, indent=2, sort_keys=True)
    print(text)
    if args.write:
        STORED.write_text(text + "\n")
        print(f"stored in {STORED.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
