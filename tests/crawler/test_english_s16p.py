"""Session 16, English precision: each veto with its twin, the relevant story with the same
marker that must stay an alert.

A commentator's warning (analysts, lawyers, an industry group) is no authority's; an act
only weighed or possible told on hearsay ("sources say", "report says") or by a
commentator is speculation, while the same act told plainly on hearsay is news; a lead
about blockchain with no crypto and no official act is technology policy; "seize the
opportunity" is no seizure; a ban set beside something else as its contrast or its
given is the setting, not an act.
"""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from tests.probing import match

TOPIC = "china-crypto-enforcement"


def _alerts(matcher: Matcher, title: str, text: str = "") -> bool:
    return TOPIC in match(matcher, title, text).topics


# (fix: must alert or must not, twin: the opposite, with the same marker)
PAIRS = [
    # a commentator's warning; the same warning by an official
    (
        ("Analysts warn of new Chinese crackdown on bitcoin", "", False),
        ("Chinese regulators warn of new crackdown on bitcoin", "", True),
    ),
    (
        ("Industry group sounds alarm over crypto scams in Hong Kong", "", False),
        ("Hong Kong police sound alarm over crypto scams", "", True),
    ),
    (
        ("Lawyers warn Chinese investors over crypto Ponzi schemes", "", False),
        ("Chinese police warn investors over crypto Ponzi schemes", "", True),
    ),
    (
        ("Researchers warn of rising crypto laundering in China", "", False),
        ("Chinese police arrest 30 in crypto laundering case, researchers warn of more", "", True),
    ),
    (
        ("Hong Kong fintech association warns of fake crypto exchanges", "", False),
        ("China's internet finance association warns of crypto risks", "", True),
    ),
    (
        (
            "Lawyers warn Hong Kong investors over unlicensed crypto platforms",
            "Law firms said retail clients had lost money on offshore apps.",
            False,
        ),
        (
            "Lawyers warn Hong Kong investors over unlicensed crypto platforms",
            "The Securities and Futures Commission named three platforms and told investors to"
            " stay away, lawyers said.",
            True,
        ),
    ),
    # an act only possible, on hearsay or a commentator's word; the act told plainly
    (
        ("Chinese regulators could freeze crypto accounts, people familiar say", "", False),
        ("Chinese regulators freeze crypto accounts, people familiar say", "", True),
    ),
    (
        ("Beijing plans to ban crypto trading, report says", "", False),
        ("Beijing bans crypto trading, report says", "", True),
    ),
    (
        ("China mulls crypto mining ban, insiders say", "", False),
        ("China orders crypto miners to shut, insiders say", "", True),
    ),
    (
        ("China could soon ban stablecoins, report claims", "", False),
        ("China's central bank bans stablecoin trading, report claims", "", True),
    ),
    (
        ("Analysts warn China may ban crypto mining again", "", False),
        ("Alipay may block accounts related to crypto OTC trading", "", True),
    ),
    (
        ("Crypto insiders say Chinese police could freeze OTC traders' accounts", "", False),
        ("Chinese police freeze crypto OTC traders' accounts, traders say", "", True),
    ),
    (
        (
            "Beijing is said to mull curbs on crypto exchanges, sources say",
            "Regulators may ask banks to cut off the platforms, people familiar said.",
            False,
        ),
        (
            "Beijing is said to mull curbs on crypto exchanges, sources say",
            "Police in Shenzhen detained 12 staff of an unlicensed crypto exchange on Monday.",
            True,
        ),
    ),
    # a blockchain lead with no crypto and no official act; the same lead with one
    (
        (
            "Xi urges officials to seize the opportunity of blockchain",
            "The president told a Politburo study session that China should take the lead in"
            " the emerging field. Bitcoin rose 10% after the remarks.",
            False,
        ),
        (
            "China's banking regulator warns of illegal fundraising in the name of blockchain",
            "The banking regulator said groups were issuing so-called virtual currencies.",
            True,
        ),
    ),
    (
        (
            "Beijing urges state firms to speed up blockchain adoption",
            "Crypto tokens rallied on the news.",
            False,
        ),
        (
            "Shenzhen bans blockchain fundraising events",
            "Local authorities said the events promoted cryptocurrency tokens.",
            True,
        ),
    ),
    # seizing a chance is no seizure
    (
        ("China should seize the opportunity of digital currencies, official says", "", False),
        ("Chinese police seize digital currencies worth 1 billion yuan", "", True),
    ),
    # a ban set as a contrast or a given; the ban made
    (
        ("Hong Kong's crypto hub push contrasts with mainland ban", "", False),
        ("Mainland bans crypto trading as Hong Kong pushes hub plan", "", True),
    ),
    (
        ("Yuan stablecoin plans face hurdles given China's crypto ban", "", False),
        ("China bans yuan stablecoin plans in Hong Kong", "", True),
    ),
    (
        ("Stablecoin issuers court Asian users while China keeps its ban", "", False),
        ("China's central bank bans stablecoin trading", "", True),
    ),
]


@pytest.mark.parametrize(("fix", "twin"), PAIRS, ids=[fix[0][:48] for fix, _ in PAIRS])
def test_fix_and_twin(
    matcher: Matcher, fix: tuple[str, str, bool], twin: tuple[str, str, bool]
) -> None:
    for title, text, expected in (fix, twin):
        assert _alerts(matcher, title, text) is expected, title
