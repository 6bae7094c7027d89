"""Turn feed markup into clean one-line text for matching and display."""

from __future__ import annotations

import re
from html.parser import HTMLParser

_SPACE = re.compile(r"\s+")
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


def clean_text(markup: str | None) -> str:
    """Strip tags and scripts, decode entities, collapse whitespace.

    Feeds put HTML in titles and summaries; subscribers and the matcher
    want the words only. Never raises on broken markup.
    """
    if not markup:
        return ""
    if "<" not in markup and "&" not in markup:
        return _SPACE.sub(" ", markup).strip()
    collector = _TextCollector()
    collector.feed(markup)
    collector.close()
    return _SPACE.sub(" ", "".join(collector.parts)).strip()
