"""The Latin automaton (word boundaries built into its patterns) finds what the automaton
of every pattern finds with its boundaries checked one hit at a time.

`Matcher._scan` sends all-ASCII folded text to the Latin automaton for speed; this
compares the two scans on ASCII text made to be hard: pattern pieces glued to word
characters, split by every kind of separator, at the text's ends, and patterns that
differ only in punctuation ("hong kong" / "hong-kong", "u.s." / "us").
"""

from __future__ import annotations

import copy
import random

import pytest

from crawler.fold import fold_with_offsets
from crawler.matcher import Matcher
from crawler.watchlist import builtin_watchlist

PHRASES = ("hong-kong", "u.s.", ".net fund", "$btc", "a-share", "o'neil", "p2p", "ab")
SEPARATORS = (" ", "  ", "-", ".", ",", "'", "/", "$", "_", "\n", "(", "#", "", "", "x", "9")
ROUNDS = 3000


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(builtin_watchlist(), PHRASES)


def _both(matcher: Matcher, text: str) -> tuple[tuple[list, list], tuple[list, list]]:
    """(entity hits, phrase hits) of the Latin scan and of the full scan."""
    assert fold_with_offsets(text).text.isascii()
    full = copy.copy(matcher)
    full._latin = None  # what _scan does with text that is not all ASCII
    found = [matcher._scan(text), full._scan(text)]
    return tuple((scan.entity_hits, sorted(scan.phrase_hits)) for scan in found)  # type: ignore[return-value]


def test_latin_scan_finds_what_the_full_scan_finds(matcher: Matcher) -> None:
    assert matcher._latin is not None  # ASCII text takes the Latin path
    rng = random.Random(7)
    ascii_patterns = [p for p in matcher._patterns if p.isascii()]
    for _ in range(ROUNDS):
        pieces = []
        for _ in range(rng.randint(1, 6)):
            pattern = rng.choice(ascii_patterns)
            if rng.random() < 0.3:  # a piece of a pattern
                cut = rng.randint(0, len(pattern) - 1)
                pattern = pattern[cut:] if rng.random() < 0.5 else pattern[: cut + 1]
            if rng.random() < 0.2:
                pattern = pattern.upper()
            pieces.append(pattern)
            pieces.append(rng.choice(SEPARATORS))
        text = "".join(pieces[: -1 if rng.random() < 0.5 else None])
        latin, full = _both(matcher, text)
        assert latin == full, text


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
    ],
)
def test_latin_scan_on_punctuation_and_ends(matcher: Matcher, text: str) -> None:
    latin, full = _both(matcher, text)
    assert latin == full
