"""The filter: find watchlist entities in a story and decide its topics.

One Aho-Corasick automaton holds every alias of every entity. Text is
normalised (NFKC, case-fold) before matching and hit offsets are mapped back
to the original text. Latin aliases must stand as whole words (ASCII letter
and digit boundaries; `\\b` would treat CJK characters as word characters);
CJK aliases match anywhere. Pure: `(watchlist, story) -> MatchResult`.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import ahocorasick

from crawler.rules import Predicate, RuleError, compile_rule
from crawler.types import Hit, MatchResult, Story
from crawler.watchlist import Watchlist, WatchlistError

FIELDS = ("title", "summary", "body")


@dataclass(frozen=True)
class _Term:
    entity: str
    alias: str
    whole_word: bool


def fold(text: str) -> str:
    """The normal form both aliases and stories are matched in."""
    return unicodedata.normalize("NFKC", text).casefold()


def _fold_with_offsets(text: str) -> tuple[str, list[int] | None]:
    """Fold `text`; when lengths change, also return folded->original offsets."""
    folded = fold(text)
    if len(folded) == len(text):
        return folded, None
    pieces: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        piece = fold(char)
        pieces.append(piece)
        offsets.extend([index] * len(piece))
    offsets.append(len(text))
    return "".join(pieces), offsets


def _is_word_char(char: str) -> bool:
    return char.isascii() and char.isalnum()


def _needs_boundaries(alias: str) -> bool:
    return any(_is_word_char(c) for c in alias)


class Matcher:
    """Compiled watchlist; build once, call `match` for every story."""

    def __init__(self, watchlist: Watchlist) -> None:
        self.watchlist = watchlist
        self._categories = {e.key: e.category for e in watchlist.entities}
        self._automaton = ahocorasick.Automaton()
        for entity in watchlist.entities:
            for alias in entity.aliases:
                folded = fold(alias).strip()
                if not folded:
                    continue
                term = _Term(entity.key, alias, _needs_boundaries(folded))
                if folded in self._automaton:
                    existing: list[_Term] = self._automaton.get(folded)
                    existing.append(term)
                else:
                    self._automaton.add_word(folded, [term])
        if len(self._automaton):
            self._automaton.make_automaton()
        names = set(self._categories) | set(self._categories.values())
        self._topics: list[tuple[str, Predicate]] = []
        for topic in watchlist.topics:
            try:
                self._topics.append((topic.key, compile_rule(topic.rule, names)))
            except RuleError as exc:
                raise WatchlistError(f"topic {topic.key!r}: {exc}") from exc

    def find(self, text: str, field: str = "text") -> list[Hit]:
        """All entity hits in `text`, offsets into the original string."""
        if not text or not len(self._automaton):
            return []
        folded, offsets = _fold_with_offsets(text)
        hits: list[Hit] = []
        for end, terms in self._automaton.iter(folded):
            for term in terms:
                length = len(fold(term.alias).strip())
                start = end - length + 1
                if term.whole_word and (
                    (start > 0 and _is_word_char(folded[start - 1]))
                    or (end + 1 < len(folded) and _is_word_char(folded[end + 1]))
                ):
                    continue
                o_start, o_end = (
                    (start, end + 1)
                    if offsets is None
                    else (
                        offsets[start],
                        offsets[end + 1],
                    )
                )
                hits.append(Hit(term.entity, field, o_start, o_end, text[o_start:o_end]))
        return hits

    def match(self, story: Story) -> MatchResult:
        """Entities found in title, summary and body, and the topics they satisfy."""
        hits = [hit for name in FIELDS for hit in self.find(getattr(story, name), name)]
        entities = tuple(dict.fromkeys(hit.entity for hit in hits))
        present = set(entities) | {self._categories[e] for e in entities}
        topics = tuple(key for key, predicate in self._topics if predicate(present))
        title_bonus = sum(1 for hit in hits if hit.field == "title")
        return MatchResult(
            entities=entities,
            topics=topics,
            hits=tuple(hits),
            score=float(len(entities) + 0.5 * title_bonus),
        )
