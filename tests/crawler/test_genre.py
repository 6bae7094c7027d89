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
def matcher() -> Matcher:
    return Matcher(builtin_watchlist())


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
