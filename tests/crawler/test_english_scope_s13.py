"""English place and actor scope, standing bans, private quarrels and game tokens.

Each case is a general form the blind sets' errors take, not one story: a foreign
enforcer named with a possessive and a modifier ("Canada's securities regulator"), by a
US state, a Japanese or Korean city or a named agency; prosecutors named by their place
("Fujian prosecutors" acting, "Thai authorities" only handing the man over); a ban named
as a standing state in a price story; a court settling a private quarrel or an employee's
claim; tokens of a game; the top court's published cases and plain-English refusals. Each
has a twin on the other side.
"""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from tests.probing import match

TOPIC = "china-crypto-enforcement"


@pytest.mark.parametrize(
    ("title", "text"),
    [
        ("Canada's securities regulator bans crypto platform run from Hong Kong", ""),
        ("Wyoming judge orders Chinese-owned bitcoin mine to close", ""),
        ("Ohio police arrest Chinese nationals in crypto ATM scam", ""),
        ("Osaka police arrest Chinese student over crypto fraud", ""),
        ("Incheon customs seize crypto hardware smuggled by Chinese traders", ""),
        ("Met Police seize bitcoin from Chinese fraud suspect", ""),
        ("Crown Prosecution Service charges Chinese woman with bitcoin laundering", ""),
        ("US top securities cop charges Hong Kong crypto trader", ""),
        ("Feds charge Chinese bitcoin miner with sanctions violations", ""),
        (
            "Prosecutors seek 12-year term for crypto exchange founder",
            "The Shilin District Prosecutors Office said the platform took NT$2 billion.",
        ),
    ],
)
def test_a_foreign_enforcer_named_by_place_or_agency_is_foreign(
    matcher: Matcher, title: str, text: str
) -> None:
    assert TOPIC not in match(matcher, title, text).topics, title


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Chinese fugitive returned from Thailand to stand trial over crypto fraud",
            "Fujian prosecutors have charged the man, who was sent back by Thai authorities"
            " in March, with fraud involving a fake digital currency.",
        ),
        ("Shanghai prosecutors charge 14 over USDT underground bank", ""),
    ],
)
def test_prosecutors_named_by_a_chinese_place_are_a_chinese_actor(
    matcher: Matcher, title: str, text: str
) -> None:
    assert TOPIC in match(matcher, title, text).topics, title


def test_us_prosecutors_stay_foreign(matcher: Matcher) -> None:
    result = match(matcher, "US prosecutors charge Chinese nationals over crypto laundering")
    assert TOPIC not in result.topics


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Ether jumps 8% as Hong Kong volume surges; mainland ban still in force",
            "Traders in Hong Kong led buying, though mainland Chinese investors remain barred.",
        ),
        ("Bitcoin rallies with China's mining ban still in place", ""),
    ],
)
def test_a_standing_ban_in_a_price_story_is_background(
    matcher: Matcher, title: str, text: str
) -> None:
    assert TOPIC not in match(matcher, title, text).topics, title


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Hong Kong court sides with crypto investor in dispute with ex-partner",
            "The High Court ruled the partner must return 50 bitcoin held on trust.",
        ),
        (
            "Hong Kong judge orders crypto fund manager to pay ex-employee's bonus in tokens",
            "The Labour Tribunal ruled the fund must honour a contract promising 40,000 tokens.",
        ),
        (
            "Shenzhen police bust ring selling stolen game tokens",
            "Officers arrested 12 people who hacked player accounts and sold in-game tokens.",
        ),
    ],
)
def test_private_quarrels_and_game_tokens_are_not_crypto_enforcement(
    matcher: Matcher, title: str, text: str
) -> None:
    assert TOPIC not in match(matcher, title, text).topics, title


