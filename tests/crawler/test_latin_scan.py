"""The two automata of `Matcher._scan` (Latin patterns with their word boundaries built
in, and the non-ASCII ones) find what one automaton of every pattern finds with its
boundaries checked one hit at a time, as the scan did before.

Compared on text made to be hard: pattern pieces glued to word characters and to
Chinese, split by every kind of separator, at the text's ends, and patterns that
differ only in punctuation ("hong kong" / "hong-kong", "u.s." / "us", "$btc" / "btc").
"""

from __future__ import annotations

import random
import unicodedata

import ahocorasick_rs
import pytest

from crawler.fold import fold_with_offsets
from crawler.matcher import Matcher, _FieldScan, _resolve_overlaps
from crawler.watchlist import builtin_watchlist

PHRASES = ("hong-kong", "u.s.", ".net fund", "$btc", "a-share", "o'neil", "p2p", "ab", "otc市场")
SEPARATORS = (" ", "  ", "-", ".", ",", "'", "/", "$", "_", "\n", "(", "#", "", "", "x", "9")
WIDE_SEPARATORS = ("在", "，", "。", "é", "’", "—", "市场")
ROUNDS = 3000
WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(builtin_watchlist(), PHRASES)


@pytest.fixture(scope="module")
def every_pattern(matcher: Matcher) -> ahocorasick_rs.AhoCorasick:
    return ahocorasick_rs.AhoCorasick(
        matcher._patterns, matchkind=ahocorasick_rs.MatchKind.Standard
    )


def _reference(matcher: Matcher, automaton: ahocorasick_rs.AhoCorasick, text: str) -> _FieldScan:
    """The scan before the Latin automaton: every pattern, boundaries checked per hit."""
    folded = fold_with_offsets(text)
    haystack, size = folded.text, len(folded.text)
    entities: list[tuple[int, int, str]] = []
    phrases: list[tuple[int, int, str]] = []
    exact_spans: dict[tuple[int, int], set[str]] = {}
    for index, start, end in automaton.find_matches_as_indexes(haystack, True):
        left, right, *_ = matcher._scan_payloads[index]
        if left and start and haystack[start - 1] in WORD:
            continue
        if right and end < size and haystack[end] in WORD:
            continue
        _, _, _, _, keys, exacts, phrase_keys = matcher._terms[index]
        phrases.extend((start, end, key) for key in phrase_keys)
        written = unicodedata.normalize("NFKC", text[folded.original(start) : folded.original(end)])
        for key, exact in exacts:
            if written == exact:
                entities.append((start, end, key))
                exact_spans.setdefault((start, end), set()).add(key)
        entities.extend((start, end, key) for key in keys)
    return _FieldScan(folded, _resolve_overlaps(entities, exact_spans, matcher._nesting), phrases)


def _check(matcher: Matcher, automaton: ahocorasick_rs.AhoCorasick, text: str) -> None:
    found, expected = matcher._scan(text), _reference(matcher, automaton, text)
    assert found.entity_hits == expected.entity_hits, text
    assert sorted(found.phrase_hits) == sorted(expected.phrase_hits), text


def test_two_automata_find_what_one_finds(
    matcher: Matcher, every_pattern: ahocorasick_rs.AhoCorasick
) -> None:
    assert matcher._latin is not None  # the Latin automaton is in use
    rng = random.Random(7)
    for _ in range(ROUNDS):
        pieces = []
        wide = rng.random() < 0.4
        for _ in range(rng.randint(1, 6)):
            pattern = rng.choice(matcher._patterns)
            if rng.random() < 0.3:  # a piece of a pattern
                cut = rng.randint(0, len(pattern) - 1)
                pattern = pattern[cut:] if rng.random() < 0.5 else pattern[: cut + 1]
            if rng.random() < 0.2:
                pattern = pattern.upper()
            pieces.append(pattern)
            pieces.append(rng.choice(WIDE_SEPARATORS if wide else SEPARATORS))
        text = "".join(pieces[: -1 if rng.random() < 0.5 else None])
        _check(matcher, every_pattern, text)


@pytest.mark.parametrize(
    "text",
    [
        "Hong-Kong police and hong kong police",
        "the U.S. and us and campus bus",
        "ab.net fund, .net fund and $btc$btc",
        "A-share a share O'Neil p2p2p",
        "us",
        "u.s.",
        "SEC sector second",
        "在OTC市场 otc市场 xotc市场 香港警方在campus",
        "微信支付宝 and Alipay’s OTC—bitcoin",
    ],
)
def test_two_automata_on_punctuation_scripts_and_ends(
    matcher: Matcher, every_pattern: ahocorasick_rs.AhoCorasick, text: str
) -> None:
    _check(matcher, every_pattern, text)
