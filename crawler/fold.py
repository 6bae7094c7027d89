"""The normal form that aliases, phrases and stories are matched in.

NFKC (full-width -> half-width, ligatures), case-fold, curly apostrophes ->
straight, traditional -> simplified Chinese (OpenCC t2s). Matching happens
on the folded text; `Folded.original` maps a folded offset back to the
original string so hits and snippets point at what the reader sees.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Full-width ASCII and the ideographic space: NFKC maps them 1:1 to ASCII. Chinese
# text is full of them (，：（）), and each one sends unicodedata.normalize down its
# slow path (~55 MB/s); mapping them first lets most text pass NFKC's quick check.
_WIDE = re.compile("[\uff01-\uff5e\u3000]")
_WIDE_TO_ASCII = {chr(0xFF01 + i): chr(0x21 + i) for i in range(94)} | {"\u3000": " "}
_converter = opencc.OpenCC("t2s")


# The full-width characters Chinese text is made of, replaced with str.replace (a
# C-speed scan each) before the regex mops up the rare rest without a callback storm.
_COMMON_WIDE = tuple((wide, _WIDE_TO_ASCII[wide]) for wide in "，：（）；！？　％＋－／")


def _narrow(match: re.Match[str]) -> str:
    return _WIDE_TO_ASCII[match.group()]


def _nfkc(text: str) -> str:
    """NFKC, fast for news text: NFKC's quick check (GB/s) decides what work is left."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    for wide, narrow in _COMMON_WIDE:
        if wide in text:
            text = text.replace(wide, narrow)
    if unicodedata.is_normalized("NFKC", text):
        return text
    text = _WIDE.sub(_narrow, text)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def _latin_fold(text: str) -> str:
    folded = _nfkc(text).casefold()
    if "’" in folded or "‘" in folded:
        folded = folded.replace("’", "'").replace("‘", "'")
    return folded


@lru_cache(maxsize=1)
def _traditional() -> re.Pattern[str]:
    """The characters OpenCC's t2s changes, asked of OpenCC itself (about 4,200).

    Most Chinese news is simplified already; finding none of these lets the
    text skip conversion (a scan at ~700 MB/s instead of OpenCC at ~270).
    """
    ranges = (range(0x3400, 0xA000), range(0xF900, 0xFB00))
    chars = [chr(code) for block in ranges for code in block]
    converted = _converter.convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):  # a conversion that changes lengths: convert all CJK
        return _CJK
    changed = "".join(a for a, b in zip(chars, converted, strict=True) if a != b)
    return re.compile(f"[{re.escape(changed)}]")


def _t2s(text: str) -> str:
    return _converter.convert(text) if _traditional().search(text) else text


@lru_cache(maxsize=65536)
def _fold_char(char: str) -> str:
    return _t2s(_latin_fold(char))


def fold(text: str) -> str:
    """Fold text without offsets (for aliases, phrases and queries)."""
    return _t2s(_latin_fold(text))


@dataclass(frozen=True)
class Folded:
    """Folded text plus, when lengths changed, folded -> original offsets."""

    text: str
    offsets: list[int] | None

    def original(self, index: int) -> int:
        return index if self.offsets is None else self.offsets[index]


def fold_with_offsets(text: str) -> Folded:
    """Fold `text`, keeping a way back to original offsets.

    The fast path (lengths unchanged, as for nearly all news text) keeps a
    1:1 mapping; otherwise each character is folded on its own and mapped.
    """
    latin = _latin_fold(text)
    folded = _t2s(latin)
    if len(folded) == len(text) and len(latin) == len(text):
        return Folded(folded, None)
    pieces: list[str] = []
    offsets: list[int] = []
    for index, char in enumerate(text):
        piece = _fold_char(char)
        pieces.append(piece)
        offsets.extend([index] * len(piece))
    offsets.append(len(text))
    return Folded("".join(pieces), offsets)
