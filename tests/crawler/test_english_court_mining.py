"""English court, civil, mining and police stories in the words the hidden sets' misses use.

Each case is a general form, not one story: a Chinese court refusing a crypto claim in
plain English ("not valid", "turned down the claim", "threw out the suit"), a ruling
attributed after it ("..., rules Chinese court"), a plea as a noun, inspectors sent out
as the enforcer, a court's write-up of one case read as news rather than an explainer,
and a headline framed by "after arrests" whose first sentence reports the arrests. Each
has a near miss that must stay out.
"""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from tests.probing import match

TOPIC = "china-crypto-enforcement"


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Investor loses bid to recover USDT from trading partner",
            "The Suzhou court turned down the claim, saying disputes over virtual currency"
            " trades fall outside what it can support.",
        ),
        (
            "Bitcoin mining machine contract declared null by Shenzhen court",
            "Judges declined to order payment for the 500 machines.",
        ),
        (
            "Chinese judges throw out suit over lost bitcoin",
            "A Hangzhou court threw out the lawsuit, finding the loan agreement was not valid.",
        ),
    ],
)
def test_a_court_refusing_a_crypto_claim_in_plain_english_alerts(
    matcher: Matcher, title: str, text: str
) -> None:
    result = match(matcher, title, text)
    assert TOPIC in result.topics and "judgment" in result.actions, title


@pytest.mark.parametrize(
    "title",
    [
        # a ruling attributed after it: the court's name stays a Chinese actor
        "Lender can't reclaim bitcoin loan, rules Chinese court",
        # a court disposing of a claim or a deal in a phrasal verb
        "Chinese judges throw out investor's claim over lost crypto",
        "Shanghai court strikes down crypto trading agreement",
        # 公序良俗 and 典型案例 in English
        "Bitcoin mining deals violate public order and good morals, Beijing judges say",
        "Guangzhou court publishes typical cases on virtual currency disputes",
        # supply stopped
        "Sichuan tells power plants to stop supplying crypto miners",
        "Yunnan grid to stop power supply to crypto miners",
        # arrests and trials in headline words
        "Xiamen police take bitcoin OTC traders into custody",
        "Shenzhen bitcoin Ponzi boss in the dock",
        # a Hong Kong district names Hong Kong
        "Bitcoin mine raid: three held in Yuen Long",
        # police in headline slang
        "Jiangsu cops net OTC crypto dealers",
        # trials and hearings
        "Crypto Ponzi fraud trial begins in Jiangsu",
        "Bitcoin fraud defendants face court in Hangzhou",
        "Court hears case of Shenzhen USDT money launderers",
    ],
)
def test_english_court_mining_and_police_headlines_alert(matcher: Matcher, title: str) -> None:
    assert TOPIC in match(matcher, title).topics, title


@pytest.mark.parametrize(
    ("title", "text"),
    [
        (
            "Man who borrowed USDT from friend jailed for fraud",
            "A Guangzhou court sentenced the man to three years after he fled with the coins.",
        ),
        (
            "Crypto exchange boss ordered to repay customers after conviction",
            "The Hangzhou court also sentenced him to six years for illegal business operations.",
        ),
    ],
)
def test_a_criminal_sentence_is_no_civil_matter(matcher: Matcher, title: str, text: str) -> None:
    result = match(matcher, title, text)
    assert TOPIC in result.topics and "judgment" in result.actions, title


def test_a_civil_claim_with_no_criminal_court_stays_civil(matcher: Matcher) -> None:
    result = match(
        matcher,
        "Investor sues Shanghai exchange to repay lost bitcoin",
        "The investor lent 10 bitcoin to the platform and wants it back, his lawyer said.",
    )
    assert TOPIC not in result.topics


def test_an_adverb_since_frames_nothing(matcher: Matcher) -> None:
    result = match(
        matcher,
        "",
        "Police in Yunnan found 300 sites drawing power for crypto mining; they have since"
        " been disconnected.",
    )
    assert TOPIC in result.topics and "shutdown-block" in result.actions


def test_public_security_bureaus_are_the_mainlands_in_a_lead_naming_a_foreign_place(
    matcher: Matcher,
) -> None:
    result = match(
        matcher,
        "",
        "Public security bureaus in three provinces detained 46 people accused of converting"
        " scam proceeds into Tether for gangs in Southeast Asia.",
    )
    assert TOPIC in result.topics


