"""Chinese title+lead probes written blind in sessions 8 to 10, with their entity labels.

`tests/data/probes_zh_s8.jsonl` and `probes_zh_s9*.jsonl` are in the corpus format
(`crackdown eval` reads them). Session 8's:
stories written for this test in the styles of Xinhua and People's Daily, the
financial press, police and procuratorate WeChat posts, judgments, regulators'
notices, Hong Kong papers in traditional script and crypto media, with phrasing
the vocabulary had not seen (链游, 云算力, 助记词, U队, 双开, 入稟...). Half must alert,
half are near misses (prices, licensing, Macau, Taiwan and foreign enforcement,
Chinese enforcement with no crypto, retrospectives). Each batch (id prefix
s8bN) was scored before the fixes it prompted; the figures are in the README.
Session 9's (s9bN) aim at procedure (取保候审, 不起诉决定, 罚金, 追缴), slang (U商, 搬砖,
卡农, 承兑商) and regulators' wording (风险提示, 约谈, 责令整改, 下架), against the same near
misses plus commentary and e-CNY. Session 10's (s10a-s10k) aim at structure: background
told with outcome words and frames (曾被判, 在……的背景下), rule-making and guidance in
Hong Kong, civil claims, drama and look-backs, Taiwan's and Macau's bodies. Session 11's
(s11a-s11d) are explainers (持有虚拟货币违法吗？, 一文读懂, 律师说法, 盘点) and news told in
their shape (揭秘！……破获, 以案说法 with a named case): a and b scored before the genre check,
d after its first version, c held out of all tuning. Entities follow the corpus README's
naming rule. Its s11v1-s11v5 aim at enforcement vocabulary: procedure (取保候审,
监视居住, 领刑, 退赃), charges, platform governance, Hong Kong's police and court wording
and crypto jargon (链游, 搬砖, 钱包地址); s11v4 and s11v5 were held out of tuning.
Session 12's (s12a-s12f) aim at
county police posts, platform account actions, local regulators' warnings and court
write-ups (法院认为, 本案中, 法官提醒; civil rulings on USDT loans, 委托炒币, 矿机);
d was written after a first look at the misses, e after the first fixes; c and f
were held out of all tuning (f written after the fixes, scored on the old code too).
Session 13's (s13a-s13d) aim at look-alikes: non-crypto enforcement with crypto-adjacent
words (game and shop tokens, points, digital collectibles), e-CNY, government blockchain,
rumours and denials, price stories naming a past ban, commercial suits, Macau and Hong Kong
licensing; and at platform actions without 禁止, mining found by place or power theft,
party discipline and civil rulings. a and b were scored before the fixes, d after a first
look at their misses; c was held out of all tuning and of the veto's training
(heldout_zh_s13c.jsonl); e and f were written after the first fixes and scored on the
old code too (f then prompted the fixes for 清理 done, stock exchanges' letters and crypto
denied, 与数字货币无关); g, written after those, prompted the grid's inspectors as an
actor and ownership disputes as civil; h needed no fix (scored on the old code too); i,
written last, prompted two (a rule said never made, 官方未发布此类规定; a price through a
level, 突破8万美元).
Session 14's (s14a-s14j) aim at the classes the older blind sets still got wrong: platform
actions, civil rulings, police cases and warnings told in new words (回应称, 禁言, 是陷阱,
县政府决定), discipline bodies and mining by place; and at non-crypto Chinese enforcement with
crypto-adjacent words (a gambling den's or a park's 代币, points, e-CNY, virtual goods),
rumours debunked, commercial suits, mining abroad. a and b were scored before any fix, d, e
and f after the first look (f after the first fixes, scored on the old code too), g, h (a
warning beside its authority's name, a guide's reminder), i and j (near misses found by hand:
a household tariff, a game's coin market, a price through a level) after those;
c was held out of all tuning and of the veto's training (heldout_zh_s14c.jsonl).
Session 15's (s15a-s15f) aim at the same classes told in more ways (platform freezes and
closures, civil rulings, warnings, mining by place and power price, party sanctions, the SFC
and Hong Kong police in traditional script) beside their near misses; each was scored before
the fixes it led to (a 1.000, b 0.966, d 0.929, e 0.966 by F1; f, written after them, 1.000),
and template sweeps found most fixes. c was held out (heldout_zh_s15c.jsonl: F1 0.867 at the
start, 0.903 at the end).
Session 16's (s16a-s16d) come from template sweeps: a Taiwan and Macau enforcers against Hong
Kong's in both scripts (F1 0.947 before any fix), b commercial suits between firms against
courts voiding crypto contracts (0.750), c price stories with the ban as background, crypto
named in passing, look-alike tokens, rumours and foreign cases (0.923), d platforms' own
actions, police warnings, discipline bodies, mining by place and power price, the SFC in
Chinese (0.976); e, after the first fixes (0.963 on the old code): Taiwan's and Macau's
enforcers in simplified script against mainland places that hold their names (台州, 澳门路),
platforms' own actions against the same on gambling, price stories told after a clean-up
(国内停止挖矿后); f (0.718 on the old code): money laundered through quoted tipping coins and
tokens (“抖币”, “景区代币”) against crypto, AI's compute (人工智能算力租赁) against hash power.
g (0.500 on the old code): stock and commodity exchanges named bare (交易所, 交易平台) beside
listed firms and futures; h (0.947 on the old code): warnings told as alerts (紧急提醒！,
@所有人, 呼籲市民提高警覺) against the same with no crypto; i (0.400 on the old code):
rumours answered or confirmed, explainers and guides; j (0.941 on the old code, written
after the bench): civil rulings refusing crypto claims against courts protecting crypto;
k (1.000, no fix): Taiwan and Macau cases naming the mainland, cross-strait police work, Hong
Kong's rule-making against its enforcement. heldout_zh_s16a.jsonl was held out of all tuning.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.learned import LearnedVeto
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory

TOPIC = "china-crypto-enforcement"
DATA = Path(__file__).parent.parent / "data"

# id -> why the filter still gets it wrong (strict: a probe that starts passing must leave)
XFAIL: dict[str, str] = {
    "s8b3-zh-005": "fundraising 'under the metaverse's cloak' names no crypto word; 元宇宙 alone"
    " is as often industrial policy",
    "s10d-zh-024": "a game firm fined over game coins (游戏币) whose title also says 代币 (token):"
    " 代币 is the ICO rules' own word for crypto tokens, and nothing marks the game sense",
    "s10e-zh-021": "a regulator's yearly enforcement count (stock cases, 調查) that names crypto"
    " only as a future focus in a later clause (將加強監察虛擬資產): nothing ties the crypto"
    " word to an act",
    "s10i-zh-024": "a police reminder about impersonation scams that names 虚拟币 as one thing"
    " police never ask for (as en8c-036): crypto is in the body's list, not the warning's subject",
    "s11d-zh-004": "an outlet's advice piece (这些“坑”千万别踩) whose only authority is a generic"
    " police reminder (公安机关提醒广大群众): a warning's 'you' is taken as the warner's, so the"
    " reader addressed makes no guide of it",
    "s11v5-zh-002": "a project's own coin named bare (积分币, not in quotes) in a 'blockchain"
    " farming' fundraising case: no crypto word (held-out batch, left untuned)",
    "s12e-zh-024": "a platform's own listing rule (闲鱼上线专区，严禁挖矿用途) read as a ban: a"
    " business call with a prohibition word and a platform",
    "s12c-zh-017": "a police reminder listing risky acts (民警提醒：这些行为可能让你……): a"
    " warning's 'you' is the warner's, so nothing marks it as advice (held-out batch, untuned)",
    "s12d-zh-022": "a police reminder about scammers' 'high price for U' (民警提醒)"
    " alerts"
    " like s12c-zh-017; only the session-11 veto, trained on it, dropped it",
    "s13c-zh-024": "held-out batch (a police denial of a rumour): left untuned",
    "s14d-zh-021": "a pension scam sold as quoted “数字资产” (a 数字养老卡) with no coin:"
    " 数字资产 is crypto in most news, and nothing but the product marks this one",
    "s14c-zh-009": "held-out batch (a discipline body on an official's crypto): left untuned",
    "s15b-zh-002": "an unnamed trading platform's own freeze (账户被风控，暂停提币) with no"
    " place, regulator or payment platform: nothing makes the actor Chinese",
    "s15c-zh-001": "held-out batch (an exchange's support desk on accounts frozen for a judicial"
    " inquiry): left untuned",
    "s15c-zh-027": "held-out batch (a mall's points “代币” stopped, market regulator mediating):"
    " left untuned",
    "s15c-zh-030": "held-out batch (a post's rumour of mine closures denied, 有网帖称……不实):"
    " left untuned",
    "s16a-zh-032": "a Taiwan police corps (保七總隊) said to try a case in Hong Kong's wording"
    " (判囚): no Taiwan place or court is named, and 判囚 reads as Hong Kong's",
    "s16f-zh-012": "a coin named in quotes (“积分币”) in a laundering case: a points scheme's"
    " coin here, a project's own crypto in s11v5-zh-002, and nothing else tells them apart",
    "s16f-zh-041": "a pension scheme sold as quoted “数字资产” with no coin (as s14d-zh-021)",
    "s16f-zh-042": "ore theft told with a quoted “挖矿”: the mining word with no coin",
    "s16a-zh-038": "an appeal court acquitting a coin dealer (高等法院改判無罪) with no place:"
    " Hong Kong has a High Court too, and only the wording (實名查核) is Taiwan's",
    "u16zh-022": "untitled: a rumour (网上有传言称……冻结) denied in the next sentence (该说法不实):"
    " 说法不实 is no denial word yet (vocabulary, h16-zh's field)",
    "u16zh-029": "untitled: the mainland ban as a concession (中国虽已全面禁止……但香港) before"
    " Hong Kong licensing: 虽已 is no background marker yet",
    "u16zh-032": "untitled: Singapore's regulator fines a firm with Chinese founders (中国创始人):"
    " 中国 of a person reads as the mainland",
}


def _probes() -> list[dict[str, object]]:
    probes = []
    # heldout_zh_*: held-out batches kept out of the `probes_*` name, so that the learned
    # veto (trained on every probes_* file) is not trained on them either
    for path in [
        *sorted(DATA.glob("probes_zh_s[0-9]*.jsonl")),
        *sorted(DATA.glob("probes_untitled_*zh.jsonl")),  # no title: outlet tags, scene first
        *DATA.glob("heldout_zh_*.jsonl"),
    ]:
        with path.open(encoding="utf-8") as lines:
            probes.extend(json.loads(line) for line in lines if line.strip())
    return probes


def _match(
    matcher: Matcher, probe: dict[str, object], veto: LearnedVeto | None = None
) -> tuple[bool, set[str]]:
    raw = RawStory("probe", "https://probe.invalid/1", str(probe["title"]), str(probe["text"]))
    story = normalise(raw, fetched_at=datetime.now(UTC))
    result = matcher.match(story)
    if veto is not None:
        result = veto.apply(matcher, story, result)
    return TOPIC in result.topics, set(result.entities)


def _params() -> list[object]:
    params = []
    for probe in _probes():
        reason = XFAIL.get(str(probe["id"]))
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        params.append(pytest.param(probe, id=str(probe["id"]), marks=marks))
    return params


@pytest.mark.parametrize("probe", _params())
def test_zh_probe(matcher: Matcher, veto: LearnedVeto, probe: dict[str, object]) -> None:
    alerted, _ = _match(matcher, probe, veto)
    assert alerted == bool(probe["label"]), (probe["outlet"], probe["title"], probe["text"])


def test_entities_micro_f1(matcher: Matcher) -> None:
    """Entity micro-F1 over the keys the probes label stays at the issue's 0.90 or more."""
    probes = _probes()
    vocabulary = {key for probe in probes for key in probe["entities"]}  # type: ignore[attr-defined]
    tp = fp = fn = 0
    for probe in probes:
        gold = set(probe["entities"])  # type: ignore[call-overload]
        found = _match(matcher, probe)[1] & vocabulary
        tp, fp, fn = tp + len(found & gold), fp + len(found - gold), fn + len(gold - found)
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert f1 >= 0.90, f1


