"""The filter beyond its written aliases: English forms by stem, overlapping CJK names."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crawler.inflect import alias_forms
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory, Story
from crawler.watchlist import builtin_watchlist

TOPIC = "china-crypto-enforcement"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(builtin_watchlist())


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
