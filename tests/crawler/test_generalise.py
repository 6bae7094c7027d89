"""The filter beyond its written aliases: English forms by stem, overlapping CJK names."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from snowballstemmer.english_stemmer import EnglishStemmer

from crawler import inflect
from crawler.inflect import alias_forms
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory, Story

TOPIC = "china-crypto-enforcement"
DATA = Path(inflect.__file__).with_name("data")  # the watchlist and rules the filter is built from


def story(title: str, body: str = "") -> Story:
    return normalise(
        RawStory("s", "https://x.example/1", title, "", body), fetched_at=datetime.now(UTC)
    )


@pytest.mark.parametrize(
    "headline",
    [
        "Alipay blocks accounts used for OTC bitcoin trading",
        "Inner Mongolia closes crypto mines",
        "Tencent blocks WeChat accounts selling crypto",
    ],
)
def test_an_alias_covers_its_english_forms(matcher: Matcher, headline: str) -> None:
    assert TOPIC in matcher.match(story(headline)).topics


def test_forms_come_from_the_stem_not_from_guesses() -> None:
    assert set(alias_forms("block")) == {"block", "blocks", "blocked", "blocking"}
    assert {"closes", "closed", "closing"} <= set(alias_forms("close"))
    assert "bar" not in alias_forms("barred")  # the bare base of an inflected alias is not added
    assert alias_forms("ICO") == ["ICO"]  # not folded: acronyms are matched as written


def test_overlapping_cjk_names_both_count(matcher: Matcher) -> None:
    entities = matcher.match(story("", "微信支付宝均已封禁涉比特币交易的账户")).entities
    assert "wechat-pay" in entities and "alipay" in entities


def test_a_name_inside_a_longer_one_still_loses(matcher: Matcher) -> None:
    assert "exchange" not in matcher.match(story("", "上海证券交易所发布公告")).entities


def test_a_match_says_what_happened_and_who_acted(matcher: Matcher) -> None:
    result = matcher.match(
        story("Alipay blocks accounts used for OTC bitcoin trading", "Police arrested five.")
    )
    assert result.actions == ("shutdown-block", "arrest")
    assert result.actors[:2] == ("alipay", "mps")


def test_a_background_action_is_no_evidence(matcher: Matcher) -> None:
    result = matcher.match(story("Bitcoin soars despite China's ban on crypto trading"))
    assert TOPIC not in result.topics and result.actions == ()
    assert "ban" in result.entities  # still named, per the labelling rule


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Hong Kong SFC grants licence to two crypto exchanges", "Regulators said it was a step."),
        ("", "台中市警方破获比特币洗钱案，拘提车手及币商5人，查扣泰达币3万颗。"),
        ("", "澳门司警拘捕三名男子，涉嫌以虚拟货币洗钱。"),
        ("Bitcoin price rebounds above $34,000", "The latest crackdown in China was the catalyst."),
    ],
)
def test_rule_making_other_places_and_market_news_do_not_alert(
    matcher: Matcher, title: str, text: str
) -> None:
    assert TOPIC not in matcher.match(story(title, text)).topics


@pytest.mark.parametrize(
    "text",
    [
        "法院以帮信罪判处被告人有期徒刑一年，其为他人用U币结算诈骗资金。",
        "检察院以掩饰、隐瞒犯罪所得罪对三人提起公诉，涉案泰达币价值200万元。",
    ],
)
def test_chinese_case_law_without_the_usual_verbs(matcher: Matcher, text: str) -> None:
    result = matcher.match(story("", text))
    assert TOPIC in result.topics and result.actions


def test_a_regulator_named_after_a_foreign_place_is_foreign(matcher: Matcher) -> None:
    text = "印度最高法院宣布维持加密货币禁令，商业银行不得交易加密货币。"
    assert TOPIC not in matcher.match(story("", text)).topics


def test_a_generic_crypto_word_inside_a_longer_name_is_still_named(matcher: Matcher) -> None:
    entities = matcher.match(story("", "The cryptocurrency exchange Upbit was hacked.")).entities
    assert "virtual-currency" in entities
    assert "virtual-currency" in matcher.match(story("", "香港虛擬資產交易平台")).entities


@pytest.mark.parametrize(
    "text",
    [
        "Thai police arrested a man over a bitcoin theft in Bangkok.",
        "Police in Hong Kong arrested four people over a crypto fraud.",
    ],
)
def test_police_elsewhere_are_not_the_mainlands(matcher: Matcher, text: str) -> None:
    assert "mps" not in matcher.match(story("", text)).entities


def test_mainland_police_stay_mps(matcher: Matcher) -> None:
    text = "Shenzhen police arrested 12 over USDT laundering; two had fled to Thailand."
    assert "mps" in matcher.match(story("", text)).entities


@pytest.mark.parametrize(
    "text",
    [
        "The ruling party met in Beijing to discuss crypto.",
        "Chinese miners validate new blocks of bitcoin transactions.",
        "China's new rules on crypto take effect.",
    ],
)
def test_nouns_are_not_taken_for_an_actions_forms(matcher: Matcher, text: str) -> None:
    assert matcher.match(story("", text)).actions == ()


def test_the_stems_come_from_the_c_build_of_the_stemmer() -> None:
    """PyStemmer (a dependency): the pure-Python Snowball costs each filter build 0.4 s."""
    assert type(inflect._STEMMER).__module__ == "Stemmer"


def test_the_c_stemmer_gives_the_pure_python_stems_of_every_watchlist_form() -> None:
    """The forms the filter is built with do not depend on which build of Snowball runs."""
    text = "\n".join(p.read_text("utf-8") for p in DATA.glob("*.toml")).lower()
    words = {w for w in re.findall(r"[a-z]+", text) if len(w) >= inflect.MIN_LENGTH}
    words |= {form for word in words for form in inflect._candidates(word)}
    pure = EnglishStemmer()
    differ = sorted(w for w in words if inflect.stem(w) != pure.stemWord(w))
    assert len(words) > 1000 and not differ, differ[:20]