def test_the_probe_set_is_balanced() -> None:
    probes = _probes()
    assert all(p["lang"] == "zh" for p in probes)
    positives = sum(1 for p in probes if p["label"])
    assert 0.4 <= positives / len(probes) <= 0.6
    assert len({p["id"] for p in probes}) == len(probes)
    assert set(XFAIL) <= {p["id"] for p in probes}


# Everyday words holding a short foreign or out-of-scope name, in mainland stories that
# name no place: the name must not send the story abroad.
EMBEDDED = [
    ("近日警方破获一起利用虚拟币洗钱案，抓获嫌疑人5名。", "japan"),  # 日警
    ("12月3日警方通报：男子用USDT帮诈骗团伙转移赃款被刑拘。", "japan"),
    ("当地检察机关对利用虚拟币洗钱的被告人提起公诉。", "taiwan"),  # 地检
    ("投资者在该交易平台中充值比特币后无法提现，警方已立案侦查。", "taiwan"),  # 台中
    ("某平台币一夜暴跌，警方已对其高管立案调查。", "taiwan"),  # 台币
    ("交易所上线新币后，警方冻结涉案虚拟币。", "singapore"),  # 新币
    ("该公司警示：有人冒用其名义发行虚拟币，警方已立案。", "macau-police"),  # 司警
    ("云南非法集资案：被告人以虚拟币为名吸收资金被判刑。", "other-foreign"),  # 南非
]


