"""Which scan runs: the C one (crawler/_native.c, built by setup.py) or the Python one.

crawler.matcher's automaton and _scan_hits, and crawler.fold's own narrowing and
searches, are the reference and the fallback: they run where no C compiler built the
extension, under CRACKDOWN_INTERPRETED (crawler.compiled.INTERPRETED_ENV,
so the interpreted build stays all Python), and when the extension was built from
another version of _native.c (an editable install after an edit or a merge: the
extension carries the hash of the source it was built from).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from crawler.compiled import INTERPRETED_ENV

SOURCE = Path(__file__).with_name("_native.c")


def source_hash(source: Path = SOURCE) -> str:
    """What setup.py builds into the extension as SOURCE_SHA256."""
    return hashlib.sha256(source.read_bytes()).hexdigest()


def is_fresh(module: ModuleType, source: Path = SOURCE) -> bool:
    """Was this extension built from `source` as it is now? (No source beside it, as in a
    wheel: yes.)"""
    if not source.is_file():
        return True
    return getattr(module, "SOURCE_SHA256", None) == source_hash(source)


def load() -> ModuleType | None:
    """The C extension, if it is built, fresh and wanted."""
    if os.environ.get(INTERPRETED_ENV):
        return None
    try:
        from crawler import _native  # type: ignore[attr-defined]
    except ImportError:  # no C compiler at install time, CRACKDOWN_NO_COMPILE=1
        return None
    return _native if is_fresh(_native) else None


_module = load()
# Index(patterns).scan(haystack, terms, original text, offsets, NFKC) -> (entity hits,
# phrase hits, exact spans, tangled): what crawler.matcher's automaton and _scan_hits give.
# None: those run.
Index: Callable[[list[str]], Any] | None = None if _module is None else _module.Index
# Folding (crawler.fold): full-width ASCII and U+3000 narrowed to ASCII in one pass, and
# CharSet(chars).find(text, start) -> index or -1, a character class searched for.
narrow: Callable[[str], str] | None = None if _module is None else _module.narrow
CharSet: Callable[[str], Any] | None = None if _module is None else _module.CharSet
# casefold(text) -> text.casefold(), or None when the text has a character with case
# beyond ASCII (then str.casefold runs): ASCII letters lowered in one pass.
casefold: Callable[[str], str | None] | None = None if _module is None else _module.casefold
# resolve_overlaps(hits, exact spans, inner, outer): crawler.matcher._resolve_overlaps in C
# (a new list; the hits that survive nesting, in order).
resolve_overlaps: Callable[..., Any] | None = None if _module is None else _module.resolve_overlaps
# fill(cls, names, *values) -> object.__new__(cls) with object.__setattr__ for each name:
# a frozen dataclass built without its __init__'s call per field (the matcher's results).
fill: Callable[..., Any] | None = None if _module is None else _module.fill
