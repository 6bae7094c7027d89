"""Topic rules and subscriber queries: one small boolean language.

Grammar (operators are case-insensitive; adjacent terms mean AND)::

    expr   := term (OR term)*
    term   := factor ((AND)? factor)*
    factor := NOT factor | near
    near   := atom ((NEAR/n | CLAUSE/n) atom)?
    atom   := '(' expr ')' | NAME | "quoted phrase"

A NAME is a watchlist category (true when any entity of that category
matched) or an entity key. A quoted phrase is matched like an alias: case-
and width-blind, traditional = simplified, whole words for Latin text.
`a NEAR/n b` holds when a hit of `a` and a hit of `b` in the same field are
at most n tokens apart (a Latin word or one CJK character is a token).
`a CLAUSE/n b` is NEAR/n within one clause: no , ; : . ! ? (or 。，；：！？)
between the two hits. It tells "South Korean police" (a foreign enforcer)
from "... fled to London, police said" (a place, then an attribution).
NOT binds tighter than AND, AND tighter than OR.

Rules are parsed once into a tree, evaluated against `Evidence` with no
I/O. Input is bounded (length, depth, NEAR distance) so a hostile query is
refused before any work is done, with the position of the problem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

MAX_RULE_LENGTH = 1000
MAX_DEPTH = 32
MAX_NEAR = 100

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<paren>[()])
      | (?P<phrase>["“][^"“”]*["”])
      | (?P<near>(?:NEAR|CLAUSE)/\d+)(?![\w\-])
      | (?P<name>[^\s()"“”]+)
    )""",
    re.UNICODE | re.VERBOSE | re.IGNORECASE,
)


