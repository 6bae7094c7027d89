"""Session 16, English precision: each veto with its twin, the relevant story with the same
marker that must stay an alert.

A commentator's warning (analysts, lawyers, an industry group) is no authority's; an act
only weighed or possible told on hearsay ("sources say", "report says") or by a
commentator is speculation, while the same act told plainly on hearsay is news; a lead
about blockchain with no crypto and no official act is technology policy; "seize the
opportunity" is no seizure; a ban set beside something else as its contrast or its
given is the setting, not an act; a report called false or a firm's denial tells no act
unless an official's act is told under it; Chinese people named by their crypto trade
("Chinese crypto trader") are a nationality, not a Chinese actor; a market or business move
whose cause is the act named as a noun ("as China's mining ban bites") is the market's;
firms that went to court over a deal are in a private dispute unless the court voids it;
an analyst's word under a headline that tells an official acting is the news's reaction,
not commentary.
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
    # an analyst's word under a headline that tells an official acting is the reaction to
    # the news; under a lead with no official act it is commentary
    (
        (
            "China's central bank orders payment firms to block crypto transactions",
            "Analysts said the move could push trading further offshore.",
            True,
        ),
        (
            "Investors exposed to crypto swings as Hong Kong ETFs grow",
            "Analysts said retail buyers of the spot bitcoin funds faced sharp price moves.",
            False,
        ),
    ),
    (
        (
            "Sichuan orders crypto mines to close, sources say",
            "Miners could move to Kazakhstan, analysts said.",
            True,
        ),
        (
            "The real reason Beijing keeps cracking down on crypto",
            "Capital flight, not energy use, drives China's hostility to bitcoin, analysts say.",
            False,
        ),
    ),
    (
        (
            "China's banking regulator warns public about crypto fundraising scams",
            "Experts say losses could reach billions.",
            True,
        ),
        (
            "China's crypto rules: what analysts expect next",
            "Experts say regulators could widen the ban to stablecoins.",
            False,
        ),
    ),
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
    # a report called false, a firm's denial, claims going round; the act told by an official
    (
        (
            "Beijing police raid on crypto exchange: reports are false, company says",
            "The platform said it continued to operate normally.",
            False,
        ),
        (
            "Beijing police raid on crypto exchange: reports are false, company says",
            "Beijing police said officers raided the platform's office and arrested two directors.",
            True,
        ),
    ),
    (
        (
            "OKX denies its staff were detained by Chinese police",
            "The exchange said all employees were safe and operations were normal.",
            False,
        ),
        (
            "OKX denies its staff were detained by Chinese police",
            "Shanghai police said on Monday they had detained three OKX employees in a money"
            " laundering probe.",
            True,
        ),
    ),
    (
        (
            "Binance dismisses claims it was ordered out of China",
            "A spokesperson said the company was not the subject of any action.",
            False,
        ),
        (
            "Binance dismisses claims it was ordered out of China",
            "China's central bank said on Friday it had ordered Binance to stop serving"
            " mainland users.",
            True,
        ),
    ),
    (
        ("Crypto Twitter buzzes with claims of Chinese exchange raids; none confirmed", "", False),
        ("Hong Kong police investigate claims of crypto fraud by influencer", "", True),
    ),
    (
        ("Viral notice claiming China banned USDT is fake", "", False),
        ("Hong Kong police arrest man over viral notice claiming SFC approved his token", "", True),
    ),
    (
        (
            "Hong Kong SFC says it has not approved or banned any stablecoin, calls reports"
            " inaccurate",
            "",
            False,
        ),
        ("Hong Kong SFC bans stablecoin platform, calls its claims inaccurate", "", True),
    ),
    # Chinese people named by their crypto trade, acted on abroad; the same acted on at home
    (
        (
            "Philippines deports Chinese crypto fraud suspects",
            "The Bureau of Immigration sent 50 suspects back to China on a chartered flight.",
            False,
        ),
        ("Police arrest Chinese crypto fraud suspects in Guangzhou", "", True),
    ),
    (
        (
            "Thailand's SEC files complaint against Chinese crypto exchange operator",
            "The regulator accused the operator of running an unlicensed digital asset exchange"
            " in Bangkok.",
            False,
        ),
        ("Chinese crypto exchange operator detained by Shanghai police", "", True),
    ),
    # a market or business move whose cause is the act named as a noun; the act as news
    (
        ("Bitmain revenue drops as China's mining ban bites", "", False),
        ("Bitcoin slumps as China's crackdown widens to OTC desks", "", True),
    ),
    (
        ("Canaan shifts sales abroad after China's mining crackdown", "", False),
        ("Beijing's crackdown on crypto mining hits Sichuan hydropower farms", "", True),
    ),
    # the digital yuan's news with crypto's ban as a standing state; an official saying so
    (
        ("China's digital yuan gets boost as crypto remains banned", "", False),
        ("PBOC says crypto remains banned as digital yuan expands", "", True),
    ),
    (
        ("Stablecoin issuers court Asian users while China keeps its crypto ban", "", False),
        ("China keeps its crypto ban and orders banks to cut off exchanges", "", True),
    ),
    # firms in court over a deal; the court voiding it because crypto mining is banned
    (
        (
            "",
            "Two Shenzhen companies went to court over a failed deal to buy crypto mining"
            " machines; the court ordered the buyer to pay the balance.",
            False,
        ),
        (
            "",
            "Two Shenzhen companies went to court over a deal to buy crypto mining machines;"
            " the court ruled the contract void because mining is banned.",
            True,
        ),
    ),
    # an act talked of, braced for or only possible; the act made, the same word beside it
    (
        ("Whispers of a Chinese crypto crackdown rattle markets", "", False),
        ("Chinese police launch crackdown on crypto OTC desks amid whispers of more", "", True),
    ),
    (
        ("Bitcoin drops on speculation China will ban crypto payments", "", False),
        ("China's central bank bans crypto payments amid speculation over stablecoins", "", True),
    ),
    (
        ("Crypto traders brace for possible Chinese crackdown", "", False),
        ("Hong Kong police arrest 3 over possible crypto laundering", "", True),
    ),
    (
        ("Chatter about new China mining curbs spooks miners", "", False),
        ("Sichuan orders crypto miners to shut amid chatter about power shortages", "", True),
    ),
    # trade policy on goods crypto miners use; customs seizing the goods
    (
        (
            "China bans exports of gallium used in chips and mining rigs",
            "The commerce ministry said exporters of the metals would need licences from December.",
            False,
        ),
        ("Chinese customs seize bitcoin mining rigs smuggled for export", "", True),
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
]


@pytest.mark.parametrize(("fix", "twin"), PAIRS, ids=[(fix[0] or fix[1])[:48] for fix, _ in PAIRS])
def test_fix_and_twin(
    matcher: Matcher, fix: tuple[str, str, bool], twin: tuple[str, str, bool]
) -> None:
    for title, text, expected in (fix, twin):
        assert _alerts(matcher, title, text) is expected, title
