import pytest

from crawler.rules import MAX_DEPTH, RuleError, compile_rule

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
    ],
)
def test_evaluation(rule: str, present: set[str], expected: bool) -> None:
    assert compile_rule(rule, NAMES)(present) is expected


@pytest.mark.parametrize(
    ("rule", "message", "position"),
    [
        ("crypto AND", "ends too early", 11),
        ("crypto AND (action", "missing ')'", 19),
        ("crypto AND bogus", "unknown category or entity 'bogus'", 12),
        ("crypto )", "unexpected ')'", 8),
        ("crypto & action", "unexpected character '&'", 8),
        ("", "empty rule", 1),
    ],
)
def test_errors_point_at_the_position(rule: str, message: str, position: int) -> None:
    with pytest.raises(RuleError) as error:
        compile_rule(rule, NAMES)
    assert message in str(error.value)
    assert str(error.value).endswith(f"at position {position}")


def test_depth_is_bounded() -> None:
    with pytest.raises(RuleError, match="nested too deeply"):
        compile_rule("(" * (MAX_DEPTH + 2) + "crypto" + ")" * (MAX_DEPTH + 2), NAMES)


def test_length_is_bounded() -> None:
    with pytest.raises(RuleError, match="longer than"):
        compile_rule(" OR ".join(["crypto"] * 400), NAMES)
