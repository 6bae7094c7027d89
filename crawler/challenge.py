"""JavaScript challenge pages: what a plain fetch gets from a site guarded against bots.

The PBoC's site (a WZWS guard) answers a plain GET with a page that asks
for JavaScript ("请开启JavaScript并刷新该页") and computes a cookie from
`wzwsquestion` and `wzwsfactor` before redirecting to `dynamicurl`. Such a
page is not the content: it is recognised, logged as needing a browser, and
never stored as a story.
"""

from __future__ import annotations

NEEDS_BROWSER = "a JavaScript challenge page, not the content: needs render = browser"
MARKS = (b"wzwsquestion", b"wzwsfactor", "请开启JavaScript并刷新该页".encode())
_HEAD = 20_000  # the marks sit in a challenge page's first few kilobytes


def is_challenge(content: bytes) -> bool:
    """True for a JavaScript challenge page instead of the content: only a browser passes it."""
    head = content[:_HEAD]
    return any(mark in head for mark in MARKS)
