"""Why a story raised no alert: the part of the topic rule that said no (crawler/explain.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crackdown.cli import main
from crawler.explain import TopicExplainer, refusal_kind, render, why_not
from crawler.matcher import TOPIC_RULE_LENGTH, Matcher
from crawler.normalize import normalise
from crawler.rules import NameSet, compile_rule
from crawler.types import RawStory, Story

DATA = Path(__file__).resolve().parents[1] / "data"
TOPIC = "china-crypto-enforcement"
DENIED = "Police deny reports of raids on USDT OTC desks in Beijing"


def _story(title: str, text: str = "") -> Story:
    raw = RawStory("probe", "https://probe.invalid/1", title, text)
    return normalise(raw, fetched_at=datetime.now(UTC))


def _probe_stories() -> list[Story]:
    stories = []
    for name in ("probes_en_s15a.jsonl", "probes_zh_s15a.jsonl", "probes_en_s14a.jsonl"):
        path = DATA / name
        if not path.exists():
            continue
        for line in path.read_text("utf-8").splitlines():
            record = json.loads(line)
            stories.append(_story(record.get("title", ""), record.get("text", "")))
    return stories


def test_the_explanation_never_disagrees_with_the_decision(matcher: Matcher) -> None:
    """On every probe: no refusal exactly when the topic held (the walk is the rule)."""
    explainer = TopicExplainer(matcher, TOPIC)
    stories = _probe_stories()
    assert len(stories) > 50
    held = missed = 0
    for story in stories:
        matched = TOPIC in matcher.match(story).topics
        refusal = explainer.why_not(story)
        assert (refusal is None) == matched, story.title
        held += matched
        missed += not matched
    assert held and missed  # both sides were exercised


def test_the_rule_renders_back_to_the_same_tree(matcher: Matcher) -> None:
    rule = TopicExplainer(matcher, TOPIC).rule
    again = matcher.compile(render(rule.plan, limit=10**6), max_length=TOPIC_RULE_LENGTH)
    assert again.plan == rule.plan


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Police in Beijing arrest the head of a bakery chain", "entity"),
        ("Crypto fans meet in Beijing for a bitcoin conference", "missing action"),
        ("台北地檢署起訴比特幣詐騙集團", "place"),
        (DENIED, "veto: "),
    ],
)
def test_each_kind_of_refusal_is_named(matcher: Matcher, title: str, expected: str) -> None:
    refusal = TopicExplainer(matcher, TOPIC).why_not(_story(title))
    assert refusal is not None
    assert refusal_kind(refusal).startswith(expected)
    assert refusal.veto == expected.startswith("veto")


def test_a_veto_of_what_lacks_a_name_is_headed_by_that_absence() -> None:
    """NOT (NOT decisive-act AND ...) vetoes a story for what it lacks: "no decisive-act"."""
    names = ["crypto", "action", "decisive-act", "lead:action", "lead:denial"]
    rule = compile_rule(
        "crypto AND action AND NOT (NOT decisive-act AND NOT lead:action)"
        " AND NOT (lead:denial AND NOT decisive-act)",
        names,
    )
    lacking = why_not(rule, NameSet(["crypto", "action"]))
    assert lacking is not None and lacking.veto and lacking.index == 2
    assert refusal_kind(lacking) == "veto: no decisive-act"
    denied = why_not(rule, NameSet(["crypto", "action", "lead:action", "lead:denial"]))
    assert denied is not None and refusal_kind(denied) == "veto: lead:denial"
    assert why_not(rule, NameSet(["crypto", "action", "decisive-act"])) is None
    missing = why_not(rule, NameSet(["crypto"]))
    assert missing is not None and refusal_kind(missing) == "missing action"


def test_match_says_why_a_story_raised_no_alert(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["match", "--text", "Police in Beijing arrest the head of a bakery chain"], {}) == 1
    out = capsys.readouterr().out
    assert "why not:  china-crypto-enforcement: no crypto term (needs: crypto OR exchange)" in out
    assert "为何未报: 未见加密货币词" in out
    assert main(["match", "--json", "--text", DENIED], {}) == 1
    why = json.loads(capsys.readouterr().out)["why_not"]
    assert why["topic"] == TOPIC and why["veto"] and why["kind"].startswith("veto: ")
    text = "Beijing police arrest USDT money launderers, the Public Security Bureau said."
    assert main(["match", "--text", text], {}) == 0
    assert "why not" not in capsys.readouterr().out


def test_eval_sorts_misses_by_the_clause_that_said_no(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    corpus = tmp_path / "c.jsonl"
    records = [
        {"id": "denied", "lang": "en", "title": DENIED, "label": 1},
        {"id": "bakery", "lang": "en", "title": "Beijing police arrest bakery boss", "label": 1},
        {"id": "cats", "lang": "en", "title": "Cats of Beijing", "label": 0},
    ]
    corpus.write_text("".join(json.dumps(r) + "\n" for r in records))
    assert main(["eval", str(corpus), "--json"], {}) == 0
    classes = json.loads(capsys.readouterr().out)["error_classes"]
    assert classes.get("entity") == ["bakery"]
    assert next(k for k, ids in classes.items() if ids == ["denied"]).startswith("veto: ")
