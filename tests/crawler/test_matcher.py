"""The filter, table-driven: what must match, what must not, and where."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory
from crawler.watchlist import Entity, Topic, Watchlist, builtin_watchlist

TOPIC = "china-crypto-enforcement"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(builtin_watchlist())


def story(title: str, summary: str = "") -> object:
    return normalise(
        RawStory("s", "https://x.example/1", title, summary), fetched_at=datetime.now(UTC)
    )


@pytest.mark.parametrize(
    ("title", "summary", "entities", "alerts"),
    [
        (
            "Alipay to cut off accounts used for bitcoin OTC trading",
            "",
            {"alipay", "otc", "bitcoin", "cut-off"},
            True,
        ),
        ("支付宝将关停用于比特币场外交易的账户", "", {"alipay", "otc", "bitcoin", "cut-off"}, True),
        ("支付寶將關停比特幣場外交易賬戶", "", {"alipay", "bitcoin", "otc", "cut-off"}, True),
        ("央行等七部门：全面叫停ICO代币发行融资", "", {"pboc", "ico", "ban"}, True),
        ("PBoC bans ICOs", "", {"pboc", "ico", "ban"}, True),
        ("Bitcoin price climbs above $11,000", "", {"bitcoin"}, False),
        ("Alipay launches tap-to-pay in Europe", "", {"alipay"}, False),
        ("比特币价格突破8万元人民币", "", {"bitcoin"}, False),
        ("Unrelated story about the weather", "", set(), False),
    ],
)
def test_topic_and_entities(
    matcher: Matcher, title: str, summary: str, entities: set[str], alerts: bool
) -> None:
    result = matcher.match(story(title, summary))
    assert set(result.entities) == entities
    assert (TOPIC in result.topics) is alerts


@pytest.mark.parametrize(
    "text",
    ["Alipayment systems", "the icon set", "OTCBB listing", "photocopy", "bannister"],
)
def test_latin_aliases_match_whole_words_only(matcher: Matcher, text: str) -> None:
    assert matcher.find(text) == []


def test_latin_alias_next_to_chinese_text_matches(matcher: Matcher) -> None:
    assert [h.entity for h in matcher.find("全面叫停ICO融资")] == ["ban", "ico"]


def test_case_and_width_are_folded_and_offsets_point_at_the_original(matcher: Matcher) -> None:
    text = "News: ＡＬＩＰＡＹ and ALIPAY"
    hits = [h for h in matcher.find(text) if h.entity == "alipay"]
    assert [text[h.start : h.end] for h in hits] == ["ＡＬＩＰＡＹ", "ALIPAY"]


def test_offsets_survive_characters_that_fold_to_several(matcher: Matcher) -> None:
    text = "Straße ﬁ: Alipay bans"  # ß and the ﬁ ligature change length when folded
    (hit,) = [h for h in matcher.find(text) if h.entity == "alipay"]
    assert text[hit.start : hit.end] == "Alipay"


def test_hits_record_their_field(matcher: Matcher) -> None:
    result = matcher.match(story("PBoC statement", "The central bank banned ICOs"))
    fields = {(h.entity, h.field) for h in result.hits}
    assert ("pboc", "title") in fields and ("ico", "summary") in fields


def test_rule_with_not_excludes() -> None:
    watchlist = Watchlist(
        entities=(
            Entity("btc", "crypto", "Bitcoin", "比特币", ("bitcoin",)),
            Entity("price", "market", "Price", "价格", ("price",)),
        ),
        topics=(Topic("no-price", "x", "x", "crypto AND NOT price"),),
    )
    m = Matcher(watchlist)
    assert m.match(story("bitcoin news")).topics == ("no-price",)
    assert m.match(story("bitcoin price")).topics == ()
