"""Topic rules: boolean expressions over categories and entity keys.

Grammar (case-insensitive operators; adjacent terms mean AND)::

    expr  := term (OR term)*
    term  := factor ((AND)? factor)*
    factor:= NOT factor | '(' expr ')' | NAME

A NAME is a watchlist category (true when any entity of that category
matched) or an entity key (true when that entity matched). Rules are parsed
once into a tree; evaluation is a walk over a set of names, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

MAX_RULE_LENGTH = 1000
MAX_DEPTH = 32

_TOKEN = re.compile(r"\s*(?:(?P<paren>[()])|(?P<name>[\w\-]+))", re.UNICODE)
Predicate = Callable[[Collection[str]], bool]


class RuleError(ValueError):
    """A rule that cannot be parsed; `position` is a 0-based character offset."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"{message} at position {position + 1}")
        self.position = position


@dataclass(frozen=True)
class _Token:
    text: str
    kind: str  # "(", ")", "AND", "OR", "NOT", "NAME"
    position: int


def _tokenise(rule: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(rule):
        if rule[pos:].strip() == "":
            break
        match = _TOKEN.match(rule, pos)
        if not match:
            start = len(rule[pos:]) - len(rule[pos:].lstrip()) + pos
            raise RuleError(f"unexpected character {rule[start]!r}", start)
        text = match.group("paren") or match.group("name")
        start = match.start("paren") if match.group("paren") else match.start("name")
        upper = text.upper()
        kind = text if text in "()" else upper if upper in ("AND", "OR", "NOT") else "NAME"
        tokens.append(_Token(text, kind, start))
        pos = match.end()
    return tokens


class _Parser:
    def __init__(self, rule: str, names: Collection[str]) -> None:
        self.rule = rule
        self.names = names
        self.tokens = _tokenise(rule)
        self.index = 0

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _end(self) -> int:
        return len(self.rule)

    def parse(self) -> Predicate:
        if not self.tokens:
            raise RuleError("empty rule", 0)
        predicate = self._expr(0)
        extra = self._peek()
        if extra is not None:
            raise RuleError(f"unexpected {extra.text!r}", extra.position)
        return predicate

    def _expr(self, depth: int) -> Predicate:
        parts = [self._term(depth)]
        while (tok := self._peek()) is not None and tok.kind == "OR":
            self.index += 1
            parts.append(self._term(depth))
        return parts[0] if len(parts) == 1 else lambda present: any(p(present) for p in parts)

    def _term(self, depth: int) -> Predicate:
        parts = [self._factor(depth)]
        while (tok := self._peek()) is not None and tok.kind in ("AND", "NOT", "NAME", "("):
            if tok.kind == "AND":
                self.index += 1
            parts.append(self._factor(depth))
        return parts[0] if len(parts) == 1 else lambda present: all(p(present) for p in parts)

    def _factor(self, depth: int) -> Predicate:
        if depth > MAX_DEPTH:
            tok = self._peek()
            raise RuleError("rule nested too deeply", tok.position if tok else self._end())
        tok = self._peek()
        if tok is None:
            raise RuleError("rule ends too early", self._end())
        self.index += 1
        if tok.kind == "NOT":
            inner = self._factor(depth + 1)
            return lambda present: not inner(present)
        if tok.kind == "(":
            inner = self._expr(depth + 1)
            close = self._peek()
            if close is None or close.kind != ")":
                raise RuleError("missing ')'", close.position if close else self._end())
            self.index += 1
            return inner
        if tok.kind == "NAME":
            name = tok.text.lower()
            if name not in self.names:
                raise RuleError(f"unknown category or entity {tok.text!r}", tok.position)
            return lambda present: name in present
        raise RuleError(f"unexpected {tok.text!r}", tok.position)


def compile_rule(rule: str, names: Collection[str]) -> Predicate:
    """Parse `rule` into a predicate over the set of matched names.

    `names` are the categories and entity keys the rule may use; anything
    else is an error pointing at its position.
    """
    if len(rule) > MAX_RULE_LENGTH:
        raise RuleError(f"rule longer than {MAX_RULE_LENGTH} characters", MAX_RULE_LENGTH)
    return _Parser(rule, {n.lower() for n in names}).parse()
