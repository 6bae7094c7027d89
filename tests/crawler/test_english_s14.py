"""Session 14, English: each vocabulary fix with its twin, a near miss it must not catch.

Foreign enforcement named by a regulator the vocabulary did not know, or by a
"<country>'s watchdog", with Hong Kong or China only in passing; SFC disqualifications;
mining deadlines and power stopped; courts declining to hear crypto claims; a case opened;
rumours told as "unconfirmed reports" or social-media claims; a ban negated or forgotten;
a mainland platform named only as a foreign defendant's tool (the topic rule's scope).
"""

from __future__ import annotations

import pytest

from crawler.matcher import Matcher
from tests.probing import match

TOPIC = "china-crypto-enforcement"


def _alerts(matcher: Matcher, title: str, text: str = "") -> bool:
    return TOPIC in match(matcher, title, text).topics


# (fix: must alert or must not, twin: the opposite, in nearly the same words)
PAIRS = [
    # a foreign regulator by name or as "<country>'s watchdog"; a Chinese watchdog is ours
    (
        (
            "Consob blacks out crypto websites",
            "Italy's market watchdog ordered the blocking of"
            " five sites, two of them run from Hong Kong.",
            False,
        ),
        ("China's securities watchdog bans brokers from crypto trading", "", True),
    ),
    (
        ("Bappebti bans crypto firm once based in Hong Kong", "", False),
        ("Hong Kong's securities watchdog bans former crypto fund manager for life", "", True),
    ),
    (
        (
            "",
            "The Guardia di Finanza said it had seized crypto worth 8 million euros from a"
            " company registered in Hong Kong.",
            False,
        ),
        (
            "",
            "Police said they had seized crypto worth HK$8 million from a company registered in"
            " Hong Kong.",
            True,
        ),
    ),
    # the SFC's disqualification orders; a British court's is not ours
    (
        ("SFC secures disqualification of former director over crypto investments", "", True),
        ("UK court disqualifies director of collapsed crypto lender", "", False),
    ),
    # the SFC's list with the asset inside its words; Singapore's list is not ours
    (
        ("SFC names 12 suspicious crypto websites", "", True),
        ("Singapore's MAS adds suspicious crypto websites to investor alert list", "", False),
    ),
    # miners given a deadline; a foreign deadline to register is not ours
    (
        ("Bitcoin miners in Inner Mongolia given deadline to exit", "", True),
        ("Kazakhstan gives crypto miners deadline to exit", "", False),
    ),
    # power stations told to stop selling power; a firm stopping its own sales is business
    (
        (
            "Local grid in Yunnan cuts supply to miners",
            "Officials said hydropower stations must stop selling power to mining farms.",
            True,
        ),
        ("Tencent to stop selling NFTs in restructuring", "", False),
    ),
    # a Chinese court declining to hear a crypto claim; the US Supreme Court is not ours
    (
        ("Judges in Beijing decline to hear crypto dispute", "", True),
        ("US Supreme Court declines to hear crypto case", "", False),
    ),
    # a mainland court's civil refusal in other words; a Hong Kong insolvency order is civil
    (
        ("Chinese court: bitcoin mining deal against public interest", "", True),
        ("Hong Kong court sets aside bankruptcy order against crypto trader", "", False),
    ),
    (
        ("Shenzhen court sets aside arbitral award over bitcoin trades", "", True),
        ("Singapore court sets aside arbitral award over bitcoin trades", "", False),
    ),
    (
        ("Chinese court won't protect bitcoin loans, rules against lender", "", True),
        ("Crypto investors must bear their own losses, says Hong Kong lawmaker", "", False),
    ),
    # 清退 as "clears out"; Kazakhstan's clear-out is not ours
    (
        ("Heilongjiang clears out crypto mining farms", "", True),
        ("Kazakhstan clears out illegal crypto mining farms", "", False),
    ),
    # a case opened by police; Seoul's police are not ours
    (
        ("Chengdu police open case into bitcoin trading platform collapse", "", True),
        ("Seoul police open case into crypto exchange collapse", "", False),
    ),
    # JD's finance arm by its Chinese name, policing and not
    (
        ("Jingdong Finance terminates services to users trading crypto", "", True),
        ("Jingdong Finance launches blockchain supply chain product", "", False),
    ),
    # a rumour online is no act; a raid confirmed is
    (
        (
            "Crypto markets jittery on unconfirmed reports of new Chinese crackdown",
            "Posts on social media claimed the People's Bank of China would ban USDT transfers.",
            False,
        ),
        ("Reports confirmed: Shenzhen police raid crypto OTC desks", "", True),
    ),
    # a crackdown only weighed or denied is no act; one made, or a suspect's denial, is
    (
        ("Chinese regulators said to weigh crackdown on crypto OTC desks", "", False),
        ("Chinese regulators crack down on crypto OTC desks", "", True),
    ),
    (
        ("Hong Kong police deny arresting crypto influencer", "", False),
        ("Hong Kong police arrest crypto influencer who denies fraud", "", True),
    ),
    # a ban negated in a comparison is no act; "does not tolerate ... has ordered" is
    (
        (
            "",
            "The European Banking Authority, unlike the People's Bank of China, does not ban"
            " crypto but has told banks to monitor exposure.",
            False,
        ),
        (
            "",
            "The PBoC does not tolerate crypto trading and has ordered 30 platforms to shut down.",
            True,
        ),
    ),
    # Hong Kong as a suspect's past home is no place of the story's; Hong Kong's own is
    (
        (
            "",
            "Brazil's Federal Revenue Service said it had frozen crypto worth $8 million"
            " belonging to a fraud ring, some of whose members had previously lived in Hong"
            " Kong.",
            False,
        ),
        (
            "",
            "Police said they had frozen crypto worth $8 million belonging to a fraud ring"
            " operating in Hong Kong.",
            True,
        ),
    ),
    # a foreign agency named as its press release opens; a Chinese one is ours
    (
        (
            "",
            "HMRC said it had seized crypto worth $8 million from a Chinese-run fraud ring.",
            False,
        ),
        (
            "",
            "Shanghai police said they had seized crypto worth $8 million from a fraud ring.",
            True,
        ),
    ),
    # a mainland platform as a foreign defendant's tool is no Chinese actor; acting, it is
    (
        (
            "",
            "Korean prosecutors indicted a man who used Alipay accounts to sell stolen crypto"
            " to buyers.",
            False,
        ),
        ("Alipay freezes accounts of Korean crypto scam suspects", "", True),
    ),
    # "after China ban" with no article is background too; a ban after an event is news
    (
        ("Investors bear losses as bitcoin plunges after China ban", "", False),
        ("China bans crypto mining after Inner Mongolia blackout", "", True),
    ),
    # a ban the market forgets is background; a ban made as prices move is news
    (
        ("Bitcoin's hash rate hits record as miners forget China ban", "", False),
        ("Bitcoin falls as China bans mining", "", True),
    ),
]


@pytest.mark.parametrize(
    ("title", "text", "alerts"),
    [
        pytest.param(*case, id=f"{i}{side}")
        for i, pair in enumerate(PAIRS)
        for side, case in zip("ab", pair, strict=True)
    ],
)
def test_fix_and_twin(matcher: Matcher, title: str, text: str, alerts: bool) -> None:
    assert _alerts(matcher, title, text) == alerts, title or text
