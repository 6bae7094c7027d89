"""Chinese stories that only look like crypto enforcement, and acts told in mainland shapes.

Each case pairs a cause with its counterpart, so a fix for one class cannot pass by
dropping the other: a prepaid or game token, or a digital collectible alone, is no crypto
token but an issued 代币 or a collectible traded for USDT is; a
rumour denied is no act but a denial beside a real arrest keeps it; a ban named as a time
(禁令前, 已过四年) is background but an act after it is news; a commercial suit is no
enforcement but a court voiding a mining contract is; a place the mainland press leaves
unnamed (某县) and a service taken away (停用, 不再提供) are an actor and an act.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import MatchResult, RawStory

TOPIC = "china-crypto-enforcement"


def _match(matcher: Matcher, title: str, text: str = "") -> MatchResult:
    raw = RawStory("zh13", "https://zh13.invalid/1", title, text)
    return matcher.match(normalise(raw, fetched_at=datetime.now(UTC)))


# Money and vouchers that are no coin: a game's or a car wash's token, the renminbi in quotes
NOT_CRYPTO = [
    "洗车店大量推销预付“洗车代币”后关门，市场监管部门介入调查。",
    "电玩城的代币卡无法退款，消费者向市场监管局投诉。",
    "冒充“数字人民币”推广员骗取验证码，3人被警方抓获。",
    "游戏公司允许玩家把游戏代币兑换成现金，被文化执法部门罚款。",
    # a digital collectible alone: sold on a permissioned chain, with no coin
    "某数字藏品平台实际控制人以虚假宣传诱导用户高价购买藏品，已被警方刑事拘留。",
]
STILL_CRYPTO = [
    "某公司以数字藏品为名公开发行代币、非法吸收公众资金，负责人被批捕。",
    "平台发行所谓“积分币”吸收资金，警方立案侦查。",
    "犯罪团伙在数字藏品平台高价互买藏品洗白赃款，再兑换成USDT转出境外，警方抓获18人。",
]


@pytest.mark.parametrize("text", NOT_CRYPTO)
def test_a_voucher_or_the_renminbi_is_no_crypto(matcher: Matcher, text: str) -> None:
    result = _match(matcher, "", text)
    assert "crypto" not in result.signals, text
    assert TOPIC not in result.topics, text


@pytest.mark.parametrize("text", STILL_CRYPTO)
def test_an_issued_token_or_a_quoted_coin_stays_crypto(matcher: Matcher, text: str) -> None:
    assert TOPIC in _match(matcher, "", text).topics, text


@pytest.mark.parametrize(
    ("title", "text", "alerts"),
    [
        # the act is the rumour's; nothing happened
        (
            "数字资产平台高管“被带走调查”？平台：消息不实",
            "近日网传某数字资产交易平台高管被警方带走。该平台称相关消息不实，已向公安机关报案。",
            False,
        ),
        (
            "网传“明年起持有虚拟币违法”？官方未发布此类规定",
            "近日网上流传“明年起个人持有虚拟币将违法”的说法。记者查询发现，有关部门并未发布此类规定。",
            False,
        ),
        (
            "网传“公安部将严查所有虚拟币持有者” 系谣言",
            "经核实，该消息系谣言，公安部从未发布相关通知。",
            False,
        ),
        # a denial beside a real act: the act stands
        (
            "市公安局刑拘虚拟币交易平台实际控制人 冻结涉案资金",
            "该平台上月曾发布声明否认“跑路”，称运营一切正常。",
            True,
        ),
    ],
    ids=["question-denied", "rule-never-made", "rumour", "denial-beside-an-arrest"],
)
def test_a_denied_act_is_none(matcher: Matcher, title: str, text: str, alerts: bool) -> None:
    assert (TOPIC in _match(matcher, title, text).topics) is alerts, title


@pytest.mark.parametrize(
    ("title", "text", "alerts"),
    [
        ("比特币站上11万美元 距中国全面清退挖矿已过四年", "", False),
        ("比特币重回9万美元 中国矿工份额已从禁令前的七成降至两成", "", False),
        ("清退后仍偷偷“挖矿” 县公安局查获矿机80台", "", True),
        # a price through a level: market news, whatever ban its text recalls
        (
            "比特币突破8万美元 矿业股普涨",
            "比特币价格周二突破8万美元。值得注意的是，中国2021年禁止挖矿后，"
            "多家中国矿企已在美国上市。",
            False,
        ),
        # a past act as the cause of what followed
        (
            "",
            "比特币近日突破12万美元，而回到2021年，中国全面清退挖矿和交易的决定曾让币价腰斩。",
            False,
        ),
        ("", "该虚拟币平台曾让数千名投资者血本无归，近日县公安局已对其负责人刑事拘留。", True),
    ],
    ids=[
        "years-since",
        "pre-ban",
        "act-after-the-ban",
        "price-level",
        "past-cause",
        "act-after-a-past-cause",
    ],
)
def test_a_ban_named_as_a_time_is_background(
    matcher: Matcher, title: str, text: str, alerts: bool
) -> None:
    assert (TOPIC in _match(matcher, title, text).topics) is alerts, title


@pytest.mark.parametrize(
    ("title", "text", "alerts"),
    [
        (
            "矿机芯片专利纠纷一审宣判 被告赔偿300万元",
            "某知识产权法院认定被告侵犯原告发明专利权，判令其停止侵权并赔偿损失300万元。",
            False,
        ),
        ("区块链公司前高管劳动仲裁胜诉", "法院判决公司支付违法解除劳动合同赔偿金60万元。", False),
        (
            "法院判决：代购矿机合同无效",
            "法院认为，双方以比特币“挖矿”为目的签订的矿机买卖合同违背公序良俗，应属无效。",
            True,
        ),
    ],
    ids=["patent", "labour", "void-mining-contract"],
)
def test_a_commercial_suit_is_no_enforcement(
    matcher: Matcher, title: str, text: str, alerts: bool
) -> None:
    assert (TOPIC in _match(matcher, title, text).topics) is alerts, title


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "某县彻底清理关停虚拟货币“挖矿”项目",
            "某县召开专项整治会议，对3个“挖矿”项目全部清理关停。",
        ),
        ("微信“卖U”账号被停用", "有网友称其因出售USDT，微信账号被停用，无法使用支付功能。"),
        (
            "微信支付不再支持向虚拟币商户付款",
            "微信支付表示，将不再为涉虚拟货币交易的商户提供支付服务。",
        ),
    ],
    ids=["unnamed-county", "account-disabled", "service-withdrawn"],
)
def test_an_unnamed_mainland_place_and_a_service_withdrawn_alert(
    matcher: Matcher, title: str, text: str
) -> None:
    assert TOPIC in _match(matcher, title, text).topics, title


def test_a_firm_moving_abroad_is_its_own_business(matcher: Matcher) -> None:
    title = "嘉楠科技：停止境内矿机销售 业务全面转向海外"
    text = "嘉楠科技公告称，公司已停止在中国境内销售矿机，相关业务全部转移至海外。"
    assert TOPIC not in _match(matcher, title, text).topics


@pytest.mark.parametrize(
    ("title", "text", "alerts"),
    [
        # a listed firm's stock exchange, not a crypto one
        (
            "某上市公司因“区块链”概念炒作收监管函",
            "某上市公司因发布涉及区块链业务的不实信息引发股价异常波动，被交易所出具监管函。",
            False,
        ),
        # crypto named only to be denied
        (
            "某区块链公司创始人因合同诈骗被判刑 案件与数字货币无关",
            "该创始人虚构业绩骗取货款，被法院以合同诈骗罪判处有期徒刑六年。",
            False,
        ),
        # goods cleared by a platform: the act done
        (
            "闲鱼卖“矿机”的店铺一夜之间都不见了",
            "不少用户发现，闲鱼上售卖比特币矿机的店铺近日集体消失。"
            "闲鱼方面回应，平台依据平台规则，对涉及虚拟货币挖矿的商品进行了清理。",
            True,
        ),
    ],
    ids=["stock-exchange-letter", "crypto-denied", "goods-cleared"],
)
def test_who_acts_on_what(matcher: Matcher, title: str, text: str, alerts: bool) -> None:
    assert (TOPIC in _match(matcher, title, text).topics) is alerts, title


@pytest.mark.parametrize(
    ("title", "text", "alerts"),
    [
        # the grid's inspectors find the power theft and cut the supply: an actor
        (
            "查处窃电“挖矿”！一用户被追补电费58万元",
            "近日，公司营销稽查人员在某工业园区开展用电检查时，发现一企业将窃取的电量用于"
            "虚拟货币“挖矿”。公司依法对其中止供电。",
            True,
        ),
        # who owns a domain is a civil question, whatever the site is about
        (
            "法院审理一起比特币主题网站域名纠纷",
            "某区法院近日审理一起涉比特币主题网站的域名权属纠纷，法院当庭未宣判。",
            False,
        ),
    ],
    ids=["grid-inspectors", "domain-dispute"],
)
def test_power_theft_found_by_the_grid_and_a_civil_dispute(
    matcher: Matcher, title: str, text: str, alerts: bool
) -> None:
    assert (TOPIC in _match(matcher, title, text).topics) is alerts, title