@pytest.mark.parametrize(("text", "place"), EMBEDDED, ids=[p for _, p in EMBEDDED])
def test_a_name_inside_a_word_is_no_place(matcher: Matcher, text: str, place: str) -> None:
    raw = RawStory("probe", "https://probe.invalid/1", "", text)
    result = matcher.match(normalise(raw, fetched_at=datetime.now(UTC)))
    assert place not in result.signals, text
    assert TOPIC in result.topics, text


# A lead's market or rule-making word inside a longer word is part of that word: the
# lead is no price story (云算力, 网站上) and no rule-making (违法案件), and the
# enforcement in the text decides.
NESTED_LEAD_WORDS = [
    ("“云算力”理财平台爆雷", "市公安局经侦支队已对该平台负责人立案侦查，涉案虚拟币价值逾亿元。"),
    ("一批违法案件背后的“币圈”套路", "某区人民检察院近日对利用虚拟币洗钱的被告人提起公诉。"),
    ("网站上的“币圈”陷阱", "近日公安机关破获一起虚拟币投资诈骗案，抓获嫌疑人12名。"),
]


@pytest.mark.parametrize(("title", "text"), NESTED_LEAD_WORDS, ids=["算力", "法案", "站上"])
def test_a_lead_word_inside_a_longer_word_is_no_frame(
    matcher: Matcher, title: str, text: str
) -> None:
    raw = RawStory("probe", "https://probe.invalid/1", title, text)
    result = matcher.match(normalise(raw, fetched_at=datetime.now(UTC)))
    assert TOPIC in result.topics, (title, text)
