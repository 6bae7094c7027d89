"""Session 15's cheaper matcher decides as before.

The topic rule is evaluated by crawler.matcher._Test over the rule's tree (`Rule.plan`)
instead of the rule's closures (`Rule.test`, the reference): both must give the same
verdict on every story's evidence, for the topic rule and for queries that use every
operator of the rule language.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from pathlib import Path

from bench.filter import MB, SEED, make_corpus, make_phrases
from crawler.matcher import Matcher, _Test
from crawler.normalize import normalise
from crawler.rules import ALL, ANY, HAS, NEAR, NOT
from crawler.types import RawStory, Story
from crawler.watchlist import builtin_watchlist

DATA = Path(__file__).resolve().parents[1] / "data"
QUERIES = [
    "bitcoin",
    "crypto AND NOT exchange",
    "NOT crypto",
    "(crypto OR exchange) AND action",
    "enforcer CLAUSE/3 action OR china NEAR/1 enforcer",
    '"mining farm" OR "挖矿" OR binance',
    "NOT (foreign AND NOT china) AND crypto",
    "genre:explainer AND NOT genre:specific",
    "lead:action OR opening:action",
    "crypto NEAR/5 action AND NOT (taiwan OR macau)",
    "police CLAUSE/2 arrest OR 警方 NEAR/3 抓获",
]


def _stories() -> list[Story]:
    fetched = datetime(2024, 6, 1, tzinfo=UTC)
    stories = []
    for path in sorted(DATA.glob("*.jsonl")):
        for line in path.read_text("utf-8").splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            title = str(item.get("title", ""))
            text = str(item.get("text", item.get("summary", "")))
            raw = RawStory("s", "https://x.example/1", title, text)
            stories.append(normalise(raw, fetched_at=fetched))
    rng = random.Random(SEED)
    phrases = make_phrases(1000, rng)
    bench, _ = make_corpus(int(0.2 * MB), builtin_watchlist(), phrases, rng)
    return stories + bench


def test_a_plan_has_each_kind_of_node() -> None:
    matcher = Matcher(builtin_watchlist())
    rule = matcher.compile("(a OR b) AND NOT c NEAR/2 d", bare_words_are_phrases=True)
    left, right = rule.plan[1]
    assert left[0] == ANY and [p[0] for p in left[1]] == [HAS, HAS]
    assert right[0] == NOT and right[1][0] == NEAR and right[1][3:] == (2, False)
    assert rule.plan[0] == ALL


def test_the_topic_rule_and_queries_decide_as_their_closures() -> None:
    matcher = Matcher(builtin_watchlist())
    rules = [rule for _, rule in matcher._topics]
    rules += [matcher.compile(q, bare_words_are_phrases=True) for q in QUERIES]
    missing = set().union(*(rule.phrases for rule in rules)) - matcher.phrases
    matcher = Matcher(builtin_watchlist(), phrases=missing)  # the queries' phrases scanned
    rules = [rule for _, rule in matcher._topics]
    rules += [matcher.compile(q, bare_words_are_phrases=True) for q in QUERIES]
    tests = [_Test(rule.plan) for rule in rules]
    stories = _stories()
    assert len(stories) > 1000
    held = [0] * len(rules)
    for story in stories:
        _, evidence = matcher.match_with_evidence(story)
        _, again = matcher.match_with_evidence(story)  # fresh: genre read in another order
        for index, (rule, test) in enumerate(zip(rules, tests, strict=True)):
            verdict = test.holds(evidence)
            assert verdict == rule(again), (rule.source, story.title)
            held[index] += verdict
    assert all(0 < count < len(stories) for count in held), held  # each rule splits them
