"""Snippets: a short window of text around a hit, for alerts and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

SNIPPET_WIDTH = 120


@dataclass(frozen=True)
class Snippet:
    """`text[start:end]` is the hit; `field` says where the window came from."""

    field: str
    text: str
    start: int
    end: int

    def marked(self, left: str = "[", right: str = "]") -> str:
        hit = self.text[self.start : self.end]
        return f"{self.text[: self.start]}{left}{hit}{right}{self.text[self.end :]}"


def make_snippet(
    text: str, start: int, end: int, field: str, width: int = SNIPPET_WIDTH
) -> Snippet:
    """About `width` characters of `text` centred on [start, end), cut at spaces
    where possible, with an ellipsis on each cut side."""
    room = max(0, width - (end - start))
    left = max(0, start - room // 2)
    right = min(len(text), end + (room - (start - left)))
    left = max(0, min(left, right - width))
    if left > 0:
        space = text.find(" ", left, start)
        if 0 <= space < start and space - left < 20:
            left = space + 1
    if right < len(text):
        space = text.rfind(" ", end, right)
        if space > end and right - space < 20:
            right = space
    prefix = "…" if left > 0 else ""
    suffix = "…" if right < len(text) else ""
    window = prefix + text[left:right] + suffix
    offset = len(prefix) - left
    return Snippet(field, window, start + offset, end + offset)
