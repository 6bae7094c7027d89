"""The normal form that aliases, phrases and stories are matched in.

NFKC (full-width -> half-width, ligatures), case-fold, curly apostrophes ->
straight, traditional -> simplified Chinese (OpenCC hk2s: t2s plus the Hong Kong
variant characters t2s leaves alone, such as 衞 in 國民警衞, which would
otherwise read as 民警, the police). Matching happens
on the folded text; `Folded.original` maps a folded offset back to the
original string so hits and snippets point at what the reader sees.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from functools import lru_cache
from typing import Any

import opencc

from crawler import native

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
# Full-width ASCII and the ideographic space: NFKC maps them 1:1 to ASCII. Chinese
# text is full of them (，：（）), and each one sends unicodedata.normalize down its
# slow path (~55 MB/s); mapping them first lets most text pass NFKC's quick check.
_WIDE = re.compile("[\uff01-\uff5e\u3000]")
_WIDE_TO_ASCII = {chr(0xFF01 + i): chr(0x21 + i) for i in range(94)} | {"\u3000": " "}
_converter = opencc.OpenCC("hk2s")


# The full-width characters Chinese text is made of, replaced with str.replace (a
# C-speed scan each) before the regex mops up the rare rest without a callback storm.
_COMMON_WIDE = tuple((wide, _WIDE_TO_ASCII[wide]) for wide in "，：（）；！？　％＋－／")


def _narrow(match: re.Match[str]) -> str:
    return _WIDE_TO_ASCII[match.group()]


_NARROW_ERRORS = "crackdown-narrow-wide"


_WIDE_TABLE = str.maketrans(_WIDE_TO_ASCII)


def _narrow_run(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: a run of full-width ASCII becomes ASCII; anything else fails
    (at its first character: a run of Chinese is never copied)."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text, start, end = error.object, error.start, error.end
    if text[start] not in _WIDE_TO_ASCII or text[end - 1] not in _WIDE_TO_ASCII:
        raise error
    narrowed = text[start:end].translate(_WIDE_TABLE)  # no regex: a run is a word or two
    if not narrowed.isascii():  # something other than full-width ASCII inside the run
        raise error
    return narrowed, end


@lru_cache(maxsize=1)
def _narrow_errors() -> str:
    codecs.register_error(_NARROW_ERRORS, _narrow_run)
    return _NARROW_ERRORS


def _narrow_latin(text: str) -> str | None:
    """`text` with full-width ASCII made ASCII, if that leaves it all ASCII; else None.

    Latin text with full-width words (ＯＴＣ, ＵＳＤＴ) goes through the ASCII
    codec, whose error handler gets each full-width run at once: a call a word
    instead of a regex callback a character, half the time. Text with any other
    non-ASCII character (Chinese) fails fast there.
    """
    try:
        return text.encode("ascii", _narrow_errors()).decode("ascii")
    except UnicodeEncodeError:
        return None


def _narrow_wide(text: str) -> str:
    """Full-width ASCII -> ASCII (the codec for Latin text, else the regex)."""
    narrowed = _narrow_latin(text)
    return _WIDE.sub(_narrow, text) if narrowed is None else narrowed


# crawler/_native.c's one-pass narrowing, where it is built (crawler.native).
_NATIVE_NARROW = native.narrow


# Characters NFKC leaves as they are whatever stands around them: no decomposition, no
# combining class, none that composes with a character before it (those are combining
# marks, Hangul jamo and a few vowel signs, none in these blocks). The middle dot, general
# punctuation, CJK symbols and the ideographs: Chinese news is made of them and ASCII.
_STABLE_BLOCKS = (
    (0xB7, 0xB8),
    (0x2000, 0x2070),
    (0x3000, 0x3040),
    (0x3400, 0x4DC0),
    (0x4E00, 0xA000),
)


@lru_cache(maxsize=1)
def _stable() -> Any:
    """crawler/_native.c's CharSet of the _STABLE_BLOCKS characters NFKC leaves alone, or
    None where it is not built."""
    if native.CharSet is None:
        return None
    chars = [chr(code) for low, high in _STABLE_BLOCKS for code in range(low, high)]
    return native.CharSet(
        "".join(
            c
            for c in chars
            if unicodedata.normalize("NFKC", c) == c and not unicodedata.combining(c)
        )
    )


def _nfkc(text: str) -> str:
    """NFKC, fast for news text: NFKC's quick check (GB/s) decides what work is left.

    NFKC maps full-width ASCII and U+3000 to ASCII one to one, so narrowing them first
    changes no result, and leaves most text (Chinese with ，：（）) NFKC already; where
    the C extension is built, one pass narrows text made of ASCII and characters NFKC
    leaves alone (_stable) and that is its NFKC.
    """
    stable = _stable()
    if stable is not None:
        narrowed: str | None = stable.narrowed_within(text)
        if narrowed is not None:
            return narrowed
    if unicodedata.is_normalized("NFKC", text):
        return text
    if _NATIVE_NARROW is not None:
        ascii_wide = _NATIVE_NARROW(text)
        if ascii_wide.isascii() or unicodedata.is_normalized("NFKC", ascii_wide):
            return ascii_wide
        return unicodedata.normalize("NFKC", ascii_wide)
    if "。" not in text:  # not Chinese: Latin text with full-width words is ASCII at once
        narrowed = _narrow_latin(text)
        if narrowed is not None:  # ASCII, which NFKC leaves alone
            return narrowed
    for wide, narrow in _COMMON_WIDE:
        if wide in text:
            text = text.replace(wide, narrow)
    if unicodedata.is_normalized("NFKC", text):
        return text
    text = _narrow_wide(text)
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


def _latin_fold(text: str) -> str:
    return _case_fold(_nfkc(text))


# crawler/_native.c's casefold where it is built: Chinese text (ASCII letters among
# caseless characters) lowered in one pass; None sends other text to str.casefold.
_NATIVE_CASEFOLD = native.casefold


def _case_fold(normal: str) -> str:
    """Case-fold NFKC text and straighten curly apostrophes."""
    folded = None if _NATIVE_CASEFOLD is None else _NATIVE_CASEFOLD(normal)
    if folded is None:
        folded = normal.casefold()
    if "’" in folded or "‘" in folded:
        folded = folded.replace("’", "'").replace("‘", "'")
    return folded


@lru_cache(maxsize=1)
def _traditional_chars() -> str | None:
    """The characters the converter changes, asked of OpenCC itself (about 4,200); None
    when a conversion changes lengths (then all CJK is converted)."""
    ranges = (range(0x3400, 0xA000), range(0xF900, 0xFB00))
    chars = [chr(code) for block in ranges for code in block]
    converted = _converter.convert("\n".join(chars)).split("\n")
    if len(converted) != len(chars):
        return None
    return "".join(a for a, b in zip(chars, converted, strict=True) if a != b)


@lru_cache(maxsize=1)
def _traditional() -> re.Pattern[str]:
    """The characters the converter changes, as a character class.

    Most Chinese news is simplified already; finding none of these lets the
    text skip conversion (a scan at ~700 MB/s instead of OpenCC at ~270).
    """
    changed = _traditional_chars()
    return _CJK if changed is None else re.compile(f"[{re.escape(changed)}]")


class _Finder:
    """A character class searched for: crawler/_native.c's CharSet where it is built (a
    bit per character), else the regex."""

    __slots__ = ("_chars", "_pattern")

    def __init__(self, pattern: re.Pattern[str], chars: str | None) -> None:
        self._pattern = pattern
        self._chars = None if chars is None or native.CharSet is None else native.CharSet(chars)

    def find(self, text: str, start: int) -> int:
        """The index of the first character of the class at or after `start`, or -1."""
        if self._chars is not None:
            index: int = self._chars.find(text, start)
            return index
        found = self._pattern.search(text, start)
        return -1 if found is None else found.start()


@lru_cache(maxsize=1)
def _finders() -> tuple[_Finder, _Finder]:
    """(traditional characters, stops) for _t2s."""
    return _Finder(_traditional(), _traditional_chars()), _Finder(_STOP, "".join(_STOPS))


# Where OpenCC's phrase matching cannot reach across: whitespace, ASCII punctuation, CJK
# punctuation (、。「」《》【】 ...) and general punctuation (“ ” … —). No conversion
# phrase holds one, so converting the stretch between two of them on its own gives what
# converting the whole text gives (tests/crawler/test_fold.py checks this).
_STOPS = frozenset(
    " \t\n\r\f\v!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
    + "".join(map(chr, range(0x3000, 0x3040)))
    + "".join(map(chr, range(0x2010, 0x2030)))
)
_STOP = re.compile(f"[{re.escape(''.join(sorted(_STOPS)))}]")
_LOOK_BACK = 200  # past this, convert from where the last converted stretch ended


def _t2s(text: str) -> str:
    """Traditional -> simplified, converting only the stretches that need it.

    Chinese news is mostly simplified, with traditional names quoted here and
    there: OpenCC over the whole text costs more than the rest of folding, so
    only the stretches between punctuation that hold a traditional character
    are converted.
    """
    if text.isascii():  # a constant-time check: Latin text (ＯＴＣ became OTC) has nothing to do
        return text
    return _t2s_from(text, _finders()[0].find(text, 0))


def _stretch_start(text: str, index: int, done: int, stops: _Finder) -> int:
    """Where the stretch holding text[index] starts: after the nearest stop before it within
    _LOOK_BACK characters (not before `done`), else at `done`. Found by crawler/_native.c's
    CharSet.rfind where it is built, else a character at a time (the reference;
    tests/crawler/test_fold.py holds the two equal)."""
    if stops._chars is not None:
        low = max(done, index - _LOOK_BACK)
        last: int = stops._chars.rfind(text, low, index)
        if last >= 0:
            return last + 1
        return low if low > done and text[low - 1] in _STOPS else done
    start = index
    while start > done and index - start < _LOOK_BACK and text[start - 1] not in _STOPS:
        start -= 1
    if start > done and text[start - 1] not in _STOPS:
        start = done
    return start


def _t2s_from(text: str, index: int) -> str:
    """_t2s, its first traditional character (at `index`, -1 for none) found already."""
    if index < 0:
        return text
    traditional, stops = _finders()
    kept: list[str] = []  # the stretches left as they are, one more than those converted
    stretches: list[str] = []
    done = 0  # text[:done] is handled; `done` is 0 or the index of a stop
    while index >= 0:
        start = _stretch_start(text, index, done, stops)
        stop = stops.find(text, index)
        end = stop if stop >= 0 else len(text)
        kept.append(text[done:start])
        stretches.append(text[start:end])
        done = end
        index = traditional.find(text, end)
    kept.append(text[done:])
    converted = _convert_all(stretches)
    pieces = [kept[0]]
    for piece, rest in zip(converted, kept[1:], strict=True):
        pieces.append(piece)
        pieces.append(rest)
    return "".join(pieces)


def _convert_all(stretches: list[str]) -> list[str]:
    """OpenCC over each stretch, in one call: joined by a newline, which no conversion
    phrase holds (a stop), so each converts as it would alone; a call costs about 3 us,
    as much as 25 characters' conversion. One by one if the newlines do not come back."""
    if len(stretches) == 1:
        return [_converter.convert(stretches[0])]
    if not any("\n" in stretch for stretch in stretches):
        converted = _converter.convert("\n".join(stretches)).split("\n")
        if len(converted) == len(stretches):
            return converted
    return [_converter.convert(stretch) for stretch in stretches]


