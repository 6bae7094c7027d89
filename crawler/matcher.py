"""The filter: find watchlist entities and phrases in a story, decide its topics.

One Aho-Corasick automaton (ahocorasick_rs, Rust) holds every alias of every
entity and every phrase that a topic rule or a subscriber query uses. It
replaced pyahocorasick: with ~2,400 aliases and 10,000 phrases the root has
400+ children, which pyahocorasick scans linearly (29 MB/s for the walk
alone); the Rust automaton returns all overlapping matches in one call at
90-120 MB/s (bench/filter.py). Text is
folded first (`crawler.fold`: NFKC, case-fold, traditional -> simplified)
and hit offsets are mapped back to the original text.

Rules for a hit to count:
- Latin aliases need an ASCII letter/digit boundary on both sides (`\\b`
  would treat CJK characters as word characters and miss 在OTC市场); CJK
  aliases match as substrings.
- Acronyms that are ordinary words in lower case ("SAFE", "CAC") must
  appear exactly as written.
- Where entity hits overlap, the longest wins: "上海证券交易所" is a stock
  exchange, not the crypto `exchange` inside it.

Pure: `(watchlist, phrases, story) -> MatchResult`, no I/O.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import ahocorasick_rs

from crawler.fold import Folded, fold, fold_with_offsets
from crawler.rules import Rule, RuleError, compile_rule, phrase_key
from crawler.snippets import Snippet, make_snippet
from crawler.types import Hit, MatchResult, Story
from crawler.watchlist import Watchlist, WatchlistError

FIELDS = ("title", "summary", "body")
FIELD_WEIGHTS = {"title": 3.0, "summary": 1.5, "body": 1.0}
_TOKENS = re.compile(r"[a-z0-9]+|[\u3400-\u9fff\uf900-\ufaff]")


class _Term(NamedTuple):
    """What one pattern means; a pattern may mean several (alias and acronym)."""

    key: str  # entity key, or a phrase key ('"..."')
    is_phrase: bool
    exact: str | None = None  # acronyms: the NFKC form the original must equal


class _Pattern(NamedTuple):
    """A folded pattern's boundary needs (shared by all its terms) and its terms."""

    left_boundary: bool
    right_boundary: bool
    terms: tuple[_Term, ...]


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _is_word_char(char: str) -> bool:
    return char in _WORD_CHARS


@dataclass
class _FieldScan:
    folded: Folded
    entity_hits: list[tuple[int, int, str]]  # folded start, end, key
    phrase_hits: list[tuple[int, int, str]]
    _token_starts: list[int] | None = None

    def token_index(self, offset: int) -> int:
        if self._token_starts is None:
            self._token_starts = [m.start() for m in _TOKENS.finditer(self.folded.text)]
        return max(0, bisect.bisect_right(self._token_starts, offset) - 1)


@dataclass
class _Evidence:
    """Names present in a story; hit positions are worked out only if NEAR asks."""

    names: set[str]
    scans: dict[str, _FieldScan] = field(default_factory=dict)
    expand: dict[str, tuple[str, ...]] = field(default_factory=dict)  # key -> keys and categories
    _positions: dict[str, list[tuple[str, int, int]]] | None = None

    def has(self, name: str) -> bool:
        return name in self.names

    def positions(self, name: str) -> list[tuple[str, int, int]]:
        if self._positions is None:
            self._positions = {}
            for field_name, scan in self.scans.items():
                for start, end, key in scan.entity_hits:
                    for present in self.expand[key]:
                        self._positions.setdefault(present, []).append((field_name, start, end))
                for start, end, key in scan.phrase_hits:
                    self._positions.setdefault(key, []).append((field_name, start, end))
        return self._positions.get(name, [])

    def near(self, left: str, right: str, distance: int) -> bool:
        for field_a, a_start, a_end in self.positions(left):
            scan = self.scans[field_a]
            for field_b, b_start, b_end in self.positions(right):
                if field_b != field_a:
                    continue
                if a_start <= b_start:
                    gap = scan.token_index(b_start) - scan.token_index(max(a_start, a_end - 1))
                else:
                    gap = scan.token_index(a_start) - scan.token_index(max(b_start, b_end - 1))
                if gap <= distance:
                    return True
        return False


_Span = tuple[int, int, str, bool]  # start, end, key, matched in exact form


