"""The query index gives the verdicts of evaluating every query, and skips most of them."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from bench.queries import make_queries, make_stories, sentences
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.queryindex import QueryIndex, necessary_names
from crawler.rules import Rule
from crawler.watchlist import builtin_watchlist

WATCHLIST = builtin_watchlist()
BASE = Matcher(WATCHLIST)
TRICKY = [
    'NOT "price"',
    'binance OR NOT "cold wallet"',
    '(binance OR NOT "cold wallet") AND pboc',
    'NOT (binance AND "cold wallet")',
    "exchange",
    'exchange AND "cold wallet"',
    '"cold wallet" NEAR/5 binance',
    'pboc CLAUSE/8 "ban"',
    "binance huobi okx",
    '(pboc OR csrc) AND (binance OR "otc desk")',
    "NOT NOT binance",
]


def compile_all(queries: list[str]) -> tuple[Matcher, dict[str, Rule]]:
    rules = {q: BASE.compile(q, bare_words_are_phrases=True) for q in queries}
    phrases = frozenset().union(*(r.phrases for r in rules.values()))
    return Matcher(WATCHLIST, phrases=phrases), rules


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("binance", {"binance"}),
        ('binance AND "cold wallet"', {'"cold wallet"'}),  # a phrase is rarer than an entity
        ('binance AND ("a b" OR "c d" OR "e f")', {"binance"}),
        ('exchange AND "cold wallet"', {'"cold wallet"'}),  # a category is not
        ("binance OR huobi", {"binance", "huobi"}),
        ('NOT "price"', None),
        ('binance OR NOT "price"', None),
        ('binance AND NOT "price"', {"binance"}),
        ('"cold wallet" NEAR/5 exchange', {'"cold wallet"'}),
    ],
)
def test_necessary_names(query: str, expected: set[str] | None) -> None:
    rule = BASE.compile(query, bare_words_are_phrases=True)
    found = necessary_names(rule.needs, WATCHLIST.categories)
    assert (set(found) if found is not None else None) == expected


def test_indexed_evaluation_names_the_same_queries_as_evaluating_every_query() -> None:
    rng = random.Random(16)
    pool = sentences()
    raws = make_stories(400, pool, rng)
    stories = [normalise(r, fetched_at=datetime(2026, 1, 1, tzinfo=UTC)) for r in raws]
    queries = TRICKY + make_queries(2000, pool, WATCHLIST, rng)
    matcher, rules = compile_all(queries)
    index = QueryIndex(rules, common=matcher.categories)
    assert len(index.always) >= 4  # the NOT-only ones, and OR with a NOT
    evaluated = 0
    holding = 0
    for story in stories:
        every = matcher.match(story, rules).queries
        indexed = matcher.match(story, index).queries
        assert indexed == every, story.title
        holding += len(every)
        evaluated += len(index.candidates(matcher.evidence(story)[0].names))
    assert holding > 100  # the comparison is not vacuous
    assert evaluated < 0.2 * len(stories) * len(queries)  # most queries were skipped
