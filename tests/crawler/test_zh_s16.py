"""Session 16's Chinese fixes, each beside the near miss it must not catch.

A debt between firms (拖欠矿机货款, 欠付推广费) or a brand copied (商标纠纷) is commerce even
when the goods are miners or the debtor an exchange, but a court voiding the contract acts;
an appeal dismissed (驳回上诉) in a civil quarrel says only that the lower court stands, but a
claim to crypto refused still acts, and a criminal appeal dismissed is still a judgment; a
surcharge on mining power told per unit (每千瓦时加价, 加收电费) is a penalty, abroad it is
not ours; a rumour an official confirms beside a hard act (网传……？警方通报：已刑拘) happened,
one denied or unconfirmed did not; a self-custody wallet named by brand (imToken) is crypto,
but its business news is no act; a clean-up told as a time (国内停止挖矿后) sets a business
story, not an act; a mainland street named after Macau (澳门路派出所) is no Macau; a
platform's tipping coins and a park's tokens in quotes (“抖币”, “景区代币”) are no coin; AI's
compute leased (人工智能算力租赁) is no mining; hash power in quotes (以“算力”为名) names a scheme;
a bare exchange among listed firms or commodities (上市公司, 非法期货) is no crypto exchange;
police appealing to be on guard (呼籲市民提高警覺) warn, and a crime count at a record
(騙案損失創新高) is no price story; an act said never ordered (未接到通知) or a freeze put
down to routine risk control (系正常风控) answers hearsay (网曝, 有网友称); a civil court
ordering stolen crypto returned to its owner (被盗) protects it, one refusing the claim acts,
and police on the theft act.
"""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from tests.probing import match

TOPIC = "china-crypto-enforcement"

