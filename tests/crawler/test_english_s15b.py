"""Session 15, English round b: each vocabulary fix with its twin, a near miss it must not catch.

Exchanges forced or pushed out of the mainland; procuratorates' public-interest suits;
party discipline named by its adjective and its English charge; for precision, acts told
only on hearsay at a headline's ends ("sources say", "Report:", "reportedly mulls") and
firms' suits over wages, leases and supplies, which are commerce, not enforcement.
"""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from tests.probing import match

TOPIC = "china-crypto-enforcement"


def _alerts(matcher: Matcher, title: str, text: str = "") -> bool:
    return TOPIC in match(matcher, title, text).topics


# (fix: must alert or must not, twin: the opposite, in nearly the same words)
PAIRS = [
    # an exchange made to leave the mainland; leaving Canada is Canada's
    (
        ("Binance forced out of mainland China", "", True),
        ("Binance forced out of Canada as new rules bite", "", False),
    ),
    (
        ("Crypto exchanges pushed out of China", "", True),
        ("Crypto exchanges pushed out of Ontario", "", False),
    ),
    (
        ("Huobi forced to exit mainland China", "", True),
        ("Huobi forced to exit Thailand", "", False),
    ),
    # a procuratorate's public-interest suit is enforcement; a firm's lawsuit is commerce
    (
        ("Procuratorate files public-interest suit over crypto mining", "", True),
        ("Mining firm files lawsuit over crypto mining contract", "", False),
    ),
    (
        (
            "Procuratorate sues crypto miner over power theft in Yunnan",
            "Prosecutors filed a public-interest suit over electricity used to mine bitcoin.",
            True,
        ),
        (
            "Power company sues crypto miner over unpaid bills in Yunnan",
            "The company filed a lawsuit over electricity used to mine bitcoin.",
            False,
        ),
    ),
    # party discipline by its adjective and its charge; with no crypto it is graft news
    (
        ("Disciplinary watchdog probes official over crypto", "", True),
        ("Disciplinary watchdog probes official over land deals", "", False),
    ),
    (
        (
            "Official placed under investigation for serious violations of discipline over bitcoin",
            "",
            True,
        ),
        (
            "Official placed under investigation for serious violations of discipline over land",
            "",
            False,
        ),
    ),
    # an act told on hearsay is no act; the same act told by state media is
    (
        ("China reportedly weighs bitcoin mining ban", "", False),
        ("China bans bitcoin mining, state media say", "", True),
    ),
    (
        ("Report: China bans bitcoin mining", "", False),
        ("China bans bitcoin mining", "", True),
    ),
    (
        ("Shanghai police arrest crypto traders, according to unverified posts", "", False),
        ("Shanghai police arrest crypto traders, according to a police statement", "", True),
    ),
    (
        ("China reportedly mulls bitcoin ban", "", False),
        ("China imposes bitcoin ban", "", True),
    ),
    # firms' suits over wages, leases and supplies are commerce; a void crypto deal is not
    (
        ("Chinese court orders crypto firm to pay back wages", "", False),
        ("Chinese court orders crypto firm to return investors' funds", "", True),
    ),
    (
        ("Beijing court rules in crypto miner lease dispute", "", False),
        ("Beijing court rules crypto mining contract void", "", True),
    ),
    (
        ("Shenzhen court orders mining rig buyer to pay supplier", "", False),
        ("Shenzhen court voids mining rig deal as against public order", "", True),
    ),
]


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [case for pair in PAIRS for case in pair],
    ids=[f"{i // 2}-{'fix' if i % 2 == 0 else 'twin'}" for i in range(2 * len(PAIRS))],
)
def test_english_s15b(matcher: Matcher, title: str, text: str, expected: bool) -> None:
    assert _alerts(matcher, title, text) == expected, title
