"""Page bytes -> text, for Chinese sites that often declare their charset wrongly or not at all.

Scrapy guesses ASCII, UTF-8 then cp1252 when nothing is declared; a GBK
page without a charset then comes out as cp949 (Korean) mojibake. Here
each candidate must decode the whole body strictly, in this order:

1. the Content-Type header's charset, the byte-order mark, the
   `<meta charset>`; but a header that says Latin-1 (a server default)
   yields to a meta tag that names something else;
2. UTF-8; then UTF-8 with the few bytes that do not decode read as windows-1252, when
   the UTF-8 outweighs them (a CMS pasting a Word quote into a UTF-8 page: read whole as
   GB18030 it was all mojibake);
3. what charset_normalizer guesses (through trafilatura), Chinese
   encodings first: a short GBK page is often guessed as cp949 first;
4. GB18030.

GB2312 and GBK labels decode as GB18030, their superset (as browsers do):
pages labelled GB2312 routinely use GBK characters. When nothing decodes
strictly the first candidate is used with replacement characters, and
`Decoded.note` says so for the log.
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass

from trafilatura.utils import detect_encoding

from crawler.extract import charset_of

_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_SUPERSETS = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030"}
_LATIN = {"iso8859-1", "latin-1", "iso-8859-1", "latin1", "ascii", "us-ascii", "cp1252"}
_CHINESE = ("gb18030", "big5", "big5hkscs", "hz")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")
_ASCII = bytes(range(128))
_MIXED = "utf-8+cp1252"  # a candidate in the order: see `_utf8_with_cp1252`
_NEARLY = "nearly:"  # a candidate in the order: "nearly:big5,gb18030" (see `_nearly`)
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (b"\xfe\xff", "utf-16"))


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    note: str | None = None  # how the charset was chosen, when not as declared
    suspect: bool = False  # a declared charset that failed, or bytes replaced: worth a warning


def _normal(name: str | None) -> str | None:
    """A Python codec name for a charset label, or None if Python knows no such codec."""
    if not name:
        return None
    label = name.strip().strip("\"'").lower()
    label = _SUPERSETS.get(label, label)
    try:
        codec = codecs.lookup(label).name
    except LookupError:
        return None
    return "cp1252" if codec in ("latin-1", "iso8859-1", "ascii") else codec


def meta_charset(body: bytes) -> str | None:
    """The charset a `<meta>` tag in the first 4 KB declares, if any."""
    match = _META.search(body[:4096])
    return match.group(1).decode("ascii", "replace") if match else None


def _declared(body: bytes, content_type: str) -> list[str]:
    """The charsets the response declares, as codec names, most trusted first."""
    header = charset_of(content_type)
    meta = _normal(meta_charset(body))
    bom = next((codec for mark, codec in _BOMS if body.startswith(mark)), None)
    declared = [_normal(header), bom, meta]
    if header and header.strip().lower() in _LATIN and meta not in (None, "cp1252"):
        declared = [bom, meta, _normal(header)]
    return [c for c in dict.fromkeys(declared) if c]


def _guesses(body: bytes) -> Iterator[str]:
    """UTF-8, then charset_normalizer's guesses (Chinese ones first, then the best of them
    with a few bad bytes for a mostly Chinese page), then GB18030."""
    yield "utf-8"
    yield _MIXED
    guesses = [g for g in (_normal(g) for g in detect_encoding(body)) if g]
    yield from (g for g in guesses if g in _CHINESE)
    # Big5 too, whatever the guess: a stray byte hides it from charset_normalizer, and GB18030
    # decodes Big5 bytes as (non-Chinese) mojibake, which `_nearly` refuses.
    chinese = [g for g in guesses if g in _CHINESE]
    yield _NEARLY + ",".join(dict.fromkeys([*chinese, "gb18030", "big5"]))
    yield from (g for g in guesses if g not in _CHINESE)
    yield "gb18030"


def _nearly(body: bytes, codecs_: list[str]) -> tuple[str, str, int] | None:
    """The Chinese codec that decodes the page with fewest bad bytes (a stray byte, a
    character cut at the end), if they are few and the page is mostly Chinese: a
    single-byte guess would read all of it as mojibake."""
    ascii_bytes = len(body) - len(body.translate(None, _ASCII))
    if ascii_bytes < len(body) // 5:  # no markup around it: not a page, whatever decodes
        return None
    best: tuple[str, str, int] | None = None
    fewest_odd = 0
    for codec in codecs_:
        text = body.decode(codec, errors="replace")
        bad = text.count("\ufffd")
        if bad > max(4, len(body) // 2000):
            continue
        # Mostly Chinese: markup and Latin words aside, its letters are CJK ideographs.
        others = sum(1 for ch in text if ch.isalpha() and not ch.isascii())
        cjk = len(_CJK.findall(text))
        if cjk < 8 or cjk / others <= 0.8:
            continue
        # Big5 read as GB18030 is still mostly ideographs, with kana and private-use
        # characters among them: the reading with the fewest odd characters wins.
        odd = bad + others - cjk + len(_PRIVATE_USE.findall(text))
        if best is None or odd < fewest_odd:
            best, fewest_odd = (text, codec, bad), odd
    return best


def _utf8_with_cp1252(body: bytes) -> tuple[str, int] | None:
    """The body as UTF-8 with each byte that does not decode read as windows-1252, and how
    many such bytes; None when they are not few beside the UTF-8 (GBK, Big5, or a page
    written in windows-1252 throughout: those are for the guesses)."""
    parts: list[str] = []
    view = memoryview(body)
    start = bad = 0
    limit = 64 + len(body) // 100  # bounds the cost of a body that is not UTF-8 at all
    while True:
        try:
            parts.append(str(view[start:], "utf-8"))
            break
        except UnicodeDecodeError as err:
            parts.append(str(view[start : start + err.start], "utf-8"))
            stray = bytes(view[start + err.start : start + err.end])
            parts.append(stray.decode("cp1252", errors="replace"))
            bad += len(stray)
            start += err.end
            if bad > limit:
                return None
    text = "".join(parts)
    utf8 = len(body) - len(text)  # bytes the UTF-8 characters took beyond one each
    return (text, bad) if bad and utf8 >= 2 * bad else None


def decode_page(body: bytes, content_type: str = "") -> Decoded:
    """The page's text and the codec that decoded it (see the module doc for the order)."""
    declared = _declared(body, content_type)
    tried: set[str] = set()
    for codec in itertools.chain(declared, _guesses(body)):
        if codec in tried:
            continue
        tried.add(codec)
        if codec == _MIXED:
            mixed = _utf8_with_cp1252(body)
            if mixed is not None:
                text, bad = mixed
                said = f"declared charset {declared[0]}" if declared else "no charset declared"
                note = f"{said}; read as utf-8 with {bad} bytes as cp1252"
                return Decoded(text, "utf-8", note, suspect=True)
            continue
        if codec.startswith(_NEARLY):
            nearly = _nearly(body, codec.removeprefix(_NEARLY).split(","))
            if nearly is not None:
                text, chosen, bad = nearly
                said = f"declared charset {declared[0]}" if declared else "no charset declared"
                note = f"{said}; read as {chosen} with {bad} bad bytes"
                return Decoded(text, chosen, note, suspect=True)
            continue
        try:
            text = body.decode(codec)
        except (UnicodeDecodeError, LookupError):
            continue
        if not declared:
            note = None if codec == "utf-8" else f"no charset declared; read as {codec}"
            return Decoded(text, codec, note)
        if codec != declared[0]:
            note = f"declared charset {declared[0]} does not decode; read as {codec}"
            return Decoded(text, codec, note, suspect=True)
        return Decoded(text, codec)
    codec = declared[0] if declared else "gb18030"
    text = body.decode(codec, errors="replace")
    bad = text.count("\ufffd")
    note = f"no charset decodes it cleanly; read as {codec}, {bad} bad bytes"
    return Decoded(text, codec, note, suspect=True)