@lru_cache(maxsize=65536)
def _fold_char(char: str) -> str:
    return _t2s(_latin_fold(char))


def fold(text: str) -> str:
    """Fold text without offsets (for aliases, phrases, queries, clustering and search).

    The one C pass fold_with_offsets takes where it can (_folded_within: NFKC,
    case-folding and where OpenCC starts), the steps one by one where it cannot; both give
    _t2s(_latin_fold(text)) (tests/crawler/test_fold.py holds them equal).
    """
    if text.isascii():  # NFKC leaves ASCII alone; casefold is lower; nothing traditional
        return text.lower()
    fast = _folded_within(text)
    if fast is not None:
        return _t2s_from(fast[0], fast[1])
    return _t2s(_latin_fold(text))


@lru_cache(maxsize=1)
def _fast_sets() -> tuple[Any, Any] | None:
    """(_stable(), the traditional characters) as crawler/_native.c's CharSets, or None
    where it is not built or OpenCC changes lengths."""
    stable, traditional = _stable(), _finders()[0]._chars
    return None if stable is None or traditional is None else (stable, traditional)


def _folded_within(text: str) -> tuple[str, int, bool] | None:
    """_case_fold(_nfkc(text)), the index of its first traditional character (-1 for none)
    and whether the text is all ASCII once narrowed (then that is the case-kept text the
    Latin path keeps, Folded.cased), in one C pass, for text of ASCII and the characters
    NFKC and case-folding leave alone; else None. tests/crawler/test_native.py holds it
    equal to the steps it replaces."""
    sets = _fast_sets()
    if sets is None:
        return None
    stable, traditional = sets
    found: tuple[str, int, bool] | None = stable.folded_within(text, traditional)
    return found


