"""Turn feed markup into clean one-line text for matching and display."""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser

_SPACE = re.compile(r"\s+")
# Characters a reader cannot see that reorder or hide text: bidi embeddings,
# overrides and isolates (a title can display "gpj.exe" as "exe.jpg"), the
# bidi marks, and zero-width ones (which also split a keyword past the matcher). Also C0
# controls (not tab or newlines), DEL and lone surrogates: `&#0;` in a title made PostgreSQL
# refuse the whole poll, and a JSON API's "\\ud800" made SQLite's UTF-8 encoding fail it.
INVISIBLE = re.compile(
    "[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c\u200b-\u200d\u2060\ufeff"
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]"
)


def strip_invisible(text: str) -> str:
    """`text` without bidi controls and zero-width characters."""
    return INVISIBLE.sub("", text)


# Elements whose text is not the story's (applet: as feedparser's sanitizer, once run first).
_SKIPPED = frozenset({"script", "style", "noscript", "template", "applet"})
_BLOCKS = frozenset({"p", "div", "br", "li", "tr", "td", "h1", "h2", "h3", "h4", "h5", "h6"})


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skip_depth += 1
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED and self._skip_depth:
            self._skip_depth -= 1
        elif tag in _BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


# A tag HTMLParser reads as plainly as this regex does: a name, quoted attributes, `/>` or `>`.
_SIMPLE_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9]*)"
    r"""(?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*(?:\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))?)*\s*/?>"""
)
# Elements whose content HTMLParser (in some Python version) reads as raw text, or that we skip.
_NOT_SIMPLE = _SKIPPED | {"title", "textarea", "xmp", "iframe", "noembed", "noframes", "plaintext"}


def _simple_markup_text(markup: str) -> str | None:
    """The text `_TextCollector` would collect, for markup of simple tags only; else None.

    Why: HTMLParser is pure Python and costs about 50 us a summary, most of a
    feed's parsing once lxml reads the feed; a summary is mostly `<p>`, `<a>`,
    `<br/>` and entities. Every `<` must open a simple tag of an ordinary
    element; then the text between tags is unescaped exactly as HTMLParser
    does (`html.unescape`, run by run), and a block tag is a space.
    """
    parts: list[str] = []
    position = 0
    tags = 0
    for match in _SIMPLE_TAG.finditer(markup):
        name = match.group(2).lower()
        if name in _NOT_SIMPLE:
            return None
        tags += 1
        text = markup[position : match.start()]
        parts.append(unescape(text) if "&" in text else text)
        if name in _BLOCKS:
            parts.append(" ")
        position = match.end()
    if tags != markup.count("<"):
        return None  # a comment, a declaration, a bare `<`, a tag this regex does not read
    text = markup[position:]
    parts.append(unescape(text) if "&" in text else text)
    return "".join(parts)


def clean_text(markup: str | None) -> str:
    """Strip tags and scripts, decode entities, collapse whitespace.

    Feeds put HTML in titles and summaries; subscribers and the matcher
    want the words only, without invisible bidi or zero-width characters.
    Never raises on broken markup.
    """
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return _SPACE.sub(" ", strip_invisible(markup)).strip()
    text = _simple_markup_text(markup)
    if text is None:
        text = collected_text(markup)
    # After entity decoding: `&#x202E;` is as hostile as the character itself.
    return _SPACE.sub(" ", strip_invisible(text)).strip()


def collected_text(markup: str) -> str:
    """The text of any markup, by HTMLParser (scripts and styles left out, blocks spaced)."""
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    return "".join(collector.parts)
