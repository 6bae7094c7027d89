"""Chinese title+lead probes written blind in session 9, with their entity labels.

`tests/data/probes_zh_s9*.jsonl` are in the corpus format (`crackdown eval` reads them):
stories written for this test before the filter was run on them, in the styles of police
and procuratorate WeChat posts, judgments with case numbers, regulators' risk notices,
Xinhua, Caixin, crypto media (律动, PANews, 金色财经) and Hong Kong papers in traditional
script. They aim at phrasing the vocabulary had not seen: procedure (取保候审, 不起诉决定,
罚金, 追缴, 冻结涉案资金), slang (U商, 搬砖, 卡农, 承兑商, 空气币) and regulators' wording
(风险提示, 约谈, 责令整改, 下架), against near misses: prices and mining that cite the ban,
Hong Kong licensing and ordinances, Macau, Taiwan and foreign enforcement, crypto-free
Chinese crime, e-CNY and commentary. Each batch (id prefix s9bN, eight so far) was scored before the
fixes it prompted; the figures are in the README.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory
from crawler.watchlist import builtin_watchlist

TOPIC = "china-crypto-enforcement"
DATA = Path(__file__).parent.parent / "data"

# id -> why the filter still gets it wrong (strict: a probe that starts passing must leave)
XFAIL: dict[str, str] = {
    "s9b2-zh-041": "a founder's past prison term as the setting (曾因非法经营入狱……出狱后再创业):"
    " 曾因 marks background, but 入狱 is an enforcer word, not an action a marker governs",
    "s9b4-zh-006": "a mining clean-up whose only place is the anonymised 某市 and whose actor is"
    " unnamed: no Chinese cue is left (a real story names its city)",
}


def _probes() -> list[dict[str, object]]:
    probes = []
    for path in sorted(DATA.glob("probes_zh_s9*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            probes.extend(json.loads(line) for line in lines if line.strip())
    return probes


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(builtin_watchlist())


def _match(matcher: Matcher, probe: dict[str, object]) -> tuple[bool, set[str]]:
    raw = RawStory("probe", "https://probe.invalid/1", str(probe["title"]), str(probe["text"]))
    result = matcher.match(normalise(raw, fetched_at=datetime.now(UTC)))
    return TOPIC in result.topics, set(result.entities)


def _params() -> list[object]:
    params = []
    for probe in _probes():
        reason = XFAIL.get(str(probe["id"]))
        marks = [pytest.mark.xfail(reason=reason, strict=True)] if reason else []
        params.append(pytest.param(probe, id=str(probe["id"]), marks=marks))
    return params


@pytest.mark.parametrize("probe", _params())
def test_zh_probe(matcher: Matcher, probe: dict[str, object]) -> None:
    alerted, _ = _match(matcher, probe)
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
