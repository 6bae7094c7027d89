"""The learned-layer experiment: deterministic features and weights, and eval --learned runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crackdown.commands.evaluate import read_corpus
from crackdown.commands.folds import assign_folds
from crackdown.commands.learned import (
    Featuriser,
    Setting,
    cross_validate,
    featurise,
    fit,
    veto_cost,
)
from crawler.learned import RULE, top_level_clauses
from crawler.matcher import Matcher
from crawler.watchlist import builtin_watchlist
from tests.probing import shipped_matcher

TOPIC = "china-crypto-enforcement"
PROBES = Path(__file__).resolve().parents[1] / "data"
SAMPLE = Path(__file__).resolve().parents[2] / "crackdown" / "data" / "sample-corpus.jsonl"


@pytest.fixture(scope="module")
def featuriser() -> Featuriser:
    return Featuriser(shipped_matcher(), TOPIC)


def test_top_level_clauses_split_only_outside_parentheses_and_quotes() -> None:
    rule = '(a OR b) AND "x AND y" AND NOT (c AND d)\n  AND e'
    assert top_level_clauses(rule) == ["(a OR b)", '"x AND y"', "NOT (c AND d)", "e"]


def test_features_are_the_rules_own_evidence_and_deterministic(featuriser: Featuriser) -> None:
    examples = read_corpus(PROBES / "probes_en_s10a.jsonl")[:20]
    first = featurise(featuriser, examples)
    again = featurise(Featuriser(Matcher(builtin_watchlist()), TOPIC), examples)
    assert [r.features for r in first] == [r.features for r in again]
    assert all(list(r.features) == sorted(r.features) for r in first)
    for row in first:
        # the rule feature is the filter's own verdict, and no conjunct fails when it alerts
        assert (RULE in row.features) == row.verdict
        assert row.verdict == (not any(f.startswith("fails:") for f in row.features))
    alert = next(r for r in first if r.verdict)
    assert "n:crypto" in alert.features and "n:lead:action" in alert.features


def test_training_twice_gives_the_same_weights(featuriser: Featuriser) -> None:
    rows = featurise(featuriser, read_corpus(PROBES / "probes_scope_s8a.jsonl"))
    rows += featurise(featuriser, read_corpus(PROBES / "probes_en_s9a.jsonl"))
    for mode in ("direct", "veto", "names", "clauses"):
        one, two = fit(rows, mode), fit(list(rows), mode)
        assert one.model.weights == two.model.weights and one.model.bias == two.model.bias
    layer = fit(rows, "direct")
    assert layer.model.weights[RULE] > 0  # the rule's verdict is evidence for relevance
    assert all(f not in fit(rows, "names").model.weights for f in (RULE, "fails:0"))
    against = layer.model.explain(["n:foreign", "n:crypto", RULE], toward=False)
    assert against and all(w < 0 for _, w in against)
    clauses = fit(rows, "clauses").model.weights
    assert RULE not in clauses and any(f.startswith("fails:") for f in clauses)


def test_eval_learned_scores_a_corpus_without_training_on_it(tmp_path: Path) -> None:
    corpus = PROBES / "probes_zh_s10a.jsonl"
    train = [PROBES / "probes_zh_s10a.jsonl", PROBES / "probes_zh_s9a.jsonl"]
    result = subprocess.run(
        [sys.executable, "-m", "crackdown", "eval", "--learned", str(corpus), "--train"]
        + [str(p) for p in train],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    trained = sum(1 for _ in read_corpus(train[1]))
    assert lines[0].startswith(f"learned layer: trained on {trained} stories")
    assert any(line.strip().startswith("rule only") for line in lines)
    assert any(line.strip().startswith("rule+veto") for line in lines)


def test_an_unreadable_training_file_is_a_one_line_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crackdown",
            "eval",
            "--learned",
            str(SAMPLE),
            "--train",
            str(tmp_path / "missing.jsonl"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().startswith("crackdown: ") and "missing.jsonl" in result.stderr


def test_cross_validation_judges_each_rule_alert_once_by_a_layer_that_never_saw_it(
    featuriser: Featuriser,
) -> None:
    examples = read_corpus(PROBES / "probes_scope_s8a.jsonl")
    examples += read_corpus(PROBES / "probes_en_s9a.jsonl")
    rows = featurise(featuriser, examples)
    folds = assign_folds(examples, 3)
    judged = cross_validate(rows, folds, Setting())
    assert sorted(j.row.example.id for j in judged) == sorted(
        r.example.id for r in rows if r.verdict
    )
    cost = veto_cost(judged, Setting(threshold=1.0))  # every alert vetoed: counts add up
    alerts = sum(1 for r in rows if r.verdict)
    assert cost["all"][0] + cost["all"][2] == alerts
    assert cost["all"][1] == cost["all"][0] and cost["all"][3] == cost["all"][2]
    assert veto_cost(judged, Setting(threshold=0.0))["all"][1::2] == (0, 0)


def test_a_positive_weight_makes_losing_a_true_alert_cost_more(featuriser: Featuriser) -> None:
    rows = featurise(featuriser, read_corpus(PROBES / "probes_scope_s8a.jsonl"))
    rows += featurise(featuriser, read_corpus(PROBES / "probes_en_s9a.jsonl"))
    plain, weighted = fit(rows, "direct"), fit(rows, "direct", positive_weight=4.0)
    positives = [r.features for r in rows if r.example.label]
    assert min(weighted.model.probability(f) - plain.model.probability(f) for f in positives) > 0