class RuleError(ValueError):
    """A rule that cannot be parsed; `position` is a 0-based character offset."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position + 1}")
        self.message = message
        self.position = position


class Evidence(Protocol):
    """What a rule is evaluated against (built by the Matcher)."""

    def has(self, name: str) -> bool: ...

    def near(self, left: str, right: str, distance: int, clause: bool = False) -> bool: ...


@dataclass(frozen=True)
class Needs:
    """What a story must contain for a rule to hold, ignoring NOT and distances.

    A superset test an index can answer (archive search): `op` is "all",
    "any" or "name"; a rule that needs nothing in particular (`NOT price`)
    has no Needs at all (None).
    """

    op: str
    parts: tuple[Needs, ...] = ()
    name: str = ""


def _needs_all(parts: Iterable[Needs | None]) -> Needs | None:
    kept = tuple(part for part in parts if part is not None)
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else Needs("all", kept)


def _needs_any(parts: Iterable[Needs | None]) -> Needs | None:
    listed = tuple(parts)
    if any(part is None for part in listed):
        return None
    kept = tuple(part for part in listed if part is not None)
    return kept[0] if len(kept) == 1 else Needs("any", kept)


# A rule's tree as plain tuples, for an evaluator that knows its evidence's class (the
# matcher's topic rules, crawler.matcher._Test): (HAS, name), (NEAR, left, right, distance,
# clause), (NOT, plan), (ALL, (plan, ...)), (ANY, (plan, ...)). `Rule.test` is the
# reference: the same tree as closures over any Evidence.
Plan = tuple[Any, ...]
HAS: Final = 0
NEAR: Final = 1
NOT: Final = 2
ALL: Final = 3
ANY: Final = 4


@dataclass(frozen=True)
class Rule:
    """A compiled rule: its predicate, the phrases it needs matched, what it needs present,
    and its tree (`Plan`)."""

    source: str
    test: Callable[[Evidence], bool]
    phrases: frozenset[str] = field(default=frozenset())
    needs: Needs | None = None
    plan: Plan = field(default=(), compare=False)

    def __call__(self, evidence: Evidence) -> bool:
        return self.test(evidence)


def phrase_key(phrase: str) -> str:
    """How a phrase is named in evidence: quoted, so it never clashes with a key."""
    return f'"{phrase}"'


@dataclass(frozen=True)
class _Token:
    text: str
    kind: str  # "(", ")", "AND", "OR", "NOT", "NEAR", "NAME", "PHRASE"
    position: int


def _tokenise(rule: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(rule) and rule[pos:].strip():
        match = _TOKEN.match(rule, pos)
        if not match:  # only an unterminated quote gets here
            start = len(rule) - len(rule[pos:].lstrip())
            raise RuleError("unterminated quoted phrase", start)
        kind = match.lastgroup or "name"
        start = match.start(kind)
        text = match.group(kind)
        if kind == "paren":
            tokens.append(_Token(text, text, start))
        elif kind == "phrase":
            tokens.append(_Token(text[1:-1], "PHRASE", start))
        elif kind == "near":
            tokens.append(_Token(text, "NEAR", start))
        else:
            upper = text.upper()
            tokens.append(_Token(text, upper if upper in ("AND", "OR", "NOT") else "NAME", start))
        pos = match.end()
    return tokens


_Test = Callable[[Evidence], bool]
_Node = tuple[_Test, Needs | None, Plan]


def _any_of(parts: list[_Test]) -> _Test:
    """OR of the parts, left to right, stopping at the first true one (a plain loop: the
    topic rule runs once per story and a generator per call cost more than the tests)."""

    def test(evidence: Evidence) -> bool:
        for part in parts:  # noqa: SIM110 (no generator per call)
            if part(evidence):
                return True
        return False

    return test


def _all_of(parts: list[_Test]) -> _Test:
    """AND of the parts, left to right, stopping at the first false one."""

    def test(evidence: Evidence) -> bool:
        for part in parts:  # noqa: SIM110
            if not part(evidence):
                return False
        return True

    return test


class _Parser:
    def __init__(
        self,
        rule: str,
        names: Collection[str],
        fold: Callable[[str], str],
        bare_words_are_phrases: bool,
    ) -> None:
        self.rule = rule
        self.names = names
        self.fold = fold
        self.bare_words_are_phrases = bare_words_are_phrases
        self.tokens = _tokenise(rule)
        self.index = 0
        self.phrases: set[str] = set()

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _next(self, expected: str) -> _Token:
        tok = self._peek()
        if tok is None:
            raise RuleError(f"rule ends too early, expected {expected}", len(self.rule))
        self.index += 1
        return tok

    def parse(self) -> _Node:
        if not self.tokens:
            raise RuleError("empty rule", 0)
        node = self._expr(0)
        extra = self._peek()
        if extra is not None:
            raise RuleError(f"unexpected {extra.text!r}", extra.position)
        return node

    def _expr(self, depth: int) -> _Node:
        nodes = [self._term(depth)]
        while (tok := self._peek()) is not None and tok.kind == "OR":
            self.index += 1
            nodes.append(self._term(depth))
        if len(nodes) == 1:
            return nodes[0]
        return (
            _any_of([test for test, _, _ in nodes]),
            _needs_any(n for _, n, _ in nodes),
            (ANY, tuple([plan for _, _, plan in nodes])),
        )

    def _term(self, depth: int) -> _Node:
        nodes = [self._factor(depth)]
        while (tok := self._peek()) is not None and tok.kind in (
            "AND",
            "NOT",
            "NAME",
            "PHRASE",
            "(",
        ):
            if tok.kind == "AND":
                self.index += 1
            nodes.append(self._factor(depth))
        if len(nodes) == 1:
            return nodes[0]
        return (
            _all_of([test for test, _, _ in nodes]),
            _needs_all(n for _, n, _ in nodes),
            (ALL, tuple([plan for _, _, plan in nodes])),
        )

    def _factor(self, depth: int) -> _Node:
        if depth > MAX_DEPTH:
            tok = self._peek()
            raise RuleError("rule nested too deeply", tok.position if tok else len(self.rule))
        tok = self._peek()
        if tok is not None and tok.kind == "NOT":
            self.index += 1
            inner, _, plan = self._factor(depth + 1)
            return (lambda ev: not inner(ev)), None, (NOT, plan)
        return self._near(depth)

    def _near(self, depth: int) -> _Node:
        left_tok = self._peek()
        left = self._atom(depth)
        tok = self._peek()
        if tok is None or tok.kind != "NEAR":
            return left[0], left[2], left[3]
        self.index += 1
        operator, number = tok.text.upper().split("/", 1)
        distance, clause = int(number), operator == "CLAUSE"
        if not 1 <= distance <= MAX_NEAR:
            raise RuleError(f"{operator} distance must be 1 to {MAX_NEAR}", tok.position)
        right_tok = self._peek()
        right = self._atom(depth)
        for (_, name, _, _), where in ((left, left_tok), (right, right_tok)):
            if name is None:
                position = where.position if where else tok.position
                raise RuleError(f"{operator} needs a name or a phrase on each side", position)
        left_name, right_name = left[1], right[1]
        assert left_name is not None and right_name is not None
        test: _Test = lambda ev: ev.near(left_name, right_name, distance, clause)  # noqa: E731
        plan = (NEAR, left_name, right_name, distance, clause)
        return test, _needs_all((left[2], right[2])), plan

    def _atom(self, depth: int) -> tuple[_Test, str | None, Needs | None, Plan]:
        tok = self._next("a name, a phrase or '('")
        if tok.kind == "(":
            inner, needs, plan = self._expr(depth + 1)
            close = self._peek()
            if close is None or close.kind != ")":
                raise RuleError("missing ')'", close.position if close else len(self.rule))
            self.index += 1
            return inner, None, needs, plan
        if tok.kind == "PHRASE" or (tok.kind == "NAME" and self._is_bare_phrase(tok.text)):
            folded = self.fold(tok.text).strip()
            if not folded:
                raise RuleError("empty phrase", tok.position)
            self.phrases.add(folded)
            key = phrase_key(folded)
            return (lambda ev: ev.has(key)), key, Needs("name", name=key), (HAS, key)
        if tok.kind == "NAME":
            name = tok.text.lower()
            if name not in self.names:
                raise RuleError(f"unknown category or entity {tok.text!r}", tok.position)
            return (lambda ev: ev.has(name)), name, Needs("name", name=name), (HAS, name)
        raise RuleError(f"unexpected {tok.text!r}", tok.position)

    def _is_bare_phrase(self, text: str) -> bool:
        return self.bare_words_are_phrases and text.lower() not in self.names


def compile_rule(
    rule: str,
    names: Collection[str],
    *,
    fold: Callable[[str], str] = str.casefold,
    bare_words_are_phrases: bool = False,
    max_length: int = MAX_RULE_LENGTH,
) -> Rule:
    """Parse `rule` into a Rule over the given category and entity names.

    Topic rules (operators) reject unknown names as typos; subscriber queries
    pass `bare_words_are_phrases=True` so `binance AND "Justin Sun"` and
    `binance AND justin` both work. `fold` must be the matcher's text fold so
    phrases are compared in the same normal form as stories.
    """
    if len(rule) > max_length:
        raise RuleError(f"rule longer than {max_length} characters", max_length)
    parser = _Parser(rule, {n.lower() for n in names}, fold, bare_words_are_phrases)
    test, needs, plan = parser.parse()
    return Rule(rule, test, frozenset(parser.phrases), needs, plan)


class NameSet:
    """Evidence from a plain set of names (no positions): NEAR is never true."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = set(names)

    def has(self, name: str) -> bool:
        return name in self.names

    def near(self, left: str, right: str, distance: int, clause: bool = False) -> bool:
        return False
