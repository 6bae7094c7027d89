"""Entity scoring in `crackdown eval`: which misses the text could never have given."""

from __future__ import annotations

from crackdown.commands.evaluate import Example, evaluate
from tests.probing import shipped_matcher


def example(title: str, entities: set[str]) -> Example:
    return Example("x", "en", title, "", 1, frozenset(entities))


def test_misses_named_nowhere_in_the_text_are_counted_apart() -> None:
    matcher = shipped_matcher()
    result = evaluate(
        matcher,
        [
            example("PBOC bans bitcoin trading", {"pboc", "bitcoin", "exchange"}),  # no exchange
            example("Regulators warn on bitcoins", {"bitcoin", "alipay"}),  # alipay unnamed
        ],
        "china-crypto-enforcement",
    )
    assert (result.entities.tp, result.entities.fn) == (3, 2)
    assert result.unnamed_misses == 2
    assert result.as_dict()["entity_misses_unnamed"] == 2
