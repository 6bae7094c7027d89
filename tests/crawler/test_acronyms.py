"""Exact-case acronyms ("ED", "US", "SEC") are found apart from the main automaton.

Folded, "ed" ends every past-tense verb: the matcher looks for whole-word acronyms in
the case-kept text instead (crawler.matcher._Acronyms, Folded.cased). These cases
pin what the single automaton found before: ASCII text, Latin text with full-width
and curly characters, Chinese text, acronyms inside longer aliases (US SEC, CAC 40,
Binance.US) and words that only look like them (banned, EDs, FedEx, lower case).
"""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher

CASES = [
    (
        "India's ED raided WazirX after regulators banned and seized accounts",
        [
            ("india", 0, 5, "India"),
            ("india", 8, 10, "ED"),
            ("arrest", 11, 17, "raided"),
            ("india", 18, 24, "WazirX"),
            ("authorities", 31, 41, "regulators"),
            ("ban", 42, 48, "banned"),
            ("seize", 53, 59, "seized"),
        ],
    ),
    (
        "India’s ＥＤ raided the exchange",
        [
            ("india", 0, 5, "India"),
            ("india", 8, 10, "ＥＤ"),
            ("arrest", 11, 17, "raided"),
        ],
    ),
    (
        "印度执法局（ED）查封了WazirX的资产",
        [
            ("india", 0, 5, "印度执法局"),
            ("india", 6, 8, "ED"),
            ("seize", 9, 11, "查封"),
            ("india", 12, 18, "WazirX"),
        ],
    ),
    (
        "the ed said nothing; EDs and FedEx are no acronyms",
        [],
    ),
    (
        "The US SEC and the Fed, not the U.S. SEC alone",
        [
            ("us-regulators", 4, 10, "US SEC"),
            ("us-regulators", 19, 22, "Fed"),
            ("us-regulators", 32, 40, "U.S. SEC"),
        ],
    ),
    (
        "Binance.US and the CAC 40 fell; the CAC fined OSL Exchange",
        [
            ("binance", 0, 10, "Binance.US"),
            ("stock-exchange", 19, 25, "CAC 40"),
            ("cac", 36, 39, "CAC"),
            ("penalty", 40, 45, "fined"),
            ("osl", 46, 58, "OSL Exchange"),
        ],
    ),
    (
        "PBoC and PBOC, ＰＢＯＣ and pboc",
        [
            ("pboc", 0, 4, "PBoC"),
            ("pboc", 9, 13, "PBOC"),
            ("pboc", 15, 19, "ＰＢＯＣ"),
        ],
    ),
    (
        "美国SEC起诉币安，ＵＳ监管机构",
        [
            ("united-states", 0, 2, "美国"),
            ("us-regulators", 2, 5, "SEC"),
            ("sue-or-prosecute", 5, 7, "起诉"),
            ("binance", 7, 9, "币安"),
            ("united-states", 10, 12, "ＵＳ"),
            ("enforcer-generic", 12, 16, "监管机构"),
        ],
    ),
    (
        "US",
        [
            ("united-states", 0, 2, "US"),
        ],
    ),
    (
        "ED-led probe, (SAFE) rules: MiCA/EU",
        [
            ("india", 0, 2, "ED"),
            ("investigate", 7, 12, "probe"),
            ("safe", 15, 19, "SAFE"),
            ("europe", 28, 32, "MiCA"),
            ("europe", 33, 35, "EU"),
        ],
    ),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_acronyms_are_found_as_whole_words_written_exactly(
    matcher: Matcher, text: str, expected: list[tuple[str, int, int, str]]
) -> None:
    assert [(h.entity, h.start, h.end, h.term) for h in matcher.find(text)] == expected


def test_acronyms_are_not_in_the_main_automaton(matcher: Matcher) -> None:
    assert {"ed", "us", "sec"} <= matcher._acronyms.patterns
