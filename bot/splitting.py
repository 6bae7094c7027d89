"""Split long Telegram-HTML alerts into parts Telegram accepts.

Telegram answers "message is too long" when a message's text, after the HTML markup is
parsed, exceeds 4096 UTF-16 code units, and "can't parse entities" when the markup is
malformed. A naive ``text[:4096]`` counts the wrong units and can cut inside a tag, an
entity such as ``&amp;`` or a surrogate pair. This module measures what Telegram measures,
cuts only between characters of the *parsed* text (preferring paragraph breaks, then line
breaks, then whitespace), and closes the tags that are open at a cut and reopens them, with
the same attributes, at the start of the next part. It keeps its own small tag scanner
because the bot layer may not import the ``crackdown`` stand-in.
"""

from __future__ import annotations

import html as _html
import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from html.parser import HTMLParser

__all__ = ["TELEGRAM_LIMIT", "split_html", "split_plain", "telegram_length", "to_plain_text"]

TELEGRAM_LIMIT = 4096

# The only named references Telegram accepts; other names are decoded for display only.
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_TEXT, _ATOM, _START, _END, _OTHER = range(5)

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_NON_SPACE = re.compile(r"\S")
# Greedy ``.*`` backtracks from the end of the window, so these find the *last* break
# in time proportional to its distance from the end.
_LAST_BLANK_LINE = re.compile(r"(?s).*(\n[^\S\n]*\n)")
_LAST_SPACE = re.compile(r"(?s).*(\s)")

_TRAILING_AMP = re.compile(r"&[a-zA-Z]\Z")
_ZWJ = "\u200d"
_MAX_GRAPHEME_BACKOFF = 32


# A token is ``(kind, raw, tag, start, end)``: one piece of the source (text, an entity or
# character reference, a tag or other markup), with ``start``/``end`` its code-point offsets
# in the parsed text (equal for markup). For ``_TEXT`` tokens ``raw`` *is* the parsed text,
# so it can be sliced at any offset. Plain tuples: a 1 MB message can hold 400k tokens.
_Token = tuple[int, str, str, int, int]


