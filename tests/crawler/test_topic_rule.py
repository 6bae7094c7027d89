"""The default topic on hand-written headlines (tests/data/filter_challenge.jsonl).

One test per headline, so a failure names the story. The set probes the rule in
both directions; the `c23`+ and `n21`+ cases are about whose enforcement it is:
a Chinese crackdown that mentions London or the US in passing must alert, a
foreign enforcer acting on Chinese nationals must not.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory
from tests.probing import shipped_matcher

TOPIC = "china-crypto-enforcement"
CHALLENGE = Path(__file__).resolve().parents[1] / "data" / "filter_challenge.jsonl"
CASES: list[dict[str, Any]] = [
    json.loads(line) for line in CHALLENGE.read_text("utf-8").splitlines() if line.strip()
]


def alerts(matcher: Matcher, title: str, text: str = "") -> bool:
    raw = RawStory("challenge", "https://challenge.invalid/1", title, text)
    return TOPIC in matcher.match(normalise(raw, fetched_at=datetime.now(UTC))).topics


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_challenge_headline(matcher: Matcher, case: dict[str, Any]) -> None:
    assert alerts(matcher, case["title"], case["text"]) is bool(case["label"]), case["title"]


def test_the_challenge_set_covers_both_directions_and_languages() -> None:
    seen = {(case["lang"], case["label"]) for case in CASES}
    assert seen == {("en", 0), ("en", 1), ("zh", 0), ("zh", 1)}
    assert len({case["id"] for case in CASES}) == len(CASES)


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Police bust USDT underground bank", "Two suspects had fled to London, police said."),
        ("法院判决：比特币交易合同无效", "上周，伦敦一家基金公司发布了年度报告。"),
        ("Beijing orders platforms to halt crypto services", "The US and Japan moved earlier."),
    ],
)
def test_a_foreign_place_in_passing_does_not_veto(matcher: Matcher, title: str, text: str) -> None:
    """The old rule dropped these: any foreign name anywhere vetoed the story."""
    assert alerts(matcher, title, text)


@pytest.mark.parametrize(
    "title",
    [
        "South Korean police arrest Chinese nationals over crypto scam",  # foreign enforcer
        "US authorities seize bitcoin from Chinese money launderers",  # foreign authorities
        "US Justice Department charged Chinese nationals with laundering crypto",  # agency + verb
        "韩国警方逮捕涉加密货币诈骗的中国籍嫌疑人",
    ],
)
def test_a_foreign_enforcer_vetoes_even_with_chinese_names(matcher: Matcher, title: str) -> None:
    assert not alerts(matcher, title)


@pytest.mark.parametrize(
    ("title", "text", "expected"),
    [
        # the marker sets the lead's only action aside: background, not the event
        ("Bitcoin rallies despite Beijing's crypto ban", "Traders shrugged off the news.", False),
        # a marker that holds the action word itself sets it aside too
        (
            "Hong Kong's crypto influencers go quiet after arrests",
            "Many promoters have deleted posts about unlicensed exchanges.",
            False,
        ),
        # the marker governs no action: the lead's event stands
        (
            "China's FX regulator targets crypto used to dodge capital controls",
            "SAFE said it would punish underground banks that settle trades in virtual currency.",
            True,
        ),
    ],
)
def test_a_lead_marker_frames_the_lead_only_when_it_sets_an_action_aside(
    matcher: Matcher, title: str, text: str, expected: bool
) -> None:
    assert alerts(matcher, title, text) is expected


# A civil claim in the headline (追討, 索赔) is no market talk: the court's refusal told under
# it is the act (civil courts refusing crypto claims are in scope); a civil claim with no
# refusal stays out.
def test_a_civil_claim_refused_by_a_court_alerts() -> None:
    matcher = shipped_matcher()
    refused = RawStory(
        "probe",
        "https://probe.invalid/1",
        "為何法院不支持追討比特幣？",
        "本案中，原告陳先生要求被告歸還其代為保管的比特幣，區域法院駁回申索。",
    )
    divided = RawStory(
        "probe",
        "https://probe.invalid/2",
        "离婚时追讨比特币",
        "法院判决双方各分得一半比特币。",
    )
    assert TOPIC in matcher.match(normalise(refused, fetched_at=datetime.now(UTC))).topics
    assert TOPIC not in matcher.match(normalise(divided, fetched_at=datetime.now(UTC))).topics
