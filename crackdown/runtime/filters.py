"""The filter as the daemon uses it: the watchlist's matcher plus every subscriber query.

Subscribers' /watch queries may name phrases that are not watchlist terms
("P2P desk"); the matcher's automaton must contain them. `FilterBook`
rebuilds the matcher when the set of watched queries changes (checked once
per poll cycle: one small query) and keeps the queries compiled and indexed
(`crawler.queryindex`), so a story is scanned once and only the queries it
can satisfy are evaluated on that scan.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crawler.learned import LearnedVeto
from crawler.matcher import Matcher
from crawler.queryindex import QueryIndex
from crawler.rules import Rule, RuleError
from crawler.types import MatchResult, Story
from crawler.watchlist import Watchlist

if TYPE_CHECKING:
    from storage.db import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class FilterSpec:
    """What a FilterBook is made of: enough to build the same one in another process.

    A parse worker matches with a copy built from the spec the poller had
    when the worker started (`FilterBook.from_spec`). Every change to the
    book makes a new spec object, so `is` tells whether a copy is current.
    """

    watchlist: Watchlist
    base_phrases: frozenset[str]  # the base matcher's (`Matcher(watchlist, phrases=...)`)
    queries: tuple[str, ...]
    max_query_length: int
    # the default topic, when the poller's learned veto is on (its weights fit the watchlist)
    veto_topic: str | None = None


class FilterBook:
    """The current matcher and compiled subscriber queries; `refresh` picks up changes.

    `veto` (crawler.learned) may drop the default topic from a story the rule
    matched; it runs after the rule, on matched stories only.
    """

    def __init__(
        self,
        watchlist: Watchlist,
        matcher: Matcher,
        max_query_length: int,
        veto: LearnedVeto | None = None,
    ) -> None:
        self.watchlist = watchlist
        self.base = matcher
        self.matcher = matcher
        self.veto = veto
        self.queries: dict[str, Rule] = {}
        self.index = QueryIndex({})
        self.max_query_length = max_query_length
        self.spec = self._spec(())

    @classmethod
    def from_spec(cls, spec: FilterSpec) -> FilterBook:
        """A book that matches as the one `spec` was taken from (in a parse worker)."""
        base = Matcher(spec.watchlist, phrases=spec.base_phrases)
        veto = None
        if spec.veto_topic is not None:
            veto = LearnedVeto.for_matcher(base, spec.veto_topic)
        book = cls(spec.watchlist, base, spec.max_query_length, veto)
        book._install(spec.queries)
        book.spec = spec
        return book

    def match(self, story: Story) -> MatchResult:
        """The watchlist's verdict on a story (after the learned veto), plus which watched
        queries hold."""
        if self.veto is None:
            return self.matcher.match(story, self.index)
        result, evidence = self.matcher.match_with_evidence(story, self.index)
        return self.veto.apply(self.matcher, story, result, evidence)

    def rebase(
        self,
        watchlist: Watchlist,
        matcher: Matcher,
        max_query_length: int,
        veto: LearnedVeto | None = None,
    ) -> None:
        """Switch to a reloaded watchlist; the next `refresh` recompiles every query on it."""
        self.watchlist, self.base, self.matcher = watchlist, matcher, matcher
        self.veto = veto
        self.max_query_length = max_query_length
        self.queries, self.index = {}, QueryIndex({})
        self.spec = self._spec(())

    def _spec(self, queries: tuple[str, ...]) -> FilterSpec:
        topic = self.veto.topic if self.veto is not None else None
        return FilterSpec(self.watchlist, self.base.phrases, queries, self.max_query_length, topic)

    def refresh(self, db: Database) -> bool:
        """Reload the watched queries; rebuild the matcher if their phrases changed."""
        from storage import subscribers  # here: a parse worker builds a book and never refreshes

        with db.session() as session:
            wanted = subscribers.watched_queries(session)
        if set(wanted) == set(self.queries):
            return False
        self._install(wanted)
        return True

    def _install(self, wanted: Iterable[str]) -> None:
        """Compile the watched queries; a new automaton if their phrases need one."""
        wanted = tuple(wanted)
        compiled: dict[str, Rule] = {}
        for query in wanted:
            try:
                compiled[query] = self.base.compile(
                    query, bare_words_are_phrases=True, max_length=self.max_query_length
                )
            except RuleError as exc:  # stored before a limit changed, or a parser change
                log.warning("ignoring watched query %r: %s", query, exc)
        phrases = frozenset().union(*(rule.phrases for rule in compiled.values()))
        if phrases != self.matcher.phrases - self.base.phrases:  # a new automaton is needed
            self.matcher = Matcher(self.watchlist, phrases=phrases) if phrases else self.base
        self.queries = compiled
        self.index = QueryIndex(compiled, common=self.matcher.categories)
        self.spec = self._spec(wanted)
        log.info("filter: %d watched queries, %d phrases", len(compiled), len(phrases))