def _resolve_cluster(hits: list[_Span]) -> list[tuple[int, int, str]]:
    exact_spans = {(start, end) for start, end, _, exact in hits if exact}
    kept: list[tuple[int, int, str]] = []
    for start, end, key, exact in sorted(hits, key=lambda h: (h[0] - h[1], h[0])):
        if (start, end) in exact_spans and not exact:
            continue
        if all(end <= k0 or start >= k1 or (start, end) == (k0, k1) for k0, k1, _ in kept):
            kept.append((start, end, key))
    return kept


def _resolve_overlaps(hits: list[_Span]) -> list[tuple[int, int, str]]:
    """Keep the longest of overlapping hits.

    On an identical span an exact-form hit (an acronym, a script-specific
    name such as traditional 證監會) beats hits that matched only after
    folding; otherwise identical spans all stay. Hits are swept in order of
    start and only clusters that really overlap get the greedy treatment, so
    the common case (no overlaps) is linear.
    """
    hits = sorted(hits)
    if all(hits[i][1] <= hits[i + 1][0] for i in range(len(hits) - 1)):
        return [(start, end, key) for start, end, key, _ in hits]  # nothing overlaps
    resolved: list[tuple[int, int, str]] = []
    cluster: list[_Span] = []
    cluster_end = -1
    for hit in hits:
        if cluster and hit[0] >= cluster_end:
            resolved.extend(_resolve_cluster(cluster) if len(cluster) > 1 else [cluster[0][:3]])
            cluster = []
        cluster.append(hit)
        cluster_end = max(cluster_end, hit[1]) if len(cluster) > 1 else hit[1]
    if cluster:
        resolved.extend(_resolve_cluster(cluster) if len(cluster) > 1 else [cluster[0][:3]])
    resolved.sort()
    return resolved


