"""Why a topic did not hold for a story: the first part of its rule that said no.

For people, not for the filter: `crackdown match` prints it under a story that raised no
alert, and `crackdown eval` sorts missed stories by it, so a miss reads "vetoed by the
denial clause" or "no action found" instead of an id to dig into. It walks the rule's tree
(`Rule.plan`) against the evidence the matcher decided on, so it can never disagree with
the decision itself (tests/crawler/test_explain.py holds the two equal).
"""

from __future__ import annotations

from dataclasses import dataclass

from crawler.matcher import Matcher
from crawler.rules import ALL, ANY, HAS, NEAR, NOT, Evidence, Plan, Rule
from crawler.types import Story

RENDER_LIMIT = 120


def holds(plan: Plan, evidence: Evidence) -> bool:
    """The rule tree's value on this evidence (the reference walk, as `Rule.test`)."""
    op = plan[0]
    if op == HAS:
        return evidence.has(plan[1])
    if op == NEAR:
        return evidence.near(plan[1], plan[2], plan[3], plan[4])
    if op == NOT:
        return not holds(plan[1], evidence)
    if op == ALL:
        return all(holds(part, evidence) for part in plan[1])
    if op == ANY:
        return any(holds(part, evidence) for part in plan[1])
    raise ValueError(f"unknown rule node {op!r}")


def render(plan: Plan, limit: int = RENDER_LIMIT) -> str:
    """The rule tree as rule text again (shortened to `limit` characters)."""
    text = _render(plan, top=True)
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _render(plan: Plan, top: bool = False) -> str:
    op = plan[0]
    if op == HAS:
        return str(plan[1])
    if op == NEAR:
        return f"{plan[1]} {'CLAUSE' if plan[4] else 'NEAR'}/{plan[3]} {plan[2]}"
    if op == NOT:
        return f"NOT {_render(plan[1])}"
    joined = (" AND " if op == ALL else " OR ").join(_render(part) for part in plan[1])
    return joined if top else f"({joined})"


def names_in(plan: Plan) -> list[str]:
    """Every name the tree tests, in rule order (a name once)."""
    op = plan[0]
    if op == HAS:
        return [plan[1]]
    if op == NEAR:
        return list(dict.fromkeys([plan[1], plan[2]]))
    if op == NOT:
        return names_in(plan[1])
    return list(dict.fromkeys(name for part in plan[1] for name in names_in(part)))


def _head(plan: Plan, negated: bool = False) -> str:
    """The first name a tree tests, "no NAME" where it is tested for absence."""
    op = plan[0]
    if op in (HAS, NEAR):
        return f"{'no ' if negated else ''}{plan[1]}"
    if op == NOT:
        return _head(plan[1], not negated)
    return _head(plan[1][0], negated)


@dataclass(frozen=True)
class Refusal:
    """The first top-level part of a topic's rule that failed.

    `veto` is true for a part of the form NOT (...): the story had what the rule asks for,
    and a veto clause (a denial, a Taiwan case, an explainer ...) took it back. `head` is the
    first name that clause tests, a short handle for grouping (`lead:denial`, `taiwan`);
    `text` the part itself as rule text.
    """

    index: int
    veto: bool
    head: str
    text: str
    names: tuple[str, ...]


def why_not(rule: Rule, evidence: Evidence) -> Refusal | None:
    """The part of `rule` that failed on `evidence`, or None when the rule holds."""
    plan = rule.plan
    parts = plan[1] if plan and plan[0] == ALL else (plan,)
    for index, part in enumerate(parts):
        if holds(part, evidence):
            continue
        veto = part[0] == NOT
        head = _head(part[1] if veto else part)
        return Refusal(index, veto, head, render(part), tuple(names_in(part)))
    return None


class TopicExplainer:
    """`why_not` for one topic of a matcher, on the rule the matcher compiled for it."""

    def __init__(self, matcher: Matcher, topic: str) -> None:
        rule = matcher.topic_rule(topic)
        if rule is None:
            raise KeyError(f"no topic {topic!r} in the watchlist")
        self.topic = topic
        self.matcher = matcher
        self.rule = rule

    def why_not(self, story: Story) -> Refusal | None:
        """The part of the topic's rule that failed on this story, or None if it holds."""
        evidence, _ = self.matcher.evidence(story)
        return why_not(self.rule, evidence)


# What a failed positive part of a rule lacked, by the first name it tests (its head).
_LACKS = (
    (("crypto", "exchange"), "entity", "no crypto term", "未见加密货币词"),
    (("action",), "missing action", "no action", "未见执法行动"),
)
_PLACE = ("place", "no mainland or Hong Kong actor", "未见内地或香港主体")


def refusal_kind(refusal: Refusal) -> str:
    """A short class for grouping misses: `veto: NAME`, `entity`, `missing action`, `place`."""
    return _describe(refusal)[0]


def describe(refusal: Refusal, lang: str = "en") -> str:
    """One line on why: "no action (needs: ...)" or "vetoed by: NOT (...)"."""
    _, en, zh = _describe(refusal)
    if refusal.veto:
        return f"{'vetoed by' if lang == 'en' else '被否决'}: {refusal.text}"
    return f"{en if lang == 'en' else zh} ({'needs' if lang == 'en' else '需要'}: {refusal.text})"


def _describe(refusal: Refusal) -> tuple[str, str, str]:
    if refusal.veto:
        return f"veto: {refusal.head}", "", ""
    for wanted, short, en, zh in _LACKS:
        if refusal.head in wanted:
            return short, en, zh
    return _PLACE
