"""English word forms by stem, so one alias covers block/blocks/blocked/blocking.

The automaton matches exact strings, and stemming every word of every story
would cost most of the scan's speed. So the work is done once, at build time:
each Latin word of an alias is given its candidate inflections (-s, -es, -ed,
-ing, doubled consonants, y -> ies/ied, silent e dropped), and a candidate is
kept only if the Snowball English stemmer (`snowballstemmer`) gives it the same
stem as the written word. Regular forms come out right ("close" -> closes,
closed, closing); the stemmer vetoes junk that would change the word
("ban" -> "bans", "banned", not "bane"). Irregular forms (froze, seized...)
stay in the watchlist as written.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

_STEMMER = snowballstemmer.stemmer("english")
_WORD = re.compile(r"[a-z]+")
_VOWELS = frozenset("aeiou")
MIN_LENGTH = 3  # shorter words (of, to, us) are left alone


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The Snowball English stem of a lower-case word."""
    return str(_STEMMER.stemWord(word))


def _is_cvc(word: str) -> bool:
    """Ends consonant-vowel-consonant (ban, ship): the consonant doubles (banned, shipping)."""
    return (
        len(word) >= 3
        and word[-1] not in _VOWELS | {"w", "x", "y"}
        and word[-2] in _VOWELS
        and word[-3] not in _VOWELS
    )


def _regular_forms(word: str) -> set[str]:
    """The regular -s, -ed and -ing forms of a base word (some may be wrong; the stem decides)."""
    consonant_y = word.endswith("y") and word[-2:-1] not in _VOWELS
    if word.endswith(("s", "x", "z", "ch", "sh")):
        forms = {word + "es"}
    elif consonant_y:
        forms = {word[:-1] + "ies"}
    else:
        forms = {word + "s"}
    if word.endswith("e"):
        forms.add(word + "d")
        forms.add(word[:-2] + "ying" if word.endswith("ie") else word[:-1] + "ing")
    elif consonant_y:
        forms.update((word[:-1] + "ied", word + "ing"))
    else:
        forms.update((word + "ed", word + "ing"))
        if _is_cvc(word):
            forms.update((word + word[-1] + "ed", word + word[-1] + "ing"))
    return forms


def _candidates(word: str) -> set[str]:
    """Regular forms of the word and of its base; the bare base itself is not offered
    ("barred" gives bars and barring, not "bar"; "mining" gives mines, not "mine")."""
    bases = {word}
    if word.endswith(("ing", "ed", "s")):
        base = stem(word)  # mining -> mine, banned -> ban, blocked -> block
        bases.add(base)
        if _is_cvc(base) is False and not base.endswith("e"):
            bases.add(base + "e")  # closing -> clos -> close; the stem check drops wrong ones
    out: set[str] = set()
    for base in bases:
        out |= _regular_forms(base)
    return out


@lru_cache(maxsize=8192)
def word_forms(word: str) -> tuple[str, ...]:
    """Forms of a lower-case word that share its stem (the word first)."""
    if len(word) < MIN_LENGTH or not word.isascii() or not word.isalpha():
        return (word,)
    target = stem(word)
    forms = {c for c in _candidates(word) if stem(c) == target and len(c) >= len(target)}
    forms.discard(word)
    return (word, *sorted(forms))


def alias_forms(alias: str) -> list[str]:
    """The folded alias and its variants, one word inflected at a time.

    "crack down" gives "cracks down", "cracked down"...; a multi-word alias's
    words are not inflected together, which keeps the count linear.
    """
    words = list(_WORD.finditer(alias))
    variants = [alias]
    for match in words:
        for form in word_forms(match.group())[1:]:
            variants.append(alias[: match.start()] + form + alias[match.end() :])
    return variants
