"""Fresh probes in the styles of the outlets the hidden sets are drawn from.

`tests/data/probes_outlets.jsonl` holds title+lead stories written for this test
(none copied from a corpus), labelled by the corpus rule: mainland China or Hong
Kong; an enforcement or compliance action; concerning crypto. Chinese: state media,
financial press, police and procuratorate posts, judgments with case numbers,
regulators' notices, Hong Kong papers in traditional script. English: wires and
crypto press. Half must alert, half are the near misses of the hidden sets
(background mentions of the ban, prices and miners, Hong Kong licensing, Macau,
Taiwan and foreign enforcement, scams warned about with no action, blockchain
policy, the digital yuan).

A probe the filter still gets wrong is listed in XFAIL with the reason (strict:
if it starts passing, the test says so and the entry must go).
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
# Written in batches (the file's number), each before the fixes made on the misses of
# the ones before it, so each measured the last round of fixes on stories they were not
# made for (batch 11 excepted: written after a precision hole showed).
# probes_scope_*: the same, aimed at place scope and precision (Macau and Taiwan stories
# naming only their own agencies, foreign enforcement in Chinese, Hong Kong licensing,
# the ban as background), each batch scored before the fixes it led to; s8p is not blind:
# mainland stories whose words contain a short Taiwan or foreign name (湖南投资, 人員警告).
# probes_en_*: English near misses (explainers, foreign enforcement naming Chinese people,
# civil suits, Hong Kong licensing) and their in-scope twins, each batch scored blind.
# probes_en_s11*: explainers, guides, Q&As and opinion (label 0) and news told in their
# shape (label 1: "Explained: police arrest 12..."); a and b scored before the genre check
# was written, d after its first version, c held out of all tuning (scored once, at the end).
# probes_en_s12*: civil rulings (contracts voided, claims refused, freezing injunctions),
# mining crackdowns, court and police stories in verbless, passive and inverted headlines,
# with their near misses; a, b and d scored before the session-12 fixes, e, f and g each
# before the round of fixes after it, c held out of all tuning, the veto's training
# included (heldout_en_s12c.jsonl; scored before and after).
# probes_en_s13*: foreign enforcement naming Chinese people, Hong Kong or Chinese miners in
# passing; Hong Kong SFC warnings, alert lists, restriction notices and prosecutions; civil
# rulings, mining, party discipline, platform actions; non-crypto cases with crypto-like
# words; each scored before the fixes after it; heldout_en_s13d.jsonl held out of all tuning.
# probes_en_s14*: foreign regulators named in passing with China or Hong Kong (a former base,
# a nationality, a comparison), rumours, price stories; SFC alerts, restriction notices,
# disqualifications; mining by place and power; civil rulings; a and b scored before the
# session-14 fixes, d and e after the first round; heldout_en_s14c.jsonl held out of all
# tuning, heldout_en_s14f.jsonl written after the first round, its one miss (a price
# lead in words the market-talk list lacked) seen before the price-lead words were added.
# probes_en_s15*: civil courts turning down crypto claims, punitive power prices on mining,
# the SFC's watch list and "not licensed", apps pulled, police recovering money; English
# denials, fake reports and notices going round online; each batch scored before the fixes
# after it (a 0.971 and b 0.815 F1 before); heldout_en_s15h.jsonl held out of all tuning.
# probes_en_s15e: exchanges forced out of the mainland, mining gone dark, verbless sentence
# headlines, procuratorates' public-interest suits, party discipline in English, SFC verbs,
# hearsay at a headline's ends, firms' wage, lease and supply suits (0.882 F1 before, 0.941 after).
# probes_en_s16*: party discipline in English (the CPC by name, public office, intra-party
# warnings), SFC verbs (disciplines, secures orders), exchanges leaving the mainland, mines gone
# dark beside an order, verbless sentences ("Three years for USDT launderer"), machine-translated
# police posts; a-c scored before the session-16 fixes (0.880, 0.833, 0.818 F1; after: 1.000,
# 0.923, 1.000), d after the first round (0.977 before and after); heldout_en_s16a and
# heldout_en_s16b held out of all tuning (1.000 F1 at the start and at the end).
_DATA = Path(__file__).parent.parent / "data"
# heldout_*: held-out batches kept out of the `probes_*` name, so that the learned veto
# (trained on every probes_* file) is not trained on them either.
PROBES = [
    *sorted(_DATA.glob("probes_outlets*.jsonl")),
    *sorted(_DATA.glob("probes_scope*.jsonl")),
    *sorted(_DATA.glob("probes_en_*.jsonl")),
    *sorted(_DATA.glob("probes_untitled_*en.jsonl")),  # no title: datelines, bylines, scene
    *sorted(_DATA.glob("heldout_en_*.jsonl")),
]

# id -> why the filter still gets it wrong. The learned veto (crawler/learned.py) took
# en10m-002 and en10m-005 off this list in session 11; set since session 12 to lose no true
# alert out of sample (bench/README.md), it keeps them again.
XFAIL: dict[str, str] = {
    "en16pb-008": "an exchange leaving the mainland 'as Beijing tightens rules': the rules make"
    " the headline rule-making, and letting the leaving lift that also let through exchanges that"
    " 'pulled out of China in 2017' and now seek a Hong Kong licence",
    "en16pb-009": "'shifted their operations to Singapore and Malta after regulators ordered"
    " them': a foreign place two tokens before the authorities reads as a foreign enforcer",
    "en16pd-007": "a platform shutting accounts 'hawking crypto trading tips': 'tips' gives the"
    " headline an explainer's form and 'hundreds of accounts' is no tally (counting words"
    " in the genre check let a look-back through, en11b-006)",
    "en10m-005": "a Chinese firm adds bitcoin to its treasury (corporate news): the rule alerts"
    " and the learned veto keeps it (p 0.74)",
    "o-en-133": "'forces miners offline': no action; 'offline' alone fires on hash-rate news",
    "o8-zh-002": "a Taiwan acquittal naming no Taiwan place, body or statute",
    "s8b-zh-012": "miners weighing a shutdown of their own (考虑关停) in a revenue lead: the"
    " act is hedged and no enforcer's, but 'considering' also heads real policy news",
    "s8d-en-016": "'order' as a verb is no action word (the noun is everywhere: order books,"
    " court orders); action vocabulary, left to the recall work",
    "s8e-zh-016": "监管窗口指导 (window guidance) names no enforcer the vocabulary knows",
    "s8f-en-003": "a firm's own shutdown of its Chinese arm, the ban in a 'when' clause of the"
    " body: no marker tells it from an act",
    "s8f-en-011": "a standing ban ('remains banned on the mainland') in a savings story; a"
    " regulator saying the same (o6-en-025) is news",
    "s8m-zh-006": "拘 alone (廉署拘銀行經理) is no action word",
    "en8d-007": "no crypto word: 'unlicensed exchange' alone is as often a stock or forex one",
    "en8g-027": "the ban as the cause of a market shift ('ban pushes investors into stocks'):"
    " 'pushes' also heads news (the challenge set's c28 'ban pushes exchanges to Dubai')",
    "en9e-027": "no crypto word: an SFC-licensed 'exchange' and a 'platform' alone (as"
    " en8d-007: the SFC licenses securities firms too)",
    "en9f-030": "no crypto word: an 'offshore exchange' the SFC warns about (as en9e-027)",
    "en9k-024": "'names an app as a pyramid scheme' (a designation split by its object) is no"
    " action form, and 'the Jiangsu financial regulator' no regulator the vocabulary knows",
    "en10i-010": "a police awareness warning about fake investment apps, crypto one item of a"
    " list ('stocks, gold and cryptocurrency'), as en8c-036",
    "en10j-007": "a court easing a defendant's bail in a crypto fraud case ('overturns bail"
    " conditions'): a step in a prosecution that undoes, not takes, an act; no word marks"
    " reversal (an appeal that quashes a conviction is as hard to label)",
    "en10m-004": "an advertiser's own removal of crypto posters in Hong Kong after complaints:"
    " the act has no enforcer, but a Hong Kong place and an act make a Chinese one",
    "en8c-036": "a police warning about scams in general, crypto one item of a list in the"
    " body: no marker tells a story about crypto from one that mentions it",
    "en10d-014": "a policy story ('stablecoin push stalls on capital control fears') whose body"
    " tells what capital controls are for ('tightened to stop illegal outflows'): the acts"
    " are the controls', not crypto's, and no marker says so",
    "en10k-010": "a regime described in the present perfect ('requires platforms to list only"
    " approved tokens, and has fined platforms for breaches'): a habit of the regulator, not an"
    " act the story reports; tense is not read",
    "en11b-005": "an opinion piece in a statement's form ('Beijing's crypto ban is here to stay'):"
    " no question, no form word, no address; the act's generic tense is not read",
    "en11b-011": "an analysis headline in a phrase's form ('The crackdown that wasn't: China's"
    " patchy enforcement'): nothing in its shape says explainer",
    "en11c-012": "held-out batch, missed before the genre work too: a court refusing a claim"
    " ('refused to help a bitcoin investor get his money back') is no action word, and the lead"
    " reads as market talk ('back'), so the lead has no act of its own",
    "en11d-011": "a court's ruling told in an analysis headline ('Chengdu court's ruling on crypto"
    " mining debt shows judges' stance'): 'ruling on' is no action word and 'shows'/'stance' read"
    " as market and rule-making talk in the lead (not the genre check: the act is specific)",
    "s11v5-en-008": "'points coins' of a 'blockchain farming' scheme: a project's own coin"
    " named in words the vocabulary lacks (held-out batch, left untuned)",
    "en12a-006": "a Hong Kong court winding up a crypto lender on its creditors' petition:"
    " insolvency is a civil matter by design (liquidators are no enforcers), and 'winds up'"
    " reads as market talk; whether a winding-up order is enforcement the label rule leaves open",
    "en12c-006": "held-out batch (scored before and after, never tuned on): a winding-up order"
    " against a crypto exchange, liquidators appointed (as en12a-006)",
    "en12d-003": "a court awarding damages over bitcoin an employee took: a private theft claim"
    " ('awards damages', 'compensate') reads as a civil matter, as bitcoin-as-property cases do",
    "en12g-003": "a feature headline ('Inside the USDT laundering ring that police say moved"
    " 2 billion yuan') over a dated arrest report: 'inside the' makes the lead a look back, and"
    " letting the opening's act override that also let look-backs with a count through",
    "en13e-003": "a price story whose only act is state TV restating the ban ('repeats that"
    " crypto trading is banned'): a regulator restating it is news (dev-2), and the speaker's"
    " kind (media or regulator) is not read",
    "en13e-007": "police acting on 'digital collectibles' with 'no cryptocurrency was"
    " involved': whether a digital collectible is crypto the label rule leaves open, and crypto"
    " words have no negation scope (as s11v3-en-014)",
    "en13g-023": "'police said' with no place, the scam's victims abroad (Japan, South"
    " Korea): generic police are the mainland's unless a foreign place is the story's only one",
    "en13g-024": "'Officers in Sabah': 'officers' is no enforcer word (bank and compliance"
    " officers), and victims 'in China' make a Chinese place",
    "s11v3-en-014": "crypto named only to say the story is not about it ('without naming any"
    " involving cryptocurrency'): no negation scope for crypto words",
    "en14a-024": "a mainland court treating crypto as property and ordering it returned: labelled"
    " 1 as the blind sets count such rulings, but 'as property' is a civil matter by design"
    " (en9a-030, en9d-014, en9m-009 are labelled 0); the label rule leaves it open",
    "en15e-019": "a plan told on 'sources say' ('China to ban bitcoin mining again, sources"
    " say'): wires tell real acts the same way (s8e-en-016, en9n-010 are labelled 1)",
    "en14b-023": "stolen crypto held to be property, the thief ordered to compensate (as"
    " en14a-024; en9m-009, the same story, is labelled 0)",
    "en16qa-015": "a state-backed blockchain network's own ban on public chains: 'bans' in a"
    " blockchain lead is a government's act as often ('Shenzhen bans blockchain fundraising"
    " events'), and nothing names the network as no regulator",
    "en16qe-004": "a ban whose object is no crypto ('AI rules ban deepfakes'), crypto in another"
    " clause as a standing state: nothing ties the act to its object",
}


def _probes() -> list[dict[str, object]]:
    probes = []
    for path in PROBES:
        with path.open(encoding="utf-8") as lines:
            probes.extend(json.loads(line) for line in lines if line.strip())
    return probes


def _params() -> list[object]:
    params = []
    for probe in _probes():
        marks = []
        reason = XFAIL.get(str(probe["id"]))
        if reason:
            marks.append(pytest.mark.xfail(reason=reason, strict=True))
        params.append(pytest.param(probe, id=str(probe["id"]), marks=marks))
    return params


@pytest.mark.parametrize("probe", _params())
def test_outlet_probe(matcher: Matcher, veto: LearnedVeto, probe: dict[str, object]) -> None:
    raw = RawStory("probe", "https://probe.invalid/1", str(probe["title"]), str(probe["text"]))
    story = normalise(raw, fetched_at=datetime.now(UTC))
    result = veto.apply(matcher, story, matcher.match(story))
    alerted = TOPIC in result.topics
    assert alerted == bool(probe["label"]), (probe["outlet"], probe["title"], probe["text"])


def test_the_probe_set_is_balanced() -> None:
    probes = _probes()
    counts = {
        (lang, label): sum(1 for p in probes if p["lang"] == lang and p["label"] == label)
        for lang in ("en", "zh")
        for label in (0, 1)
    }
    assert all(count >= 20 for count in counts.values()), counts
    assert len({p["id"] for p in probes}) == len(probes)
    assert set(XFAIL) <= {p["id"] for p in probes}
