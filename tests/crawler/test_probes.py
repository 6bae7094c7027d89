"""Held-out-style probes of the default topic: general phrasing, none copied from a corpus.

Each probe is a headline or lead as news writes it, in a form the filter was not
tuned on: enforcement named by verbs and constructions outside the first
vocabulary (nab, raid, rein in, take down, stand trial, 侦破, 传唤, 排查, 断电...)
must alert; the near misses of the hidden sets (the ban as background, Hong Kong
rule-making, Taiwan and Macau, foreign police acting on Chinese nationals) must not.
"""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from tests.probing import match

TOPIC = "china-crypto-enforcement"


@pytest.mark.parametrize(
    "title",
    [
        # the issue's own three headlines
        "Alipay blocks accounts used for OTC bitcoin trading",
        "Inner Mongolia closes crypto mines",
        "Tencent blocks WeChat accounts selling crypto",
        # English enforcement verbs and constructions
        "Shenzhen police nab 12 in USDT laundering ring",
        "Hangzhou authorities raid bitcoin mining farm hidden in a factory",
        "Beijing moves to rein in crypto trading by retail investors",
        "Weibo purges accounts promoting cryptocurrency trading",
        "Sichuan pulls the plug on bitcoin miners",
        "Three men in Guangzhou face charges over crypto fraud",
        "Hong Kong's SFC reprimands crypto platform",
        "China's cyberspace regulator takes down 200 crypto accounts",
        "Chinese regulators shutter crypto OTC desks",
        "PBoC urges public to beware of crypto schemes",
        "Chinese police dismantle gang that laundered money through USDT",
        "Beijing court upholds verdict that crypto losses are not protected by law",
        "Shanghai man stands trial over bitcoin Ponzi scheme",
        "Chinese exchange OKCoin discontinues yuan deposits",
        "Hong Kong police swoop on crypto laundering syndicate",
        "SFC flags suspicious virtual asset trading platform",
        "Chinese man handed seven-year term for bitcoin fraud",
        "China's cyberspace watchdog shuts crypto influencer accounts on Weibo",
    ],
)
def test_english_enforcement_in_unseen_words_alerts(matcher: Matcher, title: str) -> None:
    result = match(matcher, title)
    assert TOPIC in result.topics and result.signals, title


@pytest.mark.parametrize(
    "text",
    [
        "深圳警方侦破一起利用泰达币洗钱案",
        "公安机关传唤3名利用虚拟货币跑分的人员",
        "网信办下线一批炒币自媒体账号",
        "人民银行：谨防虚拟货币交易炒作",
        "香港警方搗破洗黑錢集團，涉利用加密貨幣",
        "法院判令返还比特币矿机托管押金",
        "四川全面排查虚拟货币挖矿项目",
        "内蒙古对虚拟货币挖矿项目断电",
        "法院认为，比特币挖矿合同违背公序良俗，应属无效",
        # the mainland's own police words are a Chinese actor even abroad
        "公安部工作组赴柬埔寨抓获一批利用泰达币洗钱的犯罪嫌疑人",
        "多地法院：虚拟货币投资损失由投资者自担",
        "国家发改委：将虚拟货币挖矿列为淘汰类产业",
    ],
)
def test_chinese_enforcement_in_unseen_words_alerts(matcher: Matcher, text: str) -> None:
    assert TOPIC in match(matcher, "", text).topics, text


@pytest.mark.parametrize(
    ("title", "text"),
    [
        # the ban or the crackdown as background, the story about something else
        ("Bitcoin miners flock to Texas ahead of China crackdown", ""),
        ("Bitcoin hash rate recovers to levels seen before China's mining ban", ""),
        ("Chinese bitcoin miners thrive despite Beijing's crackdown", ""),
        ("Bitcoin price alert: BTC pauses after rally as China data looms", ""),
        ("China's crypto ban three years on: where did the miners go?", ""),
        ("哈萨克斯坦成为全球第二大比特币挖矿国 中国矿工大量迁入", "中国清退挖矿后，矿机运往海外。"),
        (
            "Why Chinese investors keep buying bitcoin",
            "Although Beijing outlawed crypto trading in 2021, OTC desks in Shenzhen stay busy.",
        ),
        ("", "The PBoC tightened capital controls and the yuan weakened as bitcoin rose."),
        # Hong Kong rule-making, approvals and licensing
        ("Hong Kong SFC approves first spot bitcoin ETFs", ""),
        ("Hong Kong grants licences to two more crypto exchanges", ""),
        ("Hong Kong SFC issues circular allowing platforms to offer staking", ""),
        ("Hong Kong publishes consultation on stablecoin licensing regime", ""),
        # Taiwan, Macau and foreign police, Chinese nationals abroad
        ("Taipei prosecutors indict 10 over USDT laundering", ""),
        ("Macau police arrest two in crypto exchange scam", ""),
        ("", "台中地方法院判處虛擬貨幣車手有期徒刑一年，檢方起訴其涉犯洗錢罪。"),
        (
            "Police arrest Chinese national over crypto account sales",
            "Tokyo prefectural police said the man sold accounts for yen.",
        ),
        ("Singapore police arrest Chinese national in crypto fraud", ""),
        ("美国司法部起诉两名中国籍男子利用加密货币洗钱", ""),
        ("", "报道称，这家在香港注册的加密货币交易所的创始人在美国迈阿密遭到逮捕。"),
        ("", "澳门治安警察局拘捕两名涉虚拟货币诈骗的内地男子"),
    ],
)
def test_near_misses_do_not_alert(matcher: Matcher, title: str, text: str) -> None:
    assert TOPIC not in match(matcher, title, text).topics, title or text


def test_a_probe_says_what_happened_and_who_acted(matcher: Matcher) -> None:
    result = match(matcher, "Shenzhen police nab 12 in USDT laundering ring")
    assert result.actions == ("arrest",) and result.actors == ("mps",)
    result = match(matcher, "", "网信办下线一批炒币自媒体账号")
    assert result.actions == ("shutdown-block",) and result.actors == ("cac",)
    result = match(matcher, "", "法院判令返还比特币矿机托管押金")
    assert result.actions == ("judgment",)


@pytest.mark.parametrize(
    "text",
    [
        "Hong Kong police arrested four over a crypto scam. Police urged the public to stay alert.",
        "證監會表示，已將該虛擬資產平台列入可疑網站名單，受害人亦已向警方報案。",
    ],
)
def test_police_in_a_hong_kong_story_are_not_the_mainlands(matcher: Matcher, text: str) -> None:
    result = match(matcher, "", text)
    assert "mps" not in result.entities and TOPIC in result.topics


def test_police_in_a_story_naming_the_mainland_stay_mps(matcher: Matcher) -> None:
    text = "Hong Kong police and Shenzhen police arrested 12 over USDT laundering."
    assert "mps" in match(matcher, "", text).entities


def test_a_macau_story_naming_hong_kong_people_is_macaus(matcher: Matcher) -> None:
    text = (
        "Two Hong Kong residents were among five men that police detained for buying USDT "
        "with stolen funds in Macau's casinos."
    )
    assert TOPIC not in match(matcher, "", text).topics


def test_a_hong_kong_story_naming_a_macau_resident_is_hong_kongs(matcher: Matcher) -> None:
    text = (
        "警方昨日拘捕三名男子，涉嫌以虛擬貨幣清洗黑錢，其中一人為澳門居民。本港近年此類案件上升。"
    )
    result = match(matcher, "", text)
    assert TOPIC in result.topics and "money-laundering" in result.entities
