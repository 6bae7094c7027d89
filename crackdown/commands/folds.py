"""Split labelled stories into folds by event, so a held-out fold is really unseen.

Several stories in the corpora report one event (different outlets, follow-ups,
translations). Splitting by item would put one report in tuning and its twin
in the held-out fold, and the held-out figure would flatter us. Stories are
grouped by shared rare words (Latin words of 3+ letters, CJK character
bigrams, each seen in at most `rare` stories of the pool): two stories with at
least `min_shared` rare words in common, covering at least `overlap` of the
smaller story's rare words, are one event, transitively. A group's fold is a
hash of its smallest id, so the split does not depend on file order or on
Python's hash seed.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

from crawler.fold import fold

_WORDS = re.compile(r"[a-z0-9]{3,}")
_CJK = re.compile(r"[\u3400-\u9fff]")
HELD_OUT = 0  # the fold nobody tunes on


class Labelled(Protocol):
    id: str
    title: str
    text: str


def _features(example: Labelled) -> set[str]:
    text = fold(f"{example.title} {example.text}")
    words = set(_WORDS.findall(text))
    chars = _CJK.findall(text)
    words.update(a + b for a, b in itertools.pairwise(chars))
    return words


def event_groups(
    examples: Sequence[Labelled], *, rare: int = 8, min_shared: int = 3, overlap: float = 0.2
) -> list[list[int]]:
    """Indexes of `examples`, grouped by event (union-find over rare shared words)."""
    features = [_features(e) for e in examples]
    frequency = Counter(word for words in features for word in words)
    features = [{w for w in words if frequency[w] <= rare} for words in features]
    parent = list(range(len(examples)))

    def root(index: int) -> int:
        while parent[index] != index:
            parent[index] = parent[parent[index]]
            index = parent[index]
        return index

    for a in range(len(examples)):
        for b in range(a + 1, len(examples)):
            shared = len(features[a] & features[b])
            smaller = min(len(features[a]), len(features[b])) or 1
            if shared >= min_shared and shared / smaller >= overlap:
                parent[root(a)] = root(b)
    groups: dict[int, list[int]] = {}
    for index in range(len(examples)):
        groups.setdefault(root(index), []).append(index)
    return list(groups.values())


def assign_folds(examples: Sequence[Labelled], folds: int) -> list[int]:
    """The fold (0..folds-1) of each example; one event's stories share a fold."""
    if folds < 2:
        raise ValueError("need at least 2 folds")
    assigned = [0] * len(examples)
    for group in event_groups(examples):
        anchor = min(examples[i].id for i in group)
        digest = hashlib.sha256(anchor.encode("utf-8")).digest()
        fold_number = int.from_bytes(digest[:8], "big") % folds
        for index in group:
            assigned[index] = fold_number
    return assigned