class _Scanner(HTMLParser):
    """Tolerant tokenizer: never raises, records where every piece of markup starts."""

    # Telegram has no raw-text elements: "<script>" is just an (unsupported) tag.
    CDATA_CONTENT_ELEMENTS: tuple[str, ...] = ()
    RCDATA_CONTENT_ELEMENTS: tuple[str, ...] = ()

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=False)
        self._src = source
        self._line_starts = [0, *(m.end() for m in re.finditer("\n", source))]
        # One entry per event, in parallel lists: source offset, kind, tag (for _ATOM: the
        # reference written out in full, with its ";"), parsed text.
        self._positions: list[int] = []
        self._kinds: list[int] = []
        self._tags: list[str] = []
        self._plains: list[str] = []
        try:
            self.feed(source)
            self.close()
        except Exception:  # e.g. AssertionError on "<![bogus[": keep the rest as text
            pos = self._pos()
            self._add(_TEXT, "", source[pos:], pos)
        if (
            _TRAILING_AMP.search(source)
            and self._kinds
            and self._kinds[-1] == _TEXT
            and self._positions[-1] == len(source) - 1
        ):
            # HTMLParser drops the "&" of a final "&X" ("AT&T"); keep it for the reader.
            self._plains[-1] = source[-2:]
            self._positions[-1] -= 1
        self.plain = "".join(self._plains)

    def _pos(self) -> int:
        return self._line_starts[self.lineno - 1] + self.offset

    def _add(self, kind: int, tag: str = "", plain: str = "", pos: int = -1) -> None:
        self._positions.append(self._pos() if pos < 0 else pos)
        self._kinds.append(kind)
        self._tags.append(tag)
        self._plains.append(plain)

    def handle_data(self, data: str) -> None:
        if data:
            self._add(_TEXT, "", data)

    def handle_entityref(self, name: str) -> None:
        pos = self._pos()
        end = pos + 1 + len(name)
        if not self._src.startswith(";", end):  # "&amp b": Telegram keeps it literally
            self._add(_TEXT, "", self._src[pos:end], pos)
        elif name in _NAMED:
            self._add(_ATOM, f"&{name};", _NAMED[name], pos)
        else:  # rejected by Telegram: decoded (or kept) for the reader, re-escaped in parts
            char = _html.unescape(f"&{name};")
            self._add(_ATOM, _escape(char), char, pos)

    def handle_charref(self, name: str) -> None:
        try:
            code = int(name[1:], 16) if name[:1] in "xX" else int(name)
            char = "" if 0xD800 <= code <= 0xDFFF else chr(code)
        except (ValueError, OverflowError):
            char = ""
        if char:  # "&#65" may end without ";" mid-text, but not at the end of a part
            self._add(_ATOM, f"&#{name};", char)
        else:  # Telegram rejects it; keep it visible as typed
            pos = self._pos()
            end = pos + 2 + len(name)
            self._add(_TEXT, "", self._src[pos : end + self._src.startswith(";", end)], pos)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add(_START, tag)

    def handle_endtag(self, tag: str) -> None:
        self._add(_END, tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._add(_OTHER)

    def handle_comment(self, data: str) -> None:
        self._add(_OTHER)

    def handle_decl(self, decl: str) -> None:
        self._add(_OTHER)

    def unknown_decl(self, data: str) -> None:
        self._add(_OTHER)

    def handle_pi(self, data: str) -> None:
        self._add(_OTHER)

    def tokens(self) -> list[_Token]:
        """The source as tokens, in order; markup spans up to the next event."""
        src, plains = self._src, self._plains
        ends = self._positions[1:]
        ends.append(len(src))
        tokens: list[_Token] = []
        offset = 0
        for pos, end, kind, tag, plain in zip(
            self._positions, ends, self._kinds, self._tags, plains, strict=True
        ):
            # Markup that HTMLParser skips silently (e.g. "</>") rides along with the tag
            # before it; text keeps exactly its parsed form (escaped when rendered).
            if kind == _TEXT:
                tokens.append((kind, plain, "", offset, offset + len(plain)))
            elif kind == _ATOM:
                tokens.append((kind, tag, "", offset, offset + len(plain)))
            else:
                tokens.append((kind, src[pos:end], tag, offset, offset))
            offset += len(plain)
        return tokens


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def telegram_length(html: str) -> int:
    """Length Telegram checks against its limit: UTF-16 code units of the parsed text.

    Tags are removed and entity/character references decoded; malformed markup is
    measured as leniently as ``to_plain_text`` reads it.
    """
    return _utf16_len(_Scanner(html).plain)


def to_plain_text(html: str) -> str:
    """What the reader would see: tags removed, references decoded. Never raises.

    Meant for resending once without ``parse_mode`` after Telegram answered
    "can't parse entities": unknown named references are decoded as in HTML5 where
    possible (``&nbsp;``), others kept as typed (``&bogus;``, a final ``AT&T``); tags,
    even unsupported or unbalanced ones, are dropped.
    """
    return _Scanner(html).plain


def _check_limit(limit: int) -> None:
    if limit < 2:  # one astral character alone needs two UTF-16 units
        raise ValueError(f"limit must be at least 2 UTF-16 code units, got {limit}")


def _is_extender(char: str) -> bool:
    """Characters that belong to the preceding one (marks, ZWJ, selectors, skin tones)."""
    code = ord(char)
    return (
        char == _ZWJ
        or 0xFE00 <= code <= 0xFE0F
        or 0x1F3FB <= code <= 0x1F3FF
        or 0xE0020 <= code <= 0xE007F
        or unicodedata.category(char).startswith("M")
    )


def _is_regional(char: str) -> bool:
    return 0x1F1E6 <= ord(char) <= 0x1F1FF


def _splits_grapheme(text: str, cut: int) -> bool:
    """Whether cutting before ``text[cut]`` would tear a visible character apart."""
    after, before = text[cut], text[cut - 1]
    if _is_extender(after) or before == _ZWJ:
        return True
    if _is_regional(after) and _is_regional(before):
        run = 0
        while cut - run - 1 >= 0 and _is_regional(text[cut - run - 1]):
            run += 1
        return run % 2 == 1
    return False


def _hard_cut(text: str, start: int, end: int, zones: Sequence[tuple[int, int]]) -> int:
    """Cut point at or before ``end`` that keeps graphemes and ``zones`` whole if possible."""
    cut = end
    steps = 0
    while cut - 1 > start and steps < _MAX_GRAPHEME_BACKOFF and _splits_grapheme(text, cut):
        cut -= 1
        steps += 1
    if _splits_grapheme(text, cut):  # no whole grapheme fits: cut at the limit
        cut = end
    if zones:
        i = bisect_right(zones, (cut, cut)) - 1
        if i >= 0 and zones[i][0] < cut < zones[i][1] and zones[i][0] > start:
            cut = zones[i][0]
    return cut


def _plan(text: str, limit: int, zones: Sequence[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Code-point ranges ``[a, b)`` of ``text`` for the parts, whitespace at cuts excluded."""
    astral = [m.start() for m in _ASTRAL.finditer(text)]

    def units(index: int) -> int:  # UTF-16 offset of code point ``index``
        return index + bisect_left(astral, index)

    stripped_end = len(text.rstrip())
    first = _NON_SPACE.search(text)
    start = first.start() if first else stripped_end
    ranges: list[tuple[int, int]] = []
    while start < stripped_end:
        budget = units(start) + limit
        if units(stripped_end) <= budget:
            ranges.append((start, stripped_end))
            break
        # Largest ``fit`` with units(fit) <= budget; each code point is 1 or 2 units.
        low, high = start + 1, min(stripped_end, start + limit)
        while low < high:
            mid = (low + high + 1) // 2
            if units(mid) <= budget:
                low = mid
            else:
                high = mid - 1
        fit = low
        # The character just past the window may itself be the break (e.g. a space).
        match = _LAST_BLANK_LINE.match(text, start, fit + 1)
        if match:
            cut = match.start(1)
        else:
            cut = text.rfind("\n", start, fit + 1)
            if cut <= start:
                match = _LAST_SPACE.match(text, start, fit + 1)
                cut = match.start(1) if match else _hard_cut(text, start, fit, zones)
        end = start + len(text[start:cut].rstrip())
        ranges.append((start, end))
        following = _NON_SPACE.search(text, cut)
        start = following.start() if following else stripped_end
    return ranges


def split_plain(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split plain text into parts of at most ``limit`` UTF-16 code units.

    Cuts prefer a blank line, then a line break, then whitespace, then anywhere
    (never inside a surrogate pair, and a combined emoji or accent is kept whole when
    possible); whitespace at a cut is dropped. Text within the limit is returned
    unchanged; whitespace-only text gives ``[]`` (Telegram rejects empty messages).
    """
    _check_limit(limit)
    if not text.strip():
        return []
    if _utf16_len(text) <= limit:
        return [text]
    return [text[a:b] for a, b in _plan(text, limit)]


def _emoji_zones(tokens: Sequence[_Token]) -> list[tuple[int, int]]:
    """Parsed-text ranges inside ``<tg-emoji>``, which must not be cut."""
    zones: list[tuple[int, int]] = []
    opened: list[int] = []
    for kind, _, tag, start, _ in tokens:
        if tag == "tg-emoji":
            if kind == _START:
                opened.append(start)
            elif kind == _END and opened:
                zones.append((opened.pop(), start))
    zones.sort()
    return zones


def _apply(stack: list[tuple[str, str]], kind: int, raw: str, tag: str) -> bool:
    """Update the open-tag stack for a token; False for an end tag that closes nothing."""
    if kind == _START:
        stack.append((tag, raw))
    elif kind == _END:
        for depth in range(len(stack) - 1, -1, -1):
            if stack[depth][0] == tag:
                del stack[depth:]
                break
        else:
            return False
    return True


def _escape(text: str) -> str:
    """Literal text as markup that parses back to itself wherever the part ends.

    A bare "&" is literal in Telegram HTML only in context: at the end of a part "&T"
    loses its "&", and a "&#" with no ";" after it swallows the rest of the part.
    """
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:  # only in malformed input
        text = text.replace("<", "&lt;")
    return text


def _render(tokens: Sequence[_Token], ranges: Sequence[tuple[int, int]]) -> list[str]:
    """Markup for each parsed-text range, open tags closed at its end and reopened after."""
    parts: list[str] = []
    stack: list[tuple[str, str]] = []  # (tag, raw start tag) of the open tags
    i, count = 0, len(tokens)
    for a, b in ranges:
        # Skip to the token holding character ``a``; markup on the way only moves the stack.
        while i < count:
            kind, raw, tag, start, end = tokens[i]
            if kind in (_TEXT, _ATOM):
                if end > a:
                    break
            else:
                _apply(stack, kind, raw, tag)
            i += 1
        out = [opening for _, opening in stack]
        while i < count:
            kind, raw, tag, start, end = tokens[i]
            if kind == _TEXT:
                out.append(_escape(raw[max(a, start) - start : b - start]))
                if end >= b:
                    break  # the rest of this token belongs to later parts
            elif kind == _ATOM:
                out.append(raw)
                if end >= b:
                    i += 1
                    break
            elif _apply(stack, kind, raw, tag):
                out.append(raw)
            i += 1
        out.extend(f"</{tag}>" for tag, _ in reversed(stack))
        parts.append("".join(out))
    return parts


def split_html(html: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Split Telegram-HTML into parts whose ``telegram_length`` is at most ``limit``.

    Each part is valid markup on its own: tags open at a cut are closed at the end of
    the part and reopened, with the same attributes, at the start of the next. Cuts
    fall between characters of the parsed text, so never inside a tag, a reference like
    ``&amp;`` or a surrogate pair, and prefer a blank line, then a line break, then
    whitespace, then anywhere; whitespace at a cut is dropped. A message within the
    limit is returned unchanged; one without visible text gives ``[]``.

    The input should be valid Telegram HTML; malformed markup is split on a best-effort
    basis (use ``to_plain_text`` and ``split_plain`` when Telegram rejects it).
    """
    _check_limit(limit)
    scanned = _Scanner(html)
    plain = scanned.plain
    if not plain.strip():
        return []
    if _utf16_len(plain) <= limit:
        return [html]
    tokens = scanned.tokens()
    return _render(tokens, _plan(plain, limit, _emoji_zones(tokens)))
