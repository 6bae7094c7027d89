"""A story's genre (crawler/genre.py): an explainer about the rules, or a report of an act.

Explainers, guides, Q&As and opinion pieces about China's crypto rules are full of
enforcement words and report no act: the topic rule sets them aside unless the lines
under the headline tell a specific act (a date, a count of people held, a named
defendant, a bulletin). The probes in tests/data/probes_*_s11*.jsonl measure it on
whole stories; these tests pin the pieces.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.fold import fold
from crawler.genre import GENRE, GenreReader
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory
from crawler.watchlist import builtin_watchlist

TOPIC = "china-crypto-enforcement"


@pytest.fixture(scope="module")
def reader() -> GenreReader:
    return GenreReader(builtin_watchlist())


def evidence_names(matcher: Matcher, title: str, text: str = "") -> set[str]:
    raw = RawStory("probe", "https://probe.invalid/1", title, text)
    return matcher.evidence(normalise(raw, fetched_at=datetime.now(UTC)))[0].names


def alerts(matcher: Matcher, title: str, text: str = "") -> bool:
    raw = RawStory("probe", "https://probe.invalid/1", title, text)
    return TOPIC in matcher.match(normalise(raw, fetched_at=datetime.now(UTC))).topics


def test_every_genre_word_is_read(reader: GenreReader) -> None:
    wrong = []
    for entity in builtin_watchlist().entities:
        if entity.category != GENRE:
            continue
        for alias in entity.aliases:
            if entity.key not in {key for _, _, key in reader.words(fold(alias).strip())}:
                wrong.append(f"{entity.key}: {alias!r}")
    assert wrong == []


@pytest.mark.parametrize(
    ("headline", "follow", "shape"),
    [
        ("Is bitcoin legal in China? A 2025 guide", "", "genre:question"),
        ("Explained: why Beijing keeps cracking down", "", "genre:form"),
        ("Five things to know about Hong Kong's crypto rules", "", "genre:form"),
        ("7 crypto scams Chinese police warn about", "", "genre:form"),
        ("How to buy crypto in China", "You may face frozen accounts.", "genre:address"),
        ("一文读懂虚拟货币监管", "", "genre:form"),
        ("持有虚拟货币违法吗？", "", "genre:question"),
        ("為什麼內地一再打擊虛擬貨幣挖礦", "", "genre:question"),
        ("比特币在中国的十年：从狂热到禁止", "", "genre:form"),
        ("出售U币被认定为帮信罪的常见情形", "", "genre:generic"),
        ("China can't ban its way out of crypto", "The columnist writes.", "genre:voice"),
        ("炒币有风险，这些“坑”千万别踩", "", "genre:address"),
    ],
)
def test_explainer_shapes(reader: GenreReader, headline: str, follow: str, shape: str) -> None:
    names = reader.names(fold(headline), fold(follow))
    assert shape in names and "genre:explainer" in names
    assert "genre:specific" not in names


@pytest.mark.parametrize(
    ("follow", "act"),
    [
        ("Shenzhen police said on Tuesday they had detained 30 people.", "genre:dated"),
        ("Police detained 12 suspects accused of laundering.", "genre:tally"),
        ("The court sentenced the 27-year-old to three years.", "genre:named"),
        ("The court in Jiangxi sentenced the former official.", "genre:sourced"),
        ("近日，东莞警方破获一起洗钱案，抓获犯罪嫌疑人21名。", "genre:tally"),
        ("日前，法院以帮信罪判处被告人李某有期徒刑一年。", "genre:named"),
        ("大概情况是 7 月 16 日，上海浦东新区人民法院公布了一起案件。", "genre:dated"),
        ("中新社通辽12月10日电 记者从公安局获悉。", "genre:sourced"),
    ],
)
def test_specific_acts(reader: GenreReader, follow: str, act: str) -> None:
    names = reader.names(fold("Explained: the case"), fold(follow))
    assert act in names and "genre:specific" in names and "genre:explained-act" in names


@pytest.mark.parametrize(
    "follow",
    [
        "Exchanges were banned in 2017 and offshore platforms in 2021.",
        "Sentences are usually under three years.",
        "2013年，央行等五部委发布通知；2021年9月24日，十部门发文。",
        "一个问题是，很多人不知道风险。",
    ],
)
def test_history_and_generic_counts_are_no_specific_act(reader: GenreReader, follow: str) -> None:
    assert "genre:specific" not in reader.names(fold("A guide"), fold(follow))


def test_a_speakers_you_is_no_address(reader: GenreReader) -> None:
    quoted = fold("“兄弟，帮我收一笔钱，给你好处费。”面对诱惑，小张没有拒绝。")
    assert "genre:address" not in reader.names(quoted, "")


def test_genre_is_read_only_in_a_story_with_an_act(matcher: Matcher) -> None:
    names = evidence_names(matcher, "What you need to know about bitcoin", "A guide for you.")
    assert not {n for n in names if n.startswith("genre:")}
    names = evidence_names(matcher, "Is bitcoin legal in China?", "China banned trading in 2021.")
    assert "genre:explainer" in names


def test_genre_words_are_no_hits_of_the_main_scan(matcher: Matcher) -> None:
    assert matcher.find("What you need to know: a guide, on Tuesday, 30 people") == []


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Is bitcoin legal in China? A 2025 guide",
            "Owning bitcoin is not illegal in mainland China, but exchanges are banned.",
        ),
        ("Why Chinese banks freeze the accounts of crypto traders", "Police trace fraud proceeds."),
        (
            "持有虚拟货币违法吗？律师为你解答",
            "在我国，个人持有比特币本身并不违法，但从事虚拟货币兑换业务属于非法金融活动。",
        ),
    ],
)
def test_explainers_do_not_alert(matcher: Matcher, title: str, text: str) -> None:
    assert not alerts(matcher, title, text)


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Explained: police arrest 12 in Guangzhou bitcoin laundering case",
            "Guangzhou police detained 12 suspects last week.",
        ),
        (
            "Why is Beijing suddenly going after crypto influencers? Weibo bans 50 accounts",
            "Weibo said on Wednesday it had banned 50 accounts that promoted crypto trading.",
        ),
        (
            "帮人买卖U币违法吗？这名男子被判刑",
            "日前，苏州市吴中区人民法院以帮助信息网络犯罪活动罪判处被告人李某有期徒刑一年。",
        ),
    ],
)
def test_news_in_an_explainers_form_alerts(matcher: Matcher, title: str, text: str) -> None:
    assert alerts(matcher, title, text)


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "SFC warns public against fake crypto platform",
            "The Securities and Futures Commission said you should not deal with the exchange.",
        ),
        ("警方提醒：虚拟货币投资骗局要警惕", "公安机关提醒您，要求您用USDT转账的都是诈骗。"),
        (
            "央行提醒：你参与的“数字货币”可能是非法集资",
            "人民银行相关负责人表示，虚拟货币相关业务活动属于非法金融活动。",
        ),
    ],
)
def test_a_warnings_you_is_the_warners(matcher: Matcher, title: str, text: str) -> None:
    """An authority's warning speaks to the public: its "you" makes no guide of it."""
    assert alerts(matcher, title, text)