CASES = [
    # a debt or a brand between firms is commerce; a contract voided is not
    (
        "交易所合作方起诉拖欠推广费",
        "一家营销公司起诉某数字资产交易平台拖欠广告推广费用，法院判决被告支付费用。",
        False,
    ),
    (
        "交易所合作方起诉索要推广费 法院：合同无效",
        "一家营销公司起诉某数字资产交易平台索要推广费，法院认为为虚拟货币交易提供推广服务违反"
        "金融管理秩序，合同无效，驳回其诉讼请求。",
        True,
    ),
    (
        "因购买矿机欠款 某公司被判支付",
        "某科技公司拖欠比特币矿机货款，法院判令其支付欠款及利息。",
        False,
    ),
    (
        "因购买矿机欠款 法院：买卖合同无效",
        "某科技公司拖欠比特币矿机货款，法院认为挖矿活动违背公序良俗，买卖合同无效，驳回诉讼请求。",
        True,
    ),
    (
        "数字货币钱包商标纠纷：法院判被告停止使用",
        "某公司起诉另一公司在其虚拟货币钱包App中使用近似商标，法院判令停止使用。",
        False,
    ),
    # an appeal dismissed in a firms' quarrel; a crypto claim refused; a criminal appeal
    (
        "区块链公司股权转让纠纷二审宣判",
        "双方就某数字货币钱包公司的股权转让款发生争议，二审法院驳回上诉，维持原判。",
        False,
    ),
    (
        "区块链公司股权转让纠纷二审宣判",
        "双方约定以比特币支付股权转让款，一审法院驳回原告要求交付比特币的诉讼请求，二审驳回上诉。",
        True,
    ),
    (
        "“收U”洗钱案二审宣判",
        "被告人为诈骗团伙收购泰达币转移赃款，二审法院裁定驳回上诉，维持原判。",
        True,
    ),
    # a power surcharge on mining told per unit or as a fee; abroad it is not ours
    ("贵州对“挖矿”企业加收电费", "省能源局通知，对虚拟货币挖矿用电每千瓦时加价0.2元。", True),
    ("伊朗对“挖矿”企业加收电费", "伊朗能源部通知，对虚拟货币挖矿用电每千瓦时加价0.2元。", False),
    # a rumour confirmed beside a hard act; one denied, one unconfirmed
    (
        "网传某交易所被查？警方通报：已刑拘5人",
        "网传某数字货币交易平台被查一事，警方通报称，该平台涉嫌诈骗，已刑事拘留5名犯罪嫌疑人。",
        True,
    ),
    (
        "网传某交易所被查？警方通报：系谣言",
        "网传某数字货币交易平台被查并有5人被刑事拘留，警方通报称系谣言。",
        False,
    ),
    (
        "网传某地查封比特币矿场？官方：未证实",
        "网传某地查封比特币矿场，官方称尚未证实。",
        False,
    ),
    # a wallet named by brand is crypto; its business news is no act
    (
        "数字钱包imToken暂停中国大陆用户服务",
        "imToken宣布，将不再为中国大陆IP用户提供服务，相关用户需在限期内转出资产。",
        True,
    ),
    ("数字钱包imToken完成新一轮融资", "imToken宣布完成新一轮融资，将用于拓展海外市场。", False),
    # a clean-up told as the time after it (停止挖矿后) is a business story's setting; an act
    # told after it is still news
    (
        "矿机商：国内停止挖矿后 海外订单占九成",
        "某矿机厂商财报显示，其海外订单占比已达九成。",
        False,
    ),
    (
        "国内停止挖矿后 某地警方仍查获一处比特币矿场",
        "警方在某废弃厂房内查获比特币矿机200台，抓获嫌疑人3名。",
        True,
    ),
    # a mainland street named after Macau is no Macau; Macau's police are
    (
        "普陀区澳门路派出所破获利用泰达币洗钱团伙",
        "该团伙替诈骗团伙收购USDT转移赃款，已抓获12人。",
        True,
    ),
    (
        "澳门治安警察局破获利用泰达币洗钱团伙",
        "该团伙替诈骗团伙收购USDT转移赃款，已拘捕12人。",
        False,
    ),
    # a platform's tipping coins or a park's tokens in quotes are no coin; a crypto coin is
    ("警方破获利用“抖币”洗钱案 抓获12人", "犯罪团伙利用抖币为诈骗团伙转移资金。", False),
    ("警方破获利用“景区代币”洗钱案 抓获12人", "犯罪团伙利用景区代币为诈骗团伙转移资金。", False),
    ("警方破获利用“狗狗币”洗钱案 抓获12人", "犯罪团伙利用狗狗币为诈骗团伙转移资金。", True),
    # AI's compute leased is no hash power; hash power leased for mining coins is
    (
        "警方破获“算力租赁”诈骗案 涉案2亿元",
        "犯罪团伙以投资人工智能算力租赁为名骗取投资者资金2亿元，警方抓获嫌疑人20名。",
        False,
    ),
    (
        "警方破获“算力租赁”诈骗案 涉案2亿元",
        "犯罪团伙以出租比特币挖矿算力为名骗取投资者资金2亿元，警方抓获嫌疑人20名。",
        True,
    ),
    # hash power in quotes names a scheme, not hash-rate news
    (
        "以“算力”为名集资 平台实为“空气币”骗局",
        "警方查明，某平台以出售云算力挖币为名发行空气币吸收资金，已立案侦查。",
        True,
    ),
    (
        "全网算力创新高 矿工收益下滑",
        "比特币全网算力突破新高，警方此前查处的矿场已全部关停。",
        False,
    ),
    # a bare exchange among shares or commodities is a stock or commodity exchange; one
    # with a crypto word, or a named crypto exchange, is not
    (
        "交易所对三家公司发出监管函",
        "交易所近日对三家上市公司发出监管工作函，要求其说明业绩波动原因。",
        False,
    ),
    (
        "交易所对三家平台发出监管函",
        "交易所近日对三家虚拟货币平台发出监管工作函，要求其停止为境内用户服务。",
        True,
    ),
    (
        "某交易平台涉嫌非法期货交易被查",
        "警方查明，某大宗商品交易平台从事非法期货活动，涉案金额10亿元。",
        False,
    ),
    ("币安涉嫌非法期货交易被查", "警方查明，币安为境内用户提供合约交易，已冻结相关账户。", True),
    # an authority's appeal to be on guard over a crime count at a record is a warning, no
    # price story; the same count with no crypto is none of ours
    (
        "香港警方：加密貨幣騙案損失創新高",
        "警方公布，今年上半年涉及加密貨幣的投資騙案損失逾20億元，呼籲市民提高警覺。",
        True,
    ),
    (
        "香港警方：投資騙案損失創新高",
        "警方公布，今年上半年投資騙案損失逾20億元，呼籲市民提高警覺。",
        False,
    ),
    ("比特幣價格創新高", "比特幣今日升破12萬美元，分析師呼籲市民提高警覺。", False),
    # an act said never ordered (当地：未接到通知) or a freeze put down to routine risk control
    # (系正常风控) answers hearsay; an act confirmed does not
    (
        "传言四起！某地矿场被查？当地：未接到通知",
        "网传某地比特币矿场被集中查处。当地发改委工作人员表示，未开展此类行动。",
        False,
    ),
    (
        "网曝某银行冻结炒币用户账户？银行：系正常风控",
        "有网友称其银行卡因炒币被冻结。银行客服回应称，该账户因交易异常触发正常风控。",
        False,
    ),
    (
        "网传某地矿场被查？当地：确有此事 已关停12家",
        "网传某地比特币矿场被集中查处。当地发改委回应称确有此事，已对12家矿场实施关停断电。",
        True,
    ),
    # a civil court ordering stolen crypto returned (被盗) protects it; one refusing the claim
    # acts, and so do police on the theft
    (
        "比特币被盗 法院判令返还",
        "法院认为，比特币具有财产属性，被告非法占有原告比特币，应予返还。",
        False,
    ),
    (
        "比特币被盗 法院驳回返还请求",
        "法院认为，虚拟货币不受法律保护，驳回原告要求被告返还比特币的诉讼请求。",
        True,
    ),
    ("比特币被盗 警方抓获嫌疑人", "警方破获一起盗窃比特币案，抓获犯罪嫌疑人2名。", True),
]


@pytest.mark.parametrize(("title", "text", "alerts"), CASES, ids=[c[0] or c[1][:12] for c in CASES])
def test_s16_case(matcher: Matcher, title: str, text: str, alerts: bool) -> None:
    assert (TOPIC in match(matcher, title, text).topics) is alerts, (title, text)
