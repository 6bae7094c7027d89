"""Show a Telegram HTML message in a terminal the way a subscriber reads it."""

from __future__ import annotations

from html.parser import HTMLParser

_BOLD, _ITALIC, _UNDERLINE, _RESET = "\x1b[1m", "\x1b[3m", "\x1b[4m", "\x1b[0m"
_STYLES = {
    "b": _BOLD,
    "strong": _BOLD,
    "i": _ITALIC,
    "em": _ITALIC,
    "u": _UNDERLINE,
    "a": _UNDERLINE,
}


class _Renderer(HTMLParser):
    def __init__(self, color: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.color = color
        self.out: list[str] = []
        self.links: list[str] = []
        self.open: list[str] = []

    def _restyle(self) -> None:
        if self.color:
            self.out.append(_RESET + "".join(_STYLES[t] for t in self.open if t in _STYLES))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append(tag)
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")
        self._restyle()

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag)]
        self._restyle()
        if tag == "a" and self.links:
            self.out.append(f" <{self.links[-1]}>")

    def handle_data(self, data: str) -> None:
        self.out.append(data)


def render(html_text: str, *, color: bool = False) -> str:
    """Plain text with link targets shown after their text; ANSI styles if `color`."""
    renderer = _Renderer(color)
    renderer.feed(html_text)
    renderer.close()
    text = "".join(renderer.out)
    return text + _RESET if color else text