# Court and police write-ups name their parties without 某 (小张, 陈先生, 甲公司), cite a
# case number, quote the judgment's own words (本院认为, 案涉, 上诉人) or a sentence's
# length: each tells a specific case, as a named defendant or a date does.
@pytest.mark.parametrize(
    ("follow", "act"),
    [
        ("小张经朋友介绍认识了“带单老师”小王，后亏损。", "genre:named"),
        ("原告陳先生要求歸還比特幣。", "genre:named"),
        ("王女士借给朋友USDT，到期未还。", "genre:named"),
        ("甲公司与乙公司签订矿机托管合同。", "genre:named"),
        ("A公司委托B公司代为购买泰达币。", "genre:named"),
        ("（2023）粤0304民初1234号判决：合同无效。", "genre:sourced"),
        ("(2024)沪01民终5678号 民间借贷纠纷", "genre:sourced"),
        ("上诉人徐某不服一审判决，提起上诉。", "genre:sourced"),
        ("本院认为，双方合同无效。", "genre:sourced"),
        ("案涉合同的标的物为矿机。", "genre:sourced"),
        ("法院以帮信罪判处有期徒刑一年。", "genre:tally"),
        ("區域法院判處男子監禁四年。", "genre:tally"),
    ],
)
def test_a_case_told_in_a_write_up_is_specific(reader: GenreReader, follow: str, act: str) -> None:
    names = reader.names(fold("法官说法｜炒币亏损能要求赔偿吗？"), fold(follow))
    assert act in names and "genre:specific" in names and "genre:explained-act" in names


