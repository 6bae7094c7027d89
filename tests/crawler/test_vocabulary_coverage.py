"""The enforcement vocabulary, word by word, in the sentences it is written in.

Session 11 went through the working vocabulary of mainland and Hong Kong enforcement
(criminal procedure, charges, administrative and platform acts, Hong Kong's police and
court wording, crypto slang; English headline verbs and institutions) with each word
set in a short story that has everything else the topic needs. These are the words
that were missing then: each must make its story alert. The near misses use the same
words where they are no act of ours (a denial, a rumour, a game studio's own closure,
a Macau court, "steered clear").
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory

TOPIC = "china-crypto-enforcement"

# (template, words): "{}" is replaced by each word; " || " splits title from text.
MUST_ALERT: list[tuple[str, list[str]]] = [
    (
        "深圳警方：利用USDT转移赃款的张某已被{}",
        ["取保候审", "监视居住", "拘传", "行政拘留", "劝返"],
    ),
    (
        "张某因帮诈骗团伙买卖泰达币被{}",
        ["取保候审", "监视居住", "领刑三年"],
    ),
    (
        "男子帮人买卖虚拟币 {}",
        ["被移送起诉", "认罪认罚", "检察院提出抗诉", "警方发布悬赏通缉"],
    ),
    (
        "深圳警方查处一起利用{}洗钱案",
        ["链游", "冷钱包", "钱包地址", "助记词", "搬砖套利", "传销币", "永续合约", "币币交易"],
    ),
    (
        "法院以{}判处利用虚拟币转移赃款的被告人",
        ["拒不履行信息网络安全管理义务罪", "侵犯公民个人信息罪", "开设赌场罪", "受贿罪"],
    ),
    (
        "{}发布风险提示：警惕以虚拟货币为名的非法集资",
        ["处非办", "打非办", "某市防范和处置非法集资工作领导小组办公室", "人民银行某中心支行"],
    ),
    (
        "帮诈骗团伙买卖泰达币 深圳一男子{}",
        ["退赃20万元", "退赔被害人损失"],
    ),
    (
        "某省{}关闭一批虚拟货币交易网站",
        ["通信管理局"],
    ),
    (
        "抖音对3000余个虚拟货币荐币账号{}",
        ["限流", "断播", "回收账号"],
    ),
    (
        "某地证监局对一家涉虚拟货币业务的公司{}",
        ["采取行政监管措施", "约见谈话"],
    ),
    (
        "原告诉请返还购买比特币款项 法院{}",
        ["不予受理", "认为不属于人民法院受理范围"],
    ),
    (
        "本港男子涉加密貨幣騙案{}",
        ["被帶署", "保釋候查", "收監", "律政司申請刑期覆核", "遭截查"],
    ),
    (
        "Chinese police {} crypto laundering gang",
        ["collar", "haul in", "quiz", "hunt down", "track down", "foil", "lock up"],
    ),
    (
        "Shenzhen court {} bitcoin scam boss",
        ["acquits", "quashes ruling on", "tries"],
    ),
    (
        "Hong Kong police {} three over crypto fraud",
        ["take into custody", "pick up", "catch"],
    ),
    (
        "Shenzhen police bust gang that laundered money through {}",
        ["digital collectibles", "coin dealers", "crypto wallets", "TRX"],
    ),
    (
        "Chinese court jails man over {} scam",
        ["play-to-earn", "seed phrase", "cryptojacking", "privacy coins"],
    ),
    (
        "Fugitive in crypto pyramid case {} || Police in Hunan said the suspect was back.",
        ["returned to China", "escorted back from Cambodia"],
    ),
    (
        "Hong Kong man {} over crypto laundering charge",
        ["remanded", "denied bail"],
    ),
    (
        "{} warns public about crypto scams",
        ["Hong Kong's Department of Justice", "Commercial Crime Bureau"],
    ),
    (
        "China's securities regulator {} firm over crypto token sales",
        ["censures", "publicly criticises", "takes measures against", "moves against"],
    ),
    # Session 12: U in quotes whatever the verb, and a catch whose police go unnamed
    (
        "男子{}赚差价 涉嫌帮信罪被刑拘",
        ["倒卖“U”", "搬「U」"],
    ),
    (
        "男子在出租屋内私接电线挖矿{}",
        ["被查获", "被当场查获"],
    ),
    # where the crime was done abroad, the suspect brought home: China's police act
    (
        "男子{}用USDT洗钱 回国后被警方抓获",
        ["在柬埔寨", "在缅北", "在迪拜"],
    ),
    (
        "30名虚拟币诈骗嫌疑人从缅甸被{}",
        ["押解回国", "遣返回国"],
    ),
    (
        "{}联合行动 抓获虚拟币诈骗嫌疑人200余名",
        ["中缅警方", "中柬警方"],
    ),
    # a judgment enforced: the court's enforcement division at work
    (
        "执行法官追踪链上地址 {}一笔USDT",
        ["成功执行", "强制执行"],
    ),
    (
        "县法院：一笔泰达币{}",
        ["执行到位", "执行完毕"],
    ),
]

MUST_NOT_ALERT: list[tuple[str, str]] = [
    ("某交易所创始人：从未被通缉", "某交易所创始人在社交平台澄清，关于其被通缉的传闻不实。"),
    ("某链游项目宣布停止运营 代币暴跌九成", "项目方在社交平台发布公告称，游戏将于下月关闭服务器。"),
    (
        "Court of First Instance jails man for crypto swap fraud",
        "The man cheated a mainland visitor at a hotel in Taipa, promising to swap cash for USDT.",
    ),
    (
        "Hong Kong court grants bail to crypto trader in US extradition case",
        "The man is wanted in the US on wire fraud charges.",
    ),
    (
        "Tron's Justin Sun buys Hong Kong mansion",
        "Sun, who moved to Singapore after Chinese authorities questioned him over an ICO, paid.",
    ),
    ("Hong Kong Web3 association launches to promote self-regulation", ""),
    ("新旗舰手机跑分曝光 安兔兔成绩突破250万", "某品牌新机在安兔兔跑分平台现身。"),
    ("“U”型反转！比特币一周涨回六万美元", "分析人士认为，资金回流推动了反弹。"),
    ("泰国警方：中国籍男子用“U”为诈骗团伙洗钱被查获", "曼谷警方称，该男子已被拘留。"),
    ("泰国警方在曼谷抓获3名中国籍虚拟币诈骗嫌疑人", ""),
    ("中老年人投资虚拟币被骗 韩国警方抓获诈骗团伙", "首尔警方称，已逮捕12人。"),
    ("其中缅甸警方抓获虚拟币诈骗嫌疑人20名", ""),
    ("美国法院强制执行 比特币交易所须赔偿用户", ""),
    ("一文读懂：虚拟币借贷判决能否强制执行？", "法院一般认为虚拟币借贷不受法律保护。"),
]


def _alerts(matcher: Matcher, title: str, text: str = "") -> bool:
    raw = RawStory("probe", "https://probe.invalid/1", title, text)
    return TOPIC in matcher.match(normalise(raw, fetched_at=datetime.now(UTC))).topics


@pytest.mark.parametrize(
    "story",
    [tpl.replace("{}", word) for tpl, words in MUST_ALERT for word in words],
)
def test_the_word_makes_its_story_alert(matcher: Matcher, story: str) -> None:
    assert _alerts(matcher, *story.split(" || ")), story


@pytest.mark.parametrize(("title", "text"), MUST_NOT_ALERT, ids=[t for t, _ in MUST_NOT_ALERT])
def test_the_same_words_in_a_near_miss_do_not(matcher: Matcher, title: str, text: str) -> None:
    assert not _alerts(matcher, title, text), title
