"""Untitled stories, session 16 (88 of dev-2's 300 have no title): where the lead is.

Each fix with its twin: a first sentence that only sets a scene (prices, a background)
before the sentence where an actor acts gives the lead to both sentences, but not when the
second still explains the market, dates its act by a bare year or names the act before its
actor; a byline, a credit or a page's chrome ended by a stop is no lead at all.
Every relevant case here was missed by main's start of session 16 (/tmp/start16).
"""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from tests.probing import match

TOPIC = "china-crypto-enforcement"


def _alerts(matcher: Matcher, text: str) -> bool:
    return TOPIC in match(matcher, "", text).topics


@pytest.mark.parametrize(
    "text",
    [
        "Cryptocurrency prices have been volatile all week. On Thursday, regulators in Inner"
        " Mongolia said they would close all bitcoin mines in the region within two months.",
        "比特币价格近期大幅波动。与此同时，成都市地方金融监管局发布风险提示，"
        "提醒公众警惕以虚拟货币为名的非法集资活动，并依法打击相关违法行为。",
        "比特币价格暴涨暴跌，过山车效应明显。央行上海总部约谈了三家比特币交易平台负责人，要求其自查整顿。",
    ],
)
def test_a_scene_setting_first_sentence_lends_the_lead_to_the_act_after_it(
    matcher: Matcher, text: str
) -> None:
    assert _alerts(matcher, text)


@pytest.mark.parametrize(
    "text",
    [
        # the act before its actor, as the market's cause
        "The price of bitcoin rebounded above $34,000 on Wednesday. The latest crackdown in China"
        " was the likely catalyst for the sell-off as the PBoC warned banks to stamp out crypto"
        " transactions.",
        # an act dated by a bare year is history
        "中国成全球第三大比特币算力来源国。然而，这一切在2021年中国政府全面禁止加密挖矿后发生改变。",
        "Bitcoin slid 6% overnight. Analysts said the Chinese government banned crypto mining in"
        " 2021 and hash rate moved abroad.",
        # no act at all
        "比特币价格近期大幅波动。分析人士认为，市场情绪仍然偏弱。",
        # a first sentence of rules or licences is that story's lead, no scene
        "Hong Kong stablecoin licence applicants face tough reserve rules. Applicants will need"
        " to hold reserves in high-quality liquid assets, the HKMA said, adding that unlicensed"
        " issuers offering stablecoins to the public would commit an offence punishable by fines.",
        "金管局發出指引 銀行須加強虛擬資產相關客戶盡職審查。金管局今日向銀行發出指引，"
        "要求銀行在為虛擬資產服務提供者開立戶口時加強客戶盡職審查及持續監察，以防範洗錢風險。",
    ],
)
def test_a_second_sentence_that_explains_the_market_stays_background(
    matcher: Matcher, text: str
) -> None:
    assert not _alerts(matcher, text)


RELEVANT_EN = (
    "Chinese authorities have long been wary of crypto. Now a court in Shenzhen has ruled that a"
    " contract to buy bitcoin on behalf of a client is void, leaving the investor to bear his"
    " losses."
)
RELEVANT_EN_2 = (
    "Hong Kong's Securities and Futures Commission on Friday added four unlicensed crypto"
    " trading platforms to its list of suspicious virtual asset platforms."
)
NEAR_MISSES_EN = [
    "What is a stablecoin? This explainer sets out how stablecoins work and why regulators in"
    " China and Hong Kong watch them.",
    "Singapore's central bank on Tuesday barred a crypto exchange founded by Chinese"
    " entrepreneurs from serving local customers.",
]
RELEVANT_ZH = (
    "比特币价格近期大幅波动。与此同时，成都市地方金融监管局发布风险提示，"
    "提醒公众警惕以虚拟货币为名的非法集资活动，并依法打击相关违法行为。"
)
NEAR_MISSES_ZH = [
    "什么是稳定币？它与比特币有何不同？本文为您梳理稳定币的基本原理及投资者需要注意的风险。",
    "据路透社报道，美国司法部周二宣布，一名男子因通过加密货币为贩毒集团洗钱被判处10年监禁。",
]


@pytest.mark.parametrize(
    ("chrome", "text"),
    [
        ("By Staff Reporter. ", RELEVANT_EN_2),
        ("Listen to this article. ", RELEVANT_EN),
        ("Listen to this article. ", RELEVANT_EN_2),
        ("Updated 10:32 a.m. ET. ", RELEVANT_EN),
        ("图片来源：网络。", RELEVANT_ZH),
        ("责任编辑：李明。", RELEVANT_ZH),
    ],
)
def test_a_byline_or_page_chrome_before_the_story_is_no_lead(
    matcher: Matcher, chrome: str, text: str
) -> None:
    assert _alerts(matcher, text)
    assert _alerts(matcher, chrome + text)


@pytest.mark.parametrize(
    "chrome",
    ["By Staff Reporter. ", "Listen to this article. ", "Photo: Reuters. ", "图片来源：网络。"],
)
@pytest.mark.parametrize("text", NEAR_MISSES_EN + NEAR_MISSES_ZH)
def test_a_byline_before_a_near_miss_leaves_it_out(
    matcher: Matcher, chrome: str, text: str
) -> None:
    assert not _alerts(matcher, chrome + text)


@pytest.mark.parametrize(
    ("text", "relevant"),
    [
        # the desk the wire files from is no place of the story's
        (
            "HONG KONG (Reuters) - Singapore's central bank on Tuesday barred a crypto exchange"
            " from serving local customers, citing money-laundering risks.",
            False,
        ),
        (
            "SINGAPORE (Reuters) - China's central bank said on Friday it had ordered payment"
            " firms to cut off accounts used for crypto trading.",
            True,
        ),
        # twins: the place told in the story proper stays
        (
            "HONG KONG, Jan 5 (Reuters) - Hong Kong police arrested six people over a fake crypto"
            " exchange that took HK$30 million from investors.",
            True,
        ),
        (
            "BEIJING (Reuters) - Police in Beijing have arrested 12 people who ran an OTC desk"
            " laundering fraud money through USDT.",
            True,
        ),
        ("香港文匯報訊（記者 周紹基）香港警方昨日拘捕6人，涉嫌經營虛假加密貨幣交易平台。", True),
        (
            "香港文匯報訊（記者 周紹基）韩国检方昨日以涉嫌诈骗逮捕一家加密货币交易所的两名高管。",
            False,
        ),
    ],
)
def test_a_datelines_place_is_the_desks_not_the_storys(
    matcher: Matcher, text: str, relevant: bool
) -> None:
    assert _alerts(matcher, text) == relevant
