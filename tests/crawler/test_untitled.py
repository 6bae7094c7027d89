"""Stories with no title (a third of the real corpora): the text's first sentence is the lead
and the next one its opening, as a headline and the sentence under it would be."""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from tests.probing import match

TOPIC = "china-crypto-enforcement"
SHENZHEN = (
    "深圳市委金融办发布风险提示：近期虚拟货币交易炒作活动有所抬头，"
    "建议群众尽快退出，并向公安机关投诉。"
)


@pytest.mark.parametrize("prefix", [". ", "! ", "。", "? ", "… ", "!! "])
def test_a_stop_before_any_word_ends_no_lead(matcher: Matcher, prefix: str) -> None:
    """Markup debris before the first word (". " left by a feed) must not empty the lead."""
    clean = TOPIC in match(matcher, "", SHENZHEN).topics
    assert clean
    assert (TOPIC in match(matcher, "", prefix + SHENZHEN).topics) == clean


@pytest.mark.parametrize(
    ("headline", "opening"),
    [
        (
            "Shanghai central bank branch moves to nip crypto businesses in the bud",
            "The branch has launched a campaign to crack down on crypto trading in Shanghai,"
            " it said on Friday.",
        ),
        (
            "Wuhan regulators want token projects gone before they grow",
            "The city's financial office has started a campaign against virtual currency"
            " trading and mining, it said on Monday.",
        ),
    ],
)
def test_an_untitled_story_reads_its_second_sentence_as_the_opening(
    matcher: Matcher, headline: str, opening: str
) -> None:
    titled = TOPIC in match(matcher, headline, opening).topics
    untitled = TOPIC in match(matcher, "", f"{headline}. {opening}").topics
    assert titled and untitled


@pytest.mark.parametrize(
    "text",
    [
        "Shanghai central bank branch moves to nip crypto businesses in the bud. The branch"
        " said bitcoin prices had been volatile, on Friday.",
        "Wuhan regulators want token projects gone before they grow. Analysts said the city"
        " hosts several blockchain start-ups, on Monday.",
    ],
)
def test_an_untitled_story_with_no_act_in_either_sentence_stays_out(
    matcher: Matcher, text: str
) -> None:
    assert TOPIC not in match(matcher, "", text).topics
