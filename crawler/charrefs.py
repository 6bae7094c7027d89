"""Numeric character references no parser should see: surrogates and code points past Unicode.

feedparser's loose parser calls ``chr(n).encode()`` on every ``&#n;``: ``&#xD800;`` raised
UnicodeEncodeError, ``&#x110000;`` ValueError and ``&#99999999999;`` OverflowError, each
failing the whole feed on every poll ("internal error") for one bad title.
"""

from __future__ import annotations

import re

# A cheap first look: only references that may be bad (a 4-digit hex D8..DF, 6+ hex
# digits, a decimal from 55xxx to 57xxx or of 7+ digits); most feeds have none of these.
_SUSPECT = re.compile(
    rb"&#(?:[xX]0*(?:[dD][89a-fA-F][0-9a-fA-F]{2}|[0-9a-fA-F]{6,})|0*(?:5[5-7][0-9]{3}|[0-9]{7,}));"
)
_REFERENCE = re.compile(rb"&#(?:[xX]([0-9a-fA-F]+)|([0-9]+));")
_REPLACEMENT = b"&#xFFFD;"


def _valid(match: re.Match[bytes]) -> bytes:
    hex_digits, decimal = match.groups()
    code = int(hex_digits, 16) if hex_digits is not None else int(decimal)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return _REPLACEMENT
    return match.group(0)


def without_bad_charrefs(content: bytes) -> bytes:
    """`content` with every reference to a surrogate or past U+10FFFF made U+FFFD."""
    if _SUSPECT.search(content) is None:
        return content
    return _REFERENCE.sub(_valid, content)
