"""Index terms for archive search: Latin words and overlapping CJK bigrams.

Why bigrams and not FTS5's trigram tokenizer: Chinese names the filter cares
about are often two characters (央行, 币安, 传销), and a trigram index cannot
answer a query shorter than three characters without a full scan. Bigrams
(the scheme of Lucene's CJK analyzer) answer any CJK term of two characters
or more as a phrase of consecutive bigrams, and the same term list serves
SQLite FTS5 (unicode61 over the space-joined terms) and PostgreSQL (a GIN
index over a text[]). Text is folded exactly as the matcher folds it, so
支付寶 finds 支付宝 and ＯＫＸ finds OKX; the index only narrows the
candidates, and the matcher decides.
"""

from __future__ import annotations

import re
from operator import add

from crawler.fold import fold

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A run of CJK (group 1) or of other word characters (group 2), in order.
_RUNS = re.compile(rf"([{_CJK}]+)|([^\W_{_CJK}]+)")
_IS_CJK = re.compile(rf"[{_CJK}]")


def terms(text: str) -> list[str]:
    """Index terms of a text, in order: words as they are, CJK runs as bigrams.

    A fifth of a growing archive's storing time went here (bench/archive.py):
    the runs come out of one `findall` already told apart, and a run's
    bigrams are its characters paired by `map` (no slicing a character).
    """
    out: list[str] = []
    for cjk, word in _RUNS.findall(fold(text)):
        if word:
            out.append(word)
        elif len(cjk) > 1:
            out.extend(map(add, cjk[:-1], cjk[1:]))
        else:
            out.append(cjk)
    return out


def document(*fields: str) -> str:
    """One story's searchable text (SQLite FTS5): its fields' terms, space-joined, by field."""
    return " ".join(" ".join(terms(field)) for field in fields if field)


def term_set(*fields: str) -> list[str]:
    """One story's distinct terms, sorted (PostgreSQL's text[]): those of `document`."""
    return sorted(set(terms("\n".join(fields))))


def phrase(form: str) -> tuple[str, ...] | None:
    """The consecutive terms a folded name or phrase needs; None if the index cannot tell.

    A single CJK character is indexed only when it stands alone, so a
    one-character query cannot narrow anything and is left to the matcher.
    """
    found = tuple(terms(form))
    if not found or any(len(t) == 1 and _IS_CJK.match(t) for t in found):
        return None
    return found
