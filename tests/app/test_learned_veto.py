"""The shipped learned veto: where it applies, when it switches itself off, that it is current."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crackdown.app import load_veto
from crackdown.commands.learned import RETRAIN, SHARED_CORPUS, train_shipped
from crackdown.config import build_config
from crackdown.runtime import feed_work
from crackdown.runtime.filters import FilterBook
from crawler.learned import RULE, WEIGHTS_ENV, LearnedVeto, Reason, VetoWeights, weights_path
from crawler.matcher import Matcher
from crawler.normalize import normalise
from crawler.types import RawStory, Story
from crawler.watchlist import Watchlist, build_watchlist, builtin_watchlist
from tests.probing import shipped_matcher

TOPIC = "china-crypto-enforcement"
VETOED = (
    "China's miners chase cheap power in Paraguay",
    "Paraguay's state utility signed deals with mining companies founded by Chinese"
    " entrepreneurs. Police raided illegal farms near the Itaipu dam in Paraguay.",
)
KEPT = ("Alipay to cut off accounts used for bitcoin OTC trading", "")


def story(title: str, text: str) -> Story:
    raw = RawStory("wire", "https://wire.example/1", title, text)
    return normalise(raw, fetched_at=datetime.now(UTC))


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return shipped_matcher()


def test_the_veto_drops_the_default_topic_of_a_foreign_led_story_only(
    matcher: Matcher, strict_veto: LearnedVeto
) -> None:
    veto = strict_veto
    foreign = story(*VETOED)
    rule = matcher.match(foreign)
    assert TOPIC in rule.topics  # the rule alone alerts
    verdict = veto.judge(matcher, foreign, rule)
    assert verdict is not None and verdict.vetoed and verdict.probability < 0.7
    assert "n:foreign" in {r.feature for r in verdict.against if r.present}
    after = veto.apply(matcher, foreign, rule)
    assert TOPIC not in after.topics and after.entities == rule.entities
    kept = story(*KEPT)
    assert TOPIC in veto.apply(matcher, kept, matcher.match(kept)).topics
    unmatched = story("Bitcoin price climbs above $11,000", "")
    assert veto.judge(matcher, unmatched, matcher.match(unmatched)) is None


def test_reasons_are_relative_to_the_typical_true_alert(
    matcher: Matcher, veto: LearnedVeto
) -> None:
    """An act every true alert has is no reason against a story; lacking what true alerts
    usually have is (said as 'no ...'); each reason is w * (x - its mean over true alerts)."""
    weights = veto.weights
    common = max(weights.alert_means, key=lambda f: (weights.alert_means[f], f))
    assert weights.alert_means[RULE] == 1.0 and weights.alert_means["n:crypto"] > 0.9
    foreign = story(*VETOED)
    rule = matcher.match(foreign)
    features = veto.featurer.features(matcher, foreign, rule)
    verdict = veto.judge(matcher, foreign, rule)
    assert verdict is not None
    for reason in weights.against(features):
        w, mean = weights.weights[reason.feature], weights.alert_means.get(reason.feature, 0.0)
        assert math.isclose(reason.contribution, w * (reason.present - mean))
        assert reason.contribution < 0 and reason.feature != common
    # the contributions add up to the story's log-odds less the typical alert's
    typical = weights.bias + sum(
        w * weights.alert_means.get(f, 0.0) for f, w in weights.weights.items()
    )
    story_z = weights.bias + sum(weights.weights.get(f, 0.0) for f in features)
    every = [
        w * ((f in features) - weights.alert_means.get(f, 0.0)) for f, w in weights.weights.items()
    ]
    assert math.isclose(story_z - typical, sum(every), abs_tol=1e-9)
    assert verdict.against == tuple(weights.against(features)[: len(verdict.against)])


def test_a_missing_feature_reads_as_no_and_places_and_genres_have_names(veto: LearnedVeto) -> None:
    absent, present = Reason("n:china", False, -1.0), Reason("n:taiwan", True, -1.0)
    assert veto.reason(absent) == "no China actor" and veto.reason(absent, "zh") == "无中国主体"
    assert veto.reason(present) == "place: Taiwan" and veto.reason(present, "zh") == "地点：台湾"
    explainer = Reason("n:genre:explainer", True, -1.0)
    assert veto.reason(explainer) == "explainer shape"
    assert veto.reason(explainer, "zh") == "解读类体裁"
    lead_act = Reason("n:lead:action", False, -1.0)
    assert veto.reason(lead_act) == "no action in the headline"
    assert veto.reason(lead_act, "zh") == "无标题中行动"


def test_a_cue_setting_vetoes_only_with_an_explicit_negative_cue() -> None:
    """With `cue`, a low probability alone does not veto: the story must have a negative cue
    of its own (an action or the language is never one)."""
    shipped = VetoWeights.load()
    strict = dataclasses.replace(shipped, cue=0.5)
    act = (Reason("action:ban", True, -2.0), Reason("n:china", False, -2.0))
    foreign = (Reason("n:foreign", True, -0.6),)
    assert strict.vetoes(0.1, act + foreign) and not strict.vetoes(0.1, act)
    assert not strict.vetoes(0.9, foreign)
    assert dataclasses.replace(shipped, cue=0.0).vetoes(0.1, act)


class _CountedWeights(VetoWeights):
    """The shipped weights, counting the passes over every weight that reasons take."""

    passes: list[int] = [0]  # noqa: RUF012  (shared by the instances of one test)

    def against(self, features: Iterable[str]) -> list[Reason]:
        self.passes[0] += 1
        return super().against(features)


def test_applying_the_veto_works_out_reasons_only_when_a_cue_needs_them(
    matcher: Matcher, strict_veto_weights: Path
) -> None:
    """`apply` decides as `judge` does; with no `cue` it never lists the reasons (a pass over
    every weight for each matched story: half the parse worker's matching CPU, session 13)."""
    strict = VetoWeights.load(strict_veto_weights)
    for cue, passes in ((0.0, 0), (0.5, 1)):
        weights = _CountedWeights(
            **{f.name: getattr(strict, f.name) for f in dataclasses.fields(VetoWeights)}
        )
        weights = dataclasses.replace(weights, cue=cue)
        veto = LearnedVeto(matcher, weights)
        for text in (VETOED, KEPT):
            item = story(*text)
            rule = matcher.match(item)
            verdict = veto.judge(matcher, item, rule)
            assert verdict is not None
            weights.passes[0] = 0
            applied = veto.apply(matcher, item, rule)
            assert (TOPIC not in applied.topics) == verdict.vetoed
            assert weights.passes[0] == (passes if verdict.probability < strict.threshold else 0)


def test_the_parse_workers_copy_of_the_filter_vetoes_too(
    matcher: Matcher,
    strict_veto: LearnedVeto,
    strict_veto_weights: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The worker builds its filter from the poller's spec: the veto must travel with it."""
    monkeypatch.setenv(WEIGHTS_ENV, str(strict_veto_weights))  # as a worker inherits it
    watchlist = matcher.watchlist
    on, off = FilterBook(watchlist, matcher, 200, strict_veto), FilterBook(watchlist, matcher, 200)
    feed = (
        '<rss version="2.0"><channel><title>t</title><item><title>{}</title>'
        "<link>https://news.example/1</link><description>{}</description></item>"
        "</channel></rss>"
    ).format(*VETOED)
    topics = {}
    for name, book in (("on", on), ("off", off)):
        feed_work._build(book.spec, None)  # what the worker's start-up thread does
        try:
            _, prepared = feed_work.parse_and_prepare(
                feed.encode(), "wire", "https://news.example/", None, "en", datetime.now(UTC)
            )
        finally:
            feed_work._filter = None
        assert prepared.matches is not None
        (result,) = prepared.matches.values()
        topics[name] = result.topics
        assert book.match(next(iter(prepared.batch.values()))).topics == result.topics
    assert TOPIC not in topics["on"] and TOPIC in topics["off"]


def _with_topic_rule(rule: str) -> Watchlist:
    return build_watchlist(
        {"topics": [{"key": TOPIC, "rule": rule}]}, base=builtin_watchlist(), where="config"
    )


def test_a_changed_rule_or_vocabulary_switches_the_layer_off_with_one_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    builtin = builtin_watchlist()
    rule = next(t.rule for t in builtin.topics if t.key == TOPIC)
    changed = _with_topic_rule(rule + " AND NOT hong-kong")
    new = {
        "key": "newex",
        "category": "exchange",
        "name_en": "N",
        "name_zh": "N",
        "aliases": ["NewEx"],
    }
    extra = build_watchlist(
        {"entities": [new]},
        base=builtin,
    )
    for watchlist, why in ((changed, "rule"), (extra, "entities")):
        caplog.clear()
        with caplog.at_level(logging.INFO, logger="crawler.learned"):
            assert LearnedVeto.for_matcher(Matcher(watchlist), TOPIC) is None
        lines = [r.getMessage() for r in caplog.records]
        assert len(lines) == 1 and "learned veto off" in lines[0] and why in lines[0], lines
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="crawler.learned"):
        assert LearnedVeto.for_matcher(Matcher(builtin), TOPIC) is not None
    assert caplog.records == []


def test_the_config_switch_turns_it_off(matcher: Matcher) -> None:
    assert load_veto(build_config({}, {}), matcher) is not None
    off = build_config({"filter": {"learned_veto": False}}, {})
    assert load_veto(off, matcher) is None
    from_env = build_config({}, {"CRACKDOWN_FILTER__LEARNED_VETO": "false"})
    assert load_veto(from_env, matcher) is None


@pytest.mark.skipif(
    not (SHARED_CORPUS / "dev-2.jsonl").exists(),
    reason="the shared corpus (../shared/corpus) is not beside the repository",
)
def test_the_shipped_weights_are_what_training_gives_now(matcher: Matcher) -> None:
    shipped = VetoWeights.load()
    fresh = train_shipped(matcher, TOPIC)
    stale = f"crawler/data/learned-veto.json is stale: retrain with `{RETRAIN}` and commit it"
    assert (fresh.rule_sha256, fresh.vocabulary_sha256) == (
        shipped.rule_sha256,
        shipped.vocabulary_sha256,
    ), stale
    assert fresh.trained_on == shipped.trained_on, stale
    assert set(fresh.weights) == set(shipped.weights), stale
    assert math.isclose(fresh.bias, shipped.bias, abs_tol=1e-6), stale
    differ = [
        f for f, w in fresh.weights.items() if not math.isclose(w, shipped.weights[f], abs_tol=1e-6)
    ]
    assert not differ, f"{stale} (weights differ: {differ[:5]})"
    assert (fresh.mode, fresh.threshold, fresh.cue, fresh.topic) == (
        shipped.mode,
        shipped.threshold,
        shipped.cue,
        shipped.topic,
    ), stale
    assert fresh.alert_means == shipped.alert_means, stale


def test_the_shipped_weights_name_their_training_files_and_exclude_the_held_out_fold() -> None:
    raw = json.loads(weights_path().read_text("utf-8"))
    files = {f["file"]: f for f in raw["trained_on"]}
    assert {"../shared/corpus/dev.jsonl", "../shared/corpus/dev-2.jsonl"} <= set(files)
    for name in ("../shared/corpus/dev.jsonl", "../shared/corpus/dev-2.jsonl"):
        assert files[name]["used"] < files[name]["stories"]  # the held-out fold is left out
    probes = sorted(p.name for p in (Path(__file__).parents[1] / "data").glob("probes_*.jsonl"))
    assert sorted(n.removeprefix("tests/data/") for n in files if "probes_" in n) == probes
    assert all(len(f["sha256"]) == 64 for f in raw["trained_on"])


def test_crackdown_match_says_why_it_vetoed_in_both_languages(strict_veto_weights: Path) -> None:
    # a Korean regulator's sanction (probe o-zh-098, as one text): the rule alone alerts
    text = "韩国金融委员会对Upbit处以部分停业处分\n\n金融委员会称，Upbit违反了客户身份识别义务。"
    strict = {**os.environ, WEIGHTS_ENV: str(strict_veto_weights)}
    run = subprocess.run(
        [sys.executable, "-m", "crackdown", "match", "--text", text],
        capture_output=True,
        text=True,
        timeout=120,
        env=strict,
    )
    assert run.returncode == 1, run.stdout + run.stderr  # no topic left: as an unmatched story
    assert "topics:   -" in run.stdout
    assert "learned:  vetoed china-crypto-enforcement" in run.stdout, run.stdout
    assert "against: " in run.stdout and "反向证据: " in run.stdout
    shown = subprocess.run(
        [sys.executable, "-m", "crackdown", "match", "--text", text, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=strict,
    )
    against = json.loads(shown.stdout)["learned_veto"]["against"]
    assert against and all(r["contribution"] < 0 for r in against), against
    assert any(r["en"] == "a foreign place or body" and r["present"] for r in against), against
    for reason in against:  # as the text says it: "no ..." for what true alerts have
        assert reason["en"] in run.stdout and reason["zh"] in run.stdout
        assert reason["present"] or reason["en"].startswith("no ")
    off = subprocess.run(
        [sys.executable, "-m", "crackdown", "match", "--text", text, "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "CRACKDOWN_FILTER__LEARNED_VETO": "false"},
    )
    assert off.returncode == 0 and "learned_veto" not in json.loads(off.stdout)


def test_eval_scores_rule_and_layer_side_by_side_and_lists_the_vetoed(
    tmp_path: Path, strict_veto_weights: Path
) -> None:
    corpus = tmp_path / "c.jsonl"
    lines = [
        {"id": "miners", "lang": "en", "title": VETOED[0], "text": VETOED[1], "label": 0},
        {"id": "alipay", "lang": "en", "title": KEPT[0], "text": KEPT[1], "label": 1},
    ]
    corpus.write_text("".join(json.dumps(line) + "\n" for line in lines), "utf-8")

    def run(*extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "crackdown", "eval", str(corpus), *extra],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            env={**os.environ, WEIGHTS_ENV: str(strict_veto_weights)},
        )
        return done.stdout

    text = run()
    assert "rule only            rule + learned veto" in text
    assert "  en          0.500/1.000/0.667    1.000/1.000/1.000" in text, text
    assert "vetoed by the learned layer, rightly (1): miners" in text
    figures = json.loads(run("--json"))
    assert figures["f1"] == 1.0 and figures["rule_only"]["precision"] == 0.5
    assert [v["id"] for v in figures["vetoed"]] == ["miners"]


def test_an_operators_changed_rule_turns_the_layer_off_in_the_cli(tmp_path: Path) -> None:
    rule = next(t.rule for t in builtin_watchlist().topics if t.key == TOPIC)
    config = tmp_path / "config.toml"
    changed = rule + " AND NOT hong-kong"
    config.write_text(
        f"[[watchlist.topics]]\nkey = {json.dumps(TOPIC)}\nrule = {json.dumps(changed)}\n",
        encoding="utf-8",
    )
    text = "韩国金融委员会对Upbit处以部分停业处分\n\n金融委员会称，Upbit违反了客户身份识别义务。"
    run = subprocess.run(
        [sys.executable, "-m", "crackdown", "--config", str(config), "match", "--text", text],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr  # the rule alone decides: it alerts
    assert "learned:" not in run.stdout
    off = [line for line in run.stderr.splitlines() if "learned veto off" in line]
    assert len(off) == 1 and "differs" in off[0], run.stderr