def _narrowed(text: str) -> str:
    """Full-width ASCII and U+3000 narrowed (crawler/_native.c's narrow where it is built)."""
    return _narrow_wide(text) if _NATIVE_NARROW is None else _NATIVE_NARROW(text)


class Folded:
    """Folded text plus, when lengths changed, folded -> original offsets.

    A plain class with slots: one is built per field matched, and a frozen
    dataclass costs twice as much to build.
    """

    __slots__ = ("_cased", "_narrow", "offsets", "text")

    def __init__(
        self,
        text: str,
        offsets: list[int] | None,
        cased: str | None = None,
        narrow: str | None = None,
    ) -> None:
        self.text = text
        self.offsets = offsets
        self._cased = cased
        # The original, when `cased` is it narrowed: made only if asked for (the C scan
        # never asks; the Python acronym search, its fallback, does).
        self._narrow = narrow

    @property
    def cased(self) -> str | None:
        """ASCII text, case kept, whose lower() is `text` and whose every slice is NFKC of
        the same slice of the original (offsets unchanged): exact-case acronyms are
        searched for in it. None when the original has more than ASCII and full-width."""
        if self._narrow is not None:
            self._cased, self._narrow = _narrowed(self._narrow), None
        return self._cased

    def original(self, index: int) -> int:
        return index if self.offsets is None else self.offsets[index]


def fold_with_offsets(text: str) -> Folded:
    """Fold `text`, keeping a way back to original offsets.

    The fast path (lengths unchanged, as for nearly all news text) keeps a
    1:1 mapping; otherwise each character is folded on its own and mapped.
    """
    if text.isascii():  # NFKC leaves ASCII alone; casefold is lower; nothing traditional
        return Folded(text.lower(), None, text)
    fast = _folded_within(text)
    if fast is not None:  # news text: NFKC and case-folding in one C pass, lengths kept
        folded, first, ascii_once_narrowed = fast
        converted = _t2s_from(folded, first)
        if len(converted) == len(text):
            return Folded(converted, None, None, text if ascii_once_narrowed else None)
    normal = _nfkc(text)
    if len(normal) == len(text) and normal.isascii():
        # Latin text with full-width words (ＯＴＣ): NFKC mapped each character to one
        # ASCII character (a composition would have left a non-ASCII one), so offsets
        # hold, casefold is lower and nothing is traditional.
        return Folded(normal.lower(), None, normal)
    latin = _case_fold(normal)
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
