"""What a terminal needs: colour only where it is wanted, and columns measured as shown.

A CJK character takes two columns on a terminal; `len` counts one, so a
table of Chinese titles came out ragged. wcwidth knows each character's width.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TextIO

from wcwidth import wcswidth, wcwidth


def use_color(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """ANSI colour only on a terminal, and never with NO_COLOR set (https://no-color.org)."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def width(text: str) -> int:
    """Columns `text` takes on a terminal (CJK: two per character)."""
    measured = wcswidth(text)
    if measured >= 0:
        return measured
    return sum(max(0, wcwidth(c)) for c in text)  # control characters count as nothing


def pad(text: str, columns: int) -> str:
    """`text` followed by spaces up to `columns` columns (str.ljust by display width)."""
    return text + " " * max(0, columns - width(text))


def clip(text: str, columns: int, ellipsis: str = "...") -> str:
    """`text` cut to at most `columns` columns, with `ellipsis` when cut."""
    if width(text) <= columns:
        return text
    room, used, kept = columns - width(ellipsis), 0, []
    for char in text:
        used += max(0, wcwidth(char))
        if used > room:
            break
        kept.append(char)
    return "".join(kept) + ellipsis
