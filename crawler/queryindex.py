"""Evaluate a subscriber query only on stories that can satisfy it.

With 500 chats x 10 /watch queries, evaluating every query on every story
made a 1,000-story poll 40x slower, though almost no query can hold for a
given story. Each query has `Needs` (crawler.rules): names a story must
contain for it to hold. From them comes a *necessary set*, names of which
at least one must be present:

- a name: itself;
- AND: any one child's set, the cheapest: a phrase is rarer than an entity,
  and an entity far rarer than a watchlist category (in most matched stories);
- OR: the union of the children's sets;
- NOT: nothing (a query such as `NOT price` has no set and is always run).

The automaton scan already lists the names present in a story; a query is
run only when one of its necessary names is among them. The verdicts are
those of running every query (tests/crawler/test_queryindex.py checks it).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from crawler.rules import Evidence, Needs, Rule

COMMON_NAME_COST = 100.0  # a category: present in most matched stories
ENTITY_COST = 2.0  # an entity key: named by more stories than a subscriber's phrase
PHRASE_COST = 1.0  # a phrase key ('"..."')


def _cost(names: frozenset[str], common: Collection[str]) -> float:
    return sum(
        COMMON_NAME_COST if n in common else PHRASE_COST if n.startswith('"') else ENTITY_COST
        for n in names
    )


def necessary_names(needs: Needs | None, common: Collection[str] = ()) -> frozenset[str] | None:
    """Names of which a story must contain one for the rule to hold; None if there are none."""
    if needs is None:
        return None
    if needs.op == "name":
        return frozenset((needs.name,))
    sets = [necessary_names(part, common) for part in needs.parts]
    if needs.op == "any":
        if any(s is None for s in sets):
            return None
        return frozenset().union(*(s for s in sets if s is not None))
    known = [s for s in sets if s is not None]  # "all": any one part will do
    if not known:
        return None
    return min(known, key=lambda s: _cost(s, common))


class QueryIndex:
    """Compiled queries, indexed by their necessary names."""

    def __init__(self, queries: Mapping[str, Rule], common: Collection[str] = ()) -> None:
        self.rules: list[tuple[str, Rule]] = list(queries.items())
        self.always: list[int] = []  # positions of queries with no necessary name
        self.by_name: dict[str, list[int]] = {}
        for position, (_, rule) in enumerate(self.rules):
            names = necessary_names(rule.needs, common)
            if names is None:
                self.always.append(position)
                continue
            for name in names:
                self.by_name.setdefault(name, []).append(position)
        self._names = frozenset(self.by_name)

    def __len__(self) -> int:
        return len(self.rules)

    def keyed_on_any(self, names: Collection[str]) -> bool:
        """Is some query indexed by one of `names`? (If not, `candidates` needs none of
        them in `present`.)"""
        return not self._names.isdisjoint(names)

    def candidates(self, present: Iterable[str]) -> list[int]:
        """Positions of the queries worth evaluating on a story with the names `present`."""
        found = set(self.always)
        for name in self._names.intersection(present):
            found.update(self.by_name[name])
        return sorted(found)

    def holding(self, evidence: Evidence, present: Iterable[str]) -> list[str]:
        """The queries that hold, in the order given; `present`: the story's names."""
        rules = self.rules
        return [rules[p][0] for p in self.candidates(present) if rules[p][1](evidence)]
