"""The rule language: evaluation, errors with positions, and hostile input."""

from __future__ import annotations

import time

import pytest

from crawler.rules import MAX_DEPTH, NameSet, RuleError, compile_rule, phrase_key

NAMES = {"crypto", "action", "regulator", "platform", "alipay", "wechat-pay"}


@pytest.mark.parametrize(
    ("rule", "present", "expected"),
    [
        ("crypto AND action", {"crypto", "action"}, True),
        ("crypto AND action", {"crypto"}, False),
        ("crypto action", {"crypto", "action"}, True),  # adjacency means AND
        ("crypto OR action", {"action"}, True),
        ("crypto AND NOT alipay", {"crypto", "alipay"}, False),
        ("crypto AND (regulator OR platform)", {"crypto", "platform"}, True),
        ("crypto and (regulator or wechat-pay)", {"crypto", "wechat-pay"}, True),
        ("NOT NOT crypto", {"crypto"}, True),
        ("crypto OR action AND regulator", {"crypto"}, True),  # AND binds tighter
        ("NOT crypto AND action", {"action"}, True),  # NOT binds tighter than AND
        ('crypto AND "digital yuan"', {"crypto", phrase_key("digital yuan")}, True),
        ('crypto AND "digital yuan"', {"crypto"}, False),
    ],
)
def test_evaluation(rule: str, present: set[str], expected: bool) -> None:
    assert compile_rule(rule, NAMES)(NameSet(present)) is expected


def test_phrases_are_folded_and_collected() -> None:
    rule = compile_rule('alipay AND "Digital  YUAN" OR “央行”', NAMES)
    assert rule.phrases == frozenset({"digital  yuan", "央行"})


@pytest.mark.parametrize(
    ("rule", "message", "position"),
    [
        ("crypto AND", "rule ends too early", 11),
        ("crypto AND (action", "missing ')'", 19),
        ("crypto AND bogus", "unknown category or entity 'bogus'", 12),
        ("crypto )", "unexpected ')'", 8),
        ('crypto AND "unclosed', "unterminated quoted phrase", 12),
        ('crypto AND ""', "empty phrase", 12),
        ("crypto NEAR/0 action", "NEAR distance must be 1 to 100", 8),
        ("crypto NEAR/5 (action OR regulator)", "NEAR needs a name or a phrase on each side", 15),
        ("crypto CLAUSE/101 action", "CLAUSE distance must be 1 to 100", 8),
        ("(crypto) clause/2 action", "CLAUSE needs a name or a phrase on each side", 1),
        ("", "empty rule", 1),
    ],
)
def test_errors_point_at_the_position(rule: str, message: str, position: int) -> None:
    with pytest.raises(RuleError) as error:
        compile_rule(rule, NAMES)
    assert error.value.message.startswith(message)
    assert str(error.value).endswith(f"at position {position}")


def test_subscriber_queries_treat_unknown_words_as_phrases() -> None:
    rule = compile_rule("alipay AND justin", NAMES, bare_words_are_phrases=True)
    assert rule.phrases == frozenset({"justin"})
    assert rule(NameSet({"alipay", phrase_key("justin")}))


def test_hostile_queries_are_refused_quickly() -> None:
    started = time.process_time()  # CPU time: other processes on the machine do not count
    with pytest.raises(RuleError, match="longer than 500 characters"):
        compile_rule("crypto OR " * 10_000, NAMES, max_length=500)  # 100 KB
    with pytest.raises(RuleError, match="nested too deeply"):
        compile_rule("(" * 1000 + "crypto" + ")" * 1000, NAMES, max_length=10_000)
    with pytest.raises(RuleError, match="nested too deeply"):
        compile_rule("NOT " * 1000 + "crypto", NAMES, max_length=10_000)
    assert time.process_time() - started < 1.0


def test_depth_limit_allows_reasonable_nesting() -> None:
    deep = "(" * (MAX_DEPTH - 1) + "crypto" + ")" * (MAX_DEPTH - 1)
    assert compile_rule(deep, NAMES)(NameSet({"crypto"}))