def test_a_guilty_plea_is_a_prosecution(matcher: Matcher) -> None:
    result = match(
        matcher,
        "Guilty plea in HK$50m crypto fraud",
        "A 38-year-old man admitted in the District Court yesterday to defrauding 60 investors.",
    )
    assert TOPIC in result.topics and "prosecution" in result.actions


def test_inspectors_sent_out_are_an_enforcer(matcher: Matcher) -> None:
    result = match(
        matcher,
        "Inspectors sweep data centres for hidden bitcoin mines",
        "Energy inspectors in Henan are checking every data centre in the province.",
    )
    assert TOPIC in result.topics


def test_a_court_write_up_of_one_case_is_news_not_an_explainer(matcher: Matcher) -> None:
    result = match(
        matcher,
        "Chinese court backs bank's freeze of crypto trader's account",
        "The court dismissed the trader's lawsuit, finding that the bank was right to freeze"
        " his card after it received funds from USDT sales linked to fraud.",
    )
    assert TOPIC in result.topics


def test_a_headline_after_arrests_that_its_lead_reports_alerts(matcher: Matcher) -> None:
    result = match(
        matcher,
        "Money mules recruited to open crypto accounts, police say after arrests",
        "Hong Kong police detained 25 people who opened accounts on crypto platforms for a"
        " syndicate.",
    )
    assert TOPIC in result.topics and "arrest" in result.actions


@pytest.mark.parametrize(
    ("title", "text"),
    [
        # the arrests only as the cause of something else, no act under the headline
        (
            "Hong Kong's crypto influencers go quiet after arrests",
            "Many promoters have deleted posts about unlicensed exchanges.",
        ),
        # an explainer about the courts' line, no case of its own
        (
            "Explained: can Chinese courts enforce crypto contracts?",
            "Chinese courts have in recent years treated many crypto contracts as void, and"
            " lawyers say the picture is mixed.",
        ),
        # policy talk of support is no court refusing a claim
        (
            "Beijing would not support a bitcoin reserve, officials say",
            "China's officials said a crypto reserve was not on the agenda.",
        ),
        # Vietnam's police, a ministry of public security of its own
        (
            "Vietnam's Ministry of Public Security arrests crypto scam ring",
            "Police in Hanoi detained 12 people who ran a fake crypto exchange.",
        ),
        # a court abroad striking down a deal, a price story switching off
        (
            "Singapore court strikes down crypto lender's restructuring plan",
            "The High Court rejected the plan of a lender whose customers are mostly Chinese.",
        ),
        (
            "Miners switch off rigs as bitcoin price slumps",
            "Operators in Texas and Ethiopia powered down older machines this week.",
        ),
        # a rule or a proposal no longer valid is no court refusing a claim
        (
            "Hong Kong Stock Exchange says old listing rules not valid for crypto firms",
            "The exchange said companies holding bitcoin must follow new guidance.",
        ),
        (
            "Hong Kong lawmakers invalidate proposal on crypto tax",
            "The Legislative Council voted against the motion.",
        ),
        # another country's public security department
        (
            "Kazakhstan's public security department detains crypto miners",
            "Kazakh police said they were Chinese nationals.",
        ),
        # a trial by fire is no court's
        (
            "Bitcoin price: miners face trial by fire as hashprice slumps",
            "Chinese-speaking miners in Texas are switching off rigs.",
        ),
        # a pilot trial is no criminal one
        (
            "Hong Kong e-HKD trial begins with stablecoin pilots",
            "The HKMA said the second phase of the trial would test tokenised deposits.",
        ),
        # officials throwing out a plan, miners powering down their own rigs, a lawmaker's
        # view of losses
        (
            "Chinese officials throw out plan for bitcoin reserve",
            "The central bank said it had no plans to hold bitcoin.",
        ),
        (
            "Chinese miners power down rigs ahead of halving",
            "Operators in Sichuan said older machines would be unprofitable.",
        ),
        (
            "Crypto investors must bear their own losses, says Hong Kong lawmaker",
            "The lawmaker said retail investors should be careful.",
        ),
        # inspectors abroad
        (
            "Kazakh inspectors sweep mining farms run by Chinese firms",
            "Inspectors in Kazakhstan checked 40 crypto mining farms for unpaid power bills.",
        ),
    ],
)
def test_near_misses_stay_out(matcher: Matcher, title: str, text: str) -> None:
    assert TOPIC not in match(matcher, title, text).topics, title