class Matcher:
    """A compiled watchlist plus phrases; build once, call `match` per story."""

    def __init__(self, watchlist: Watchlist, phrases: Iterable[str] = ()) -> None:
        self.watchlist = watchlist
        self._entities = {e.key: e for e in watchlist.entities}
        self._implied = {e.key: self._closure(e.key) for e in watchlist.entities}
        # For each key found: every name it makes true (implied keys and their categories).
        self._expand = {
            key: tuple(dict.fromkeys(n for k in keys for n in (k, self._entities[k].category)))
            for key, keys in self._implied.items()
        }
        self._reported_of = {
            key: tuple(k for k in keys if self._entities[k].report)
            for key, keys in self._implied.items()
        }
        self._names = watchlist.names()
        self._topics: list[tuple[str, Rule]] = []
        for topic in watchlist.topics:
            try:
                self._topics.append((topic.key, self.compile(topic.rule)))
            except RuleError as exc:
                raise WatchlistError(f"topic {topic.key!r}: {exc}") from exc
        wanted = {fold(p).strip() for p in phrases} | {
            p for _, rule in self._topics for p in rule.phrases
        }
        self.phrases = frozenset(p for p in wanted if p)
        self._patterns, self._terms, self._automaton = self._build()

    def _closure(self, key: str) -> tuple[str, ...]:
        """The key and everything it implies, transitively, in order."""
        seen = [key]
        for current in seen:
            seen.extend(k for k in self._entities[current].implies if k not in seen)
        return tuple(seen)

    def _build(
        self,
    ) -> tuple[list[str], list[_Pattern], ahocorasick_rs.AhoCorasick | None]:
        terms: dict[str, list[_Term]] = defaultdict(list)
        for entity in self.watchlist.entities:
            for alias in entity.aliases:
                folded = fold(alias).strip()
                if folded:
                    terms[folded].append(_Term(entity.key, False))
            for acronym in entity.acronyms:
                folded = fold(acronym).strip()
                exact = unicodedata.normalize("NFKC", acronym).strip()
                if folded:
                    terms[folded].append(_Term(entity.key, False, exact))
        for phrase in self.phrases:
            terms[phrase].append(_Term(phrase_key(phrase), True))
        patterns = list(terms)
        payloads = [
            _Pattern(
                _is_word_char(pattern[0]),
                _is_word_char(pattern[-1]),
                tuple(dict.fromkeys(terms[pattern])),
            )
            for pattern in patterns
        ]
        if not patterns:
            return patterns, payloads, None
        automaton = ahocorasick_rs.AhoCorasick(
            patterns,
            matchkind=ahocorasick_rs.MatchKind.Standard,
        )
        return patterns, payloads, automaton

    def compile(
        self, query: str, *, bare_words_are_phrases: bool = False, max_length: int = 1000
    ) -> Rule:
        """Compile a rule or subscriber query in this matcher's normal form."""
        return compile_rule(
            query,
            self._names,
            fold=fold,
            bare_words_are_phrases=bare_words_are_phrases,
            max_length=max_length,
        )

    def _scan(self, text: str) -> _FieldScan:
        folded = fold_with_offsets(text)
        entity_hits: list[_Span] = []
        phrase_hits: list[tuple[int, int, str]] = []
        if not text or self._automaton is None:
            return _FieldScan(folded, [], phrase_hits)
        haystack = folded.text
        size = len(haystack)
        payloads = self._terms
        word = _WORD_CHARS
        for index, start, end in self._automaton.find_matches_as_indexes(
            haystack, overlapping=True
        ):
            left, right, terms = payloads[index]
            if left and start > 0 and haystack[start - 1] in word:
                continue
            if right and end < size and haystack[end] in word:
                continue
            for key, is_phrase, exact in terms:
                if exact is not None:
                    original = text[folded.original(start) : folded.original(end)]
                    if unicodedata.normalize("NFKC", original) != exact:
                        continue
                if is_phrase:
                    phrase_hits.append((start, end, key))
                else:
                    entity_hits.append((start, end, key, exact is not None))
        return _FieldScan(folded, _resolve_overlaps(entity_hits), phrase_hits)

    def find(self, text: str, field: str = "text") -> list[Hit]:
        """Entity hits in `text` (reported and signal), offsets into the original."""
        scan = self._scan(text)
        return [
            self._hit(text, scan, start, end, key, field) for start, end, key in scan.entity_hits
        ]

    @staticmethod
    def _hit(text: str, scan: _FieldScan, start: int, end: int, key: str, field: str) -> Hit:
        o_start, o_end = scan.folded.original(start), scan.folded.original(end)
        return Hit(key, field, o_start, o_end, text[o_start:o_end])

    def evidence(self, story: Story) -> tuple[_Evidence, list[Hit]]:
        """Scan every field of a story; the hits of reported entities come back too."""
        evidence = _Evidence(names=set(), expand=self._expand)
        reported: list[Hit] = []
        for name in FIELDS:
            text = getattr(story, name)
            if not text:
                continue
            scan = self._scan(text)
            evidence.scans[name] = scan
            for start, end, found in scan.entity_hits:
                evidence.names.update(self._expand[found])
                for key in self._reported_of[found]:
                    reported.append(self._hit(text, scan, start, end, key, name))
            evidence.names.update(key for _, _, key in scan.phrase_hits)
        return evidence, reported

    def match(self, story: Story) -> MatchResult:
        """Entities, phrases and topics of a story, with a score and snippets."""
        evidence, hits = self.evidence(story)
        entities = tuple(dict.fromkeys(hit.entity for hit in hits))
        best: dict[str, float] = {}
        for hit in hits:
            best[hit.entity] = max(best.get(hit.entity, 0.0), FIELD_WEIGHTS[hit.field])
        return MatchResult(
            entities=entities,
            topics=tuple(key for key, rule in self._topics if rule(evidence)),
            hits=tuple(hits),
            score=round(sum(best.values()), 2),
            signals=tuple(sorted(n for n in evidence.names if n in self._entities)),
            phrases=tuple(sorted(n[1:-1] for n in evidence.names if n.startswith('"'))),
            snippets=tuple(self._snippets(story, hits)),
        )

    def matches(self, rule: Rule, story: Story) -> bool:
        """Does a compiled query (e.g. a subscriber's /watch) hold for this story?"""
        missing = rule.phrases - self.phrases
        if missing:
            raise ValueError(f"phrases not in this matcher: {sorted(missing)}")
        return rule(self.evidence(story)[0])

    @staticmethod
    def _snippets(story: Story, hits: list[Hit]) -> list[Snippet]:
        """One snippet per text field (summary, body) around its first reported hit."""
        snippets = []
        for name in ("summary", "body"):
            first = next((h for h in hits if h.field == name), None)
            if first is not None:
                snippets.append(make_snippet(getattr(story, name), first.start, first.end, name))
        return snippets
