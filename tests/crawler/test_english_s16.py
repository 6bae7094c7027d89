"""Session 16, English recall: each fix with its twin, a near miss it must not catch.

Party discipline told in English (the party by its initials, public office, the lighter
sanctions, 双开 and 留置 in English); the SFC disciplining, suing and winning orders; an
exchange leaving the mainland; a mine gone dark beside an order; a sentence told without a
verb ("Three years for USDT launderer"); machine-translated police posts ("our bureau", U
coins); courts refusing to recognise crypto claims. Each fix alerts here and did not on
main's start; each twin stays quiet on both.
"""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from tests.probing import match

TOPIC = "china-crypto-enforcement"


def _alerts(matcher: Matcher, title: str, text: str = "") -> bool:
    return TOPIC in match(matcher, title, text).topics


# (fix: must alert, twin: must not, in nearly the same words)
PAIRS = [
    # party discipline: the party by its initials or full name, the lost state post, the
    # lighter sanctions; with no crypto it is graft news
    (
        ("Former official expelled from CPC for investing in virtual currency", "", True),
        ("Former official expelled from CPC for investing in property", "", False),
    ),
    (
        ("Former central bank official placed on party probation over crypto investment", "", True),
        ("Former central bank official placed on party probation over golf club fees", "", False),
    ),
    (
        ("Official under supervisory investigation for crypto mining", "", True),
        ("Official under supervisory investigation for land deals", "", False),
    ),
    (
        ("Village official stripped of CPC membership after running bitcoin farm", "", True),
        ("Village official stripped of CPC membership after running illegal quarry", "", False),
    ),
    (
        ("Manager dismissed from public office over crypto mining at substation", "", True),
        ("Manager dismissed from public office over fire at substation", "", False),
    ),
    (
        ("Official receives serious intra-party warning for bitcoin mining", "", True),
        ("Official receives serious intra-party warning for lavish banquets", "", False),
    ),
    (
        ("Former tax official given double expulsion over bitcoin trading", "", True),
        ("Former tax official given double expulsion over bribery", "", False),
    ),
    (
        ("Ex-bank chief placed under liuzhi over crypto", "", True),
        ("Ex-bank chief placed under liuzhi over loans", "", False),
    ),
    # the SFC disciplining, suing, winning orders; an investor's suit is commerce
    (
        ("SFC disciplines broker over crypto trading breaches", "", True),
        ("Hong Kong fund manager's disciplined approach to crypto pays off", "", False),
    ),
    (
        ("SFC secures order against crypto scheme operators", "", True),
        ("Crypto firm secures order against former staff in Singapore", "", False),
    ),
    (
        ("SFC sues crypto exchange founder over misleading ads", "", True),
        ("Investor sues crypto exchange founder over misleading ads", "", False),
    ),
    (
        ("SFC slaps HK$5 million fine on broker over crypto trades", "", True),
        ("SFC slaps HK$5 million fine on broker over IPO failings", "", False),
    ),
    # an exchange leaving the mainland; leaving elsewhere, or miners leaving, is not policing
    (
        ("OKX exits mainland China market", "", True),
        ("OKX exits Japanese market", "", False),
    ),
    (
        ("Crypto exchange pulls out of mainland China", "", True),
        ("Bitcoin miners pull out of China as hash rate shifts to US", "", False),
    ),
    (
        ("Crypto exchange retreats from mainland China", "", True),
        ("Binance's exit from China: how it happened", "", False),
    ),
    (
        ("Crypto exchanges no longer available to mainland Chinese users", "", True),
        ("Crypto exchanges now available to mainland Chinese users via Hong Kong", "", False),
    ),
    # a case referred to police, the case named between
    (
        ("SFC refers JPEX case to police", "", True),
        ("SFC refers JPEX questions to its website", "", False),
    ),
    # a mine gone dark beside an order; a heat wave or a halving names none
    (
        ("Crypto mining farms go dark after Sichuan order", "", True),
        ("Crypto mining farms go dark as Sichuan heat wave strains grid", "", False),
    ),
    (
        ("Sichuan bitcoin miners power down after government notice", "", True),
        ("Sichuan bitcoin miners power down for rainy-season maintenance", "", False),
    ),
    (
        ("Inner Mongolia crypto mines fall silent after deadline", "", True),
        ("Inner Mongolia crypto mines fall silent for Lunar New Year", "", False),
    ),
    (
        ("Electricity supply cut to crypto miners in Yunnan", "", True),
        ("OPEC supply cut lifts oil, bitcoin in China trading", "", False),
    ),
    # a sentence told without a verb, with a crime or an enforcer; a time span names none
    (
        (
            "Three years for USDT launderer",
            "The Minhang court said the man converted fraud proceeds into Tether.",
            True,
        ),
        (
            "Three years for bitcoin to hit new high",
            "A Hong Kong broker said the next cycle will take time to play out.",
            False,
        ),
    ),
    (
        ("Seven years for Fujian crypto fraudster", "", True),
        ("Seven years of Fujian crypto history", "", False),
    ),
    (
        (
            "Ten years, 5 million yuan fine for PlusToken recruiter",
            "The Yancheng court found he recruited thousands of members.",
            True,
        ),
        (
            "Ten years after PlusToken, recruiters move to new coins",
            "The Yancheng scheme recruited thousands of members.",
            False,
        ),
    ),
    # machine-translated posts: 我局 and U币 in English
    (
        (
            "Our bureau cracked a case of helping information network crime through U coin trading",
            "",
            True,
        ),
        ("Our bureau chief in Beijing reports on U coin trading", "", False),
    ),
    # courts refusing to recognise a crypto claim; a foreign ruling recognised is not crypto's
    (
        ("Chinese courts refuse to recognise crypto loans", "", True),
        ("Chinese courts refuse to recognise foreign divorce rulings", "", False),
    ),
    (
        ("Shenzhen court nullifies crypto trading agreement", "", True),
        ("Shenzhen court nullifies property sale over forged signature", "", False),
    ),
]


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [case for pair in PAIRS for case in pair],
    ids=[f"{i // 2}-{'fix' if i % 2 == 0 else 'twin'}" for i in range(2 * len(PAIRS))],
)
def test_english_s16(matcher: Matcher, title: str, text: str, expected: bool) -> None:
    assert _alerts(matcher, title, text) == expected, title