@pytest.mark.parametrize(
    "follow",
    [
        "币圈小白往往不懂风险，金额小于限额的交易也可能涉案。",
        "通过小程序推广的“理财”多为骗局，老毛病又犯了。",
        "情节严重的，处三年以下有期徒刑或者拘役。",
        "法院一般认为，虚拟货币借贷不受法律保护。",
        "2021年起，各地法院陆续认定此类合同无效。",
        "假如小王借给朋友USDT，到期不还，能否起诉？",
        "比如，甲公司委托乙公司代购比特币，合同效力如何认定？",
    ],
)
def test_generic_law_talk_names_no_party(reader: GenreReader, follow: str) -> None:
    assert "genre:specific" not in reader.names(fold("一文读懂：炒币合同有效吗？"), fold(follow))


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "法官说法｜炒币亏了钱，能找“老师”赔吗？",
            "小张经朋友介绍认识了“带单老师”小王，在其指导下购买了某虚拟币，不料币价暴跌。"
            "法院认为，虚拟货币交易风险应由投资者自行承担，判决驳回小张的诉讼请求。",
        ),
        (
            "以案释法｜“挖矿”合同无效，损失谁来担？",
            "甲公司与乙公司签订矿机托管合同，约定由乙公司托管甲公司的比特币矿机。法院认为，"
            "案涉合同违反公序良俗，应属无效，判决驳回甲公司的诉讼请求。",
        ),
        # a question whether an act can happen (能否) heading a case told under it
        (
            "以案说法｜借USDT不还 能否起诉要求返还？",
            "原告李某与被告王某系朋友关系，王某向李某借用USDT 5万枚。法院认为，USDT等虚拟货币"
            "不具有法偿性，判决驳回原告诉讼请求。",
        ),
    ],
)
def test_a_court_write_up_of_a_case_alerts(matcher: Matcher, title: str, text: str) -> None:
    assert alerts(matcher, title, text)


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("借USDT不还 能否起诉要求返还？", "虚拟货币借贷通常不受法律保护，律师建议谨慎出借。"),
        ("法官解读：矿机买卖合同为何被认定无效", "司法实践中，此类合同常因违背公序良俗无效。"),
    ],
)
def test_a_court_explainer_with_no_case_does_not_alert(
    matcher: Matcher, title: str, text: str
) -> None:
    assert not alerts(matcher, title, text)


# An actor named right before a headline's colon answers its question: a report's
# sourcing (闲鱼：已全部下架), where a lawyer's answer or an actor elsewhere is not.
@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "二手平台上“矿机”交易火爆？闲鱼：已全部下架",
            "闲鱼相关负责人表示，平台严禁发布矿机及算力商品。",
        ),
        ("涉案虚拟币出海变现？公安部：严打", ""),
    ],
)
def test_an_actors_answer_to_a_question_headline_alerts(
    matcher: Matcher, title: str, text: str
) -> None:
    assert "genre:sourced" in evidence_names(matcher, title, text)
    assert alerts(matcher, title, text)


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("持有虚拟货币违法吗？律师：要看情况", "在我国，从事虚拟货币兑换业务属于非法金融活动。"),
        ("一文读懂：央行为何禁止虚拟货币交易", "虚拟货币交易炒作扰乱经济金融秩序。"),
    ],
)
def test_an_actor_not_before_the_colon_sources_nothing(
    matcher: Matcher, title: str, text: str
) -> None:
    assert not alerts(matcher, title, text)


@pytest.mark.parametrize(
    ("follow", "counted"),
    [
        ("平台已下架相关商品1200余件。", True),
        ("王某向李某借用USDT 5万枚。", True),
        ("涉案转账50余笔。", True),
        ("根据刑法第191条的规定。", False),
        ("人民银行等十部门发文。", False),
    ],
)
def test_goods_coins_and_payments_are_counted(
    reader: GenreReader, follow: str, counted: bool
) -> None:
    names = reader.names(fold("一文读懂虚拟币交易风险"), fold(follow))
    assert ("genre:tally" in names) is counted


# Users telling what was done to them source a platform story told under a question
# (支付宝账户被冻结？……多名用户反映); advice on what to do when it happens does not.
def test_users_reports_under_a_question_headline_are_news(matcher: Matcher) -> None:
    title = "支付宝账户被冻结？多名币圈玩家遭遇“风控”"
    assert alerts(matcher, title, "多名用户反映，因接收USDT交易款，其支付宝账户被冻结。")
    assert not alerts(
        matcher, "支付宝账户因炒币被冻结怎么办？", "律师建议，可携带材料向支付宝申诉。"
    )