@pytest.mark.parametrize(
    ("title", "text", "act"),
    [
        (
            "Crypto debts not enforceable, Chinese top court reaffirms in new guidance case",
            "The Supreme People's Court published a ruling in which a lower court rejected a"
            " claim for repayment of a Tether loan.",
            "judgment",
        ),
        (
            "Sichuan county pulls plug on crypto mines hidden in hydropower stations",
            "Local officials said 40 sites had been found by inspectors.",
            "shutdown-block",
        ),
        ("Police in Zhejiang round up 30 over blockchain game fraud", "", "arrest"),
    ],
)
def test_plain_english_acts_alert(matcher: Matcher, title: str, text: str, act: str) -> None:
    result = match(matcher, title, text)
    assert TOPIC in result.topics and act in result.actions, (title, result.actions)


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Report of Hong Kong exchange raid false, SFC says",
            "The regulator said it had not searched any virtual asset platform this week.",
        ),
        (
            "Beijing dismisses rumours of crypto amnesty",
            "A central bank official said reports that the ban would be lifted for Hong"
            " Kong-registered platforms were groundless.",
        ),
        (
            "Hong Kong court hears crypto firm's bid to block rival's trademark",
            "The High Court is considering whether the exchange's new logo infringes a brand.",
        ),
    ],
)
def test_denied_reports_and_trademark_fights_are_not_enforcement(
    matcher: Matcher, title: str, text: str
) -> None:
    assert TOPIC not in match(matcher, title, text).topics, title


def test_a_punished_ex_official_is_news_not_an_old_officials_view(matcher: Matcher) -> None:
    result = match(
        matcher,
        "Ex-official's crypto mining at state plant earns party expulsion",
        "The provincial discipline commission said the former official had used his post to"
        " run bitcoin mining machines at a power plant.",
    )
    assert TOPIC in result.topics and "penalty" in result.actions, result.actions


@pytest.mark.parametrize(
    ("title", "text"),
    [
        # the foreign place in the first sentence, the enforcer generic in the headline
        (
            "Chinese national jailed for 7 years over crypto romance scam",
            "The judge at the sentencing hearing in Sydney said the man had preyed on victims.",
        ),
        (
            "Police arrest Chinese nationals running crypto scam from rented villas",
            "The raid took place in Phuket, where officers found 200 phones and crypto wallets.",
        ),
        (
            "Crypto ATM operator with Hong Kong parent fined",
            "New Zealand's Department of Internal Affairs said the operator failed to check"
            " customers.",
        ),
        (
            "Chinese tech worker charged with stealing crypto from employer",
            "Prosecutors in San Jose said he transferred $5 million of tokens to his own wallet.",
        ),
    ],
)
def test_a_generic_enforcer_in_a_story_placed_abroad_is_foreign(
    matcher: Matcher, title: str, text: str
) -> None:
    assert TOPIC not in match(matcher, title, text).topics, title


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Court jails Chinese man who ran crypto scam from Cambodia",
            "The Wenzhou Intermediate People's Court said he lured 2,000 victims in China.",
        ),
        (
            "Police bust USDT money-laundering gang",
            "The gang moved scam proceeds to Cambodia through Tether, officers in Shenzhen said.",
        ),
        (
            "Macau-born trader jailed in Hong Kong for crypto fraud",
            "The District Court in Hong Kong jailed the man for 30 months.",
        ),
    ],
)
def test_a_scams_base_a_birthplace_or_proceeds_abroad_leave_the_chinese_act(
    matcher: Matcher, title: str, text: str
) -> None:
    assert TOPIC in match(matcher, title, text).topics, title


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Crypto market shrugs as China repeats warning on speculation",
            "Bitcoin was little changed after the central bank's reminder.",
        ),
        (
            "Ether price slides as China ban rumours swirl again",
            "Traders blamed an unverified post.",
        ),
    ],
)
def test_markets_unmoved_by_talk_are_no_event(matcher: Matcher, title: str, text: str) -> None:
    assert TOPIC not in match(matcher, title, text).topics, title


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Virtual asset scam sites exposed by securities regulator",
            "The SFC said the sites had used fake licences to lure Hong Kong investors.",
        ),
        (
            "Hong Kong watchdog lists crypto platform as suspicious",
            "The Securities and Futures Commission said it had received complaints.",
        ),
    ],
)
def test_the_sfcs_suspicious_list_in_other_words_alerts(
    matcher: Matcher, title: str, text: str
) -> None:
    result = match(matcher, title, text)
    assert TOPIC in result.topics, title
