"""Session 15, English: each vocabulary fix with its twin, a near miss it must not catch.

Civil courts turning down an investor's crypto claim; punitive power prices laid on
mining; the SFC's watch list and "not licensed"; exchange apps pulled from stores; police
recovering money, or standing four tokens from their verb; platforms vowing to police
crypto trades; officials expelled; and, for precision, English denials, fake reports and
notices going round online, a ban that "weighs on" a market, histories of the ban; round
two: bans got round or eased, alarms sounded, judges speaking to the reader, mines
decommissioned, given days to leave, struck off, audited; platforms limiting accounts.
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
    # a Chinese court turning down an investor's crypto claim leaves the loss unprotected;
    # a Singapore court doing the same is not ours
    (
        ("Guangzhou court dismisses lawsuit over lost cryptocurrency", "", True),
        ("Singapore court dismisses lawsuit over lost cryptocurrency", "", False),
    ),
    (
        ("Court in Jiangsu rejects investor's claim to recover bitcoin", "", True),
        ("Delaware court rejects investor's claim to recover bitcoin", "", False),
    ),
    (
        ("Beijing court denies compensation in crypto trading dispute", "", True),
        ("Beijing court hears compensation claim in game coin trading dispute", "", False),
    ),
    # punitive power prices on mines in a Chinese province; Kazakhstan's are its own
    (
        ("Inner Mongolia raises power prices for crypto mining", "", True),
        ("Kazakhstan raises power prices for crypto mining", "", False),
    ),
    # the SFC's list as a "watch list", and a platform "not licensed"; licensing is not
    (
        ("SFC puts crypto exchange on watch list", "", True),
        ("Dubai's VARA puts crypto exchange on watch list", "", False),
    ),
    (
        ("SFC says crypto platform JPEX is not licensed", "", True),
        ("SFC says licensed crypto exchanges may offer staking", "", False),
    ),
    # exchange apps pulled from Chinese stores; from India's, not ours
    (
        ("Binance app pulled from Chinese app stores", "", True),
        ("Binance app pulled from Indian app stores", "", False),
    ),
    # police recovering money (next to them); a price recovering is market news
    (
        ("Police in Guangxi recover 300 million yuan of crypto scam proceeds", "", True),
        ("Bitcoin recovers as Chinese traders return", "", False),
    ),
    # the enforcer four tokens from its verb; a foreign force as far away is still foreign
    (
        ("Police in Hunan province crack crypto laundering ring", "", True),
        ("Police in Thailand's Phuket province crack crypto laundering ring", "", False),
    ),
    # a platform vowing to police crypto trades (not a police force); gambling is no crypto
    (
        ("Alipay vows to police bitcoin OTC trades", "", True),
        ("Alipay vows to police online gambling payments", "", False),
    ),
    # an official expelled for mining with state power; a firm's own staff sacking is not
    (
        ("Party expels official who mined bitcoin with state power", "", True),
        ("Bitcoin miner fires staff who mined with company power", "", False),
    ),
    # a report called untrue, a notice going round online, a probe denied: no act
    (
        ("OKX says reports of Chinese police raid on its office are untrue", "", False),
        ("Chinese police raid OKX office in Beijing", "", True),
    ),
    (
        ("Fake PBOC notice on crypto ban circulates online", "", False),
        ("PBOC notice on crypto ban tells banks to cut off exchanges", "", True),
    ),
    (
        ("Hong Kong SFC denies probe into crypto exchange", "", False),
        ("Hong Kong SFC opens probe into crypto exchange", "", True),
    ),
    (
        ("Report that China will arrest crypto holders is untrue", "", False),
        ("China arrests crypto holders in laundering probe", "", True),
    ),
    # a ban weighing on a market is background; a history of the ban is an explainer
    (
        ("Bitcoin price outlook: China ban still weighs", "", False),
        ("Bitcoin slips as China bans crypto mining", "", True),
    ),
    (
        ("China's crypto ban: a brief history", "", False),
        ("China's crypto ban: police arrest 40 OTC dealers", "", True),
    ),
    # round two (probes_en_s15c and the mining, exchange and platform sweep)
    # a ban got round or eased is the setting; dealers arrested for it are news
    (
        ("China's crypto traders find ways round the ban, using VPNs and OTC desks", "", False),
        ("Police arrest OTC dealers who helped Chinese traders get round the crypto ban", "", True),
    ),
    (
        ("Report: China to ease crypto ban in free trade zones", "", False),
        ("China to tighten crypto ban in free trade zones", "", True),
    ),
    # a regulator sounding the alarm; a foreign one is not ours
    (
        ("Watchdog sounds alarm over fake Hong Kong crypto exchange", "", True),
        ("Singapore's MAS sounds alarm over fake crypto exchange", "", False),
    ),
    # judges saying so, to the reader; lawyers telling the reader the opposite abroad
    (
        ("Courts won't help you get your bitcoin back, Shanghai judges say", "", True),
        ("You can get your bitcoin back from Singapore exchange, lawyers say", "", False),
    ),
    # mines decommissioned, given days to leave, struck off as an industry, audited, ended
    (
        ("Sichuan decommissions bitcoin mining farms", "", True),
        ("Norway decommissions bitcoin mining farms", "", False),
    ),
    (
        ("Inner Mongolia gives crypto miners 30 days to leave", "", True),
        ("Texas landlord gives crypto miners 30 days to leave", "", False),
    ),
    (
        ("Heilongjiang classifies crypto mining as eliminated industry", "", True),
        ("Kazakhstan classifies crypto mining as eliminated industry", "", False),
    ),
    (
        ("Xinjiang targets crypto mining in energy audit", "", True),
        ("Texas targets crypto mining in energy audit", "", False),
    ),
    (
        ("Sichuan moves to end crypto mining", "", True),
        ("Paraguay moves to end crypto mining", "", False),
    ),
    # a platform limiting accounts used for crypto; for gambling, no crypto
    (
        ("Alipay limits accounts used in USDT trades", "", True),
        ("Alipay limits accounts used for online gambling", "", False),
    ),
    # round three (the court and police headline sweep): a verbless term, an appeal lost
    (
        ("Life term for Guangdong crypto Ponzi boss", "", True),
        ("Life term for Taiwan crypto Ponzi boss", "", False),
    ),
    (
        ("Shenzhen crypto fraudster loses appeal", "", True),
        ("Bitcoin miner Bitmain loses appeal in patent dispute with Canaan", "", False),
    ),
    # a game's own coins are no crypto; bitcoin in the same case is
    (
        (
            "Chinese court convicts man for selling 'Q coins' stolen from accounts",
            "Tencent's virtual currency for games was resold for 200,000 yuan.",
            False,
        ),
        ("Chinese police arrest gang that sold Q coins for bitcoin", "", True),
    ),
]


@pytest.mark.parametrize(
    ("title", "text", "alerts"),
    [
        pytest.param(*case, id=f"{i}{side}")
        for i, pair in enumerate(PAIRS)
        for side, case in zip("ab", pair, strict=True)
    ],
)
def test_fix_and_twin(matcher: Matcher, title: str, text: str, alerts: bool) -> None:
    assert _alerts(matcher, title, text) == alerts, title or text
