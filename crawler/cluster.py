"""Near-duplicate detection: which stories report the same event, as MinHash signatures.

A story's *features* are the words of its title and lead (the summary, else
the start of the body), folded as the matcher folds (NFKC, case, traditional
-> simplified): Latin runs give words less stopwords, CJK runs give character
bigrams, and lead formulas ("巴比特讯", "据新华社报道") are dropped. Every
feature is salted with the story's language, so an English and a Chinese
report of one event never cluster: we do not translate.

The similarity of two stories is the Jaccard index of their feature sets,
estimated from `NUM_PERM` MinHash values (`minhash`: datasketch 2.0's
"affine32" scheme with a fixed seed, reproduced in numpy, so a signature
stored today compares with one computed next year). Reworded
reports of one event score low: on tests/data/cluster_pairs.jsonl a median
of 0.33 with a tenth below 0.18 (syndicated copies 0.6-1), while different
events with the same vocabulary reach 0.23 (95th percentile) to 0.33. So the
threshold is low (0.2), and three guards keep it from merging neighbouring
events:

* numbers: two stories that both quote figures but share none (320万 vs
  185万, 32 arrests vs 19) are different events, whatever their words;
* names: two stories whose titles both name who acted (the regulators,
  enforcers, platforms and exchanges of `[cluster] distinct`) but no one in
  common are different events: Alipay's and WeChat Pay's same-day OTC
  notices share nearly every other word (0.21 on the demo feed), and so do
  a PBoC notice and Binance's answer to it. Names are compared by family
  (`family` in the watchlist), so "Tenpay" and "WeChat Pay" agree. Only
  titles: a lead also names the background ("..., days after China's
  central bank declared ...");
* complete link: a story joins a cluster only if it is not far from any of
  its members (`FLOOR` x the threshold; of five members or more, a fifth
  may be), so a follow-up that shares a notice's vocabulary cannot chain
  into the notice's cluster through one similar report;
* time: a story joins a cluster only if every member is within the window
  of it, so a cluster closes once its first report is a window old and
  cannot drift from day to day (in bench/archive.py's synthetic corpus,
  without this rule, stories of one kind chained into clusters of 70-100).

LSH: the first `BANDS` x `ROWS` values form bands; stories sharing any band
are candidates. The banding is fixed, not derived from the configured
threshold, because bands are stored: a config change must not orphan them.
With 2 rows and 32 bands, a pair with similarity s is a candidate with
probability 1 - (1 - s^2)^32: 0.56 at 0.16, 0.73 at 0.2, 0.87 at 0.25, 0.95
at 0.3, 0.99 at 0.4; unrelated stories (s ~ 0.05) collide 8% of the time.
(datasketch's `_optimal_param(0.2, 128)` gives 28 x 2.) Reports below 0.3
still cluster through a third report that both resemble: on the labelled
set 32 bands lose 2 of 128 same-event pairs against comparing every story.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from crawler.fold import fold
from crawler.types import MatchResult, Story

NUM_PERM = 128  # estimation error at s = 0.2: 0.035 (64 values: 0.05)
SEED = 20261125  # never change: stored signatures were made with it
BANDS = 32
ROWS = 2  # a band is one 64-bit word (band_keys relies on it)
LEAD_CHARS = {"zh": 100, "other": 200}  # about the first sentence: the event, not background
MIN_FEATURES = 8  # fewer says nothing: no signature, only the title fingerprint
FLOOR = 0.8  # the members of a cluster a story joins: >= FLOOR x threshold ...
DISSENT = 0.2  # ... but for this share of them (none of 1-4 members)
MAX_NUMBERS = 16
MAX_NAMES = 16
_VERSION = 2  # 1: no names

_CJK_RUN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*")
_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)*")
# Lead formulas of Chinese wires and portals: they say who wrote, not what happened.
_LEAD_FORMULA = re.compile(
    r"^\s*[^\s，,。]{2,6}讯[，,]?"
    r"|据[^，,。]{1,10}(?:报道|消息|获悉)"
    r"|[^，,。]{0,8}记者[^，,。]{0,6}(?:获悉|注意到|了解到)"
    r"|(?:金色财经|巴比特|财联社)(?:报道|讯|消息)",
    re.MULTILINE,
)
# English words that say nothing about which event a story reports.
_STOPWORD_TEXT = """
a an the and or but nor of to in on at by for with from as into onto about over under
after before since than then there here this that these those it its is are was were be
been being has have had do does did will would could should may might can shall must
he she they them his her their we our you your i me my us who whom whose which what when
where why how all any some more most other such no not only own same so too very just
also new up down out off s t said says say told according report reports reported
monday tuesday wednesday thursday friday saturday sunday week weeks day days year years
last ago
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())


@dataclass(frozen=True, eq=False)
class Signature:
    """A story's MinHash values, and hashes of its figures and of the families its title names."""

    values: npt.NDArray[np.uint32]  # NUM_PERM minima, read-only
    numbers: frozenset[int] = frozenset()
    names: frozenset[int] = frozenset()


@lru_cache(maxsize=1)
def _permutations() -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]:
    """The affine permutations (a odd, b) for SEED, drawn as datasketch 2.0 draws them.

    datasketch's `MinHash(seed=SEED, scheme="affine32")` draws from
    `np.random.RandomState(seed)`: NUM_PERM values below 2^31 (a = 2x + 1),
    then NUM_PERM below 2^32 (b). RandomState's streams are frozen by numpy's
    compatibility policy, so the same numbers come out of every numpy.
    """
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def minhash(tokens: Iterable[bytes]) -> npt.NDArray[np.uint32]:
    """NUM_PERM minima of `tokens`, as datasketch 2.0's affine32 MinHash with crc32 gives them.

    Each token's crc32 is mixed by MurmurHash3's 32-bit finaliser, then
    every permutation maps it to a * h + b mod 2^32 (uint32 wraparound);
    a value is the minimum over the tokens. Stored signatures depend on
    every step: tests/crawler/test_minhash.py pins them to datasketch's.
    """
    h = np.fromiter((zlib.crc32(token) for token in tokens), dtype=np.uint32)
    if not h.size:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    a, b = _permutations()
    values: npt.NDArray[np.uint32] = (h[:, None] * a + b).min(axis=0)
    return values


def _language(lang: str) -> str:
    """'zh-TW' and 'zh' fold alike (traditional becomes simplified); 'en-GB' is 'en'."""
    return (lang or "").split("-")[0].split("_")[0].lower() or "other"


def lead(story: Story) -> str:
    """The text a signature reads: the title and the summary, else the start of the body.

    A lead, not the whole article: a feed's two-sentence summary and a
    spider's full page must be comparable, and ledes carry the event.
    """
    cap = LEAD_CHARS["zh" if _language(story.lang) == "zh" else "other"]
    return f"{story.title}\n{(story.summary or story.body)[:cap]}"


def features(text: str) -> set[str]:
    """Words (Latin, less stopwords) and character bigrams (CJK) of folded `text`."""
    folded = _LEAD_FORMULA.sub(" ", fold(text))
    found: set[str] = set()
    for run in _CJK_RUN.findall(folded):
        if len(run) == 1:
            found.add(run)
        else:
            found.update(run[i : i + 2] for i in range(len(run) - 1))
    for word in _LATIN_WORD.findall(folded):
        if word not in _STOPWORDS:
            found.add(word.replace(",", "") if word[0].isdigit() else word)
    return found


def numbers(text: str) -> frozenset[int]:
    """Hashes of the figures a text quotes ("4,000" and "4000" alike)."""
    found = sorted({n.replace(",", "") for n in _NUMBER.findall(fold(text))})
    return frozenset(zlib.crc32(n.encode()) for n in found[:MAX_NUMBERS])


def title_names(story: Story, match: MatchResult, families: dict[str, str]) -> frozenset[str]:
    """The families (`families`: entity key -> family) of the entities the story's title names.

    The title, not the lead: it names who acted, while a lead also names
    the background ("Binance stopped ..., days after China's central bank
    declared ...": a Binance story, not a PBoC one).
    """
    named = (hit.entity for hit in match.hits if hit.field == "title")
    return frozenset(families[key] for key in named if key in families)


def signature(story: Story, names: Collection[str] = ()) -> Signature | None:
    """The story's signature; None for a bare title or too few features to compare.

    `names` are the entity families its title names (`title_names`).

    A bare title is too little to tell events apart by ("Police arrest crypto
    scam suspects" is a week's news in five countries): such stories cluster
    by the same title only.
    """
    if not (story.summary or story.body):
        return None
    text = lead(story)
    found = features(text)
    if len(found) < MIN_FEATURES:
        return None
    salt = _language(story.lang) + "\x1f"
    values = minhash((salt + feature).encode() for feature in found)
    values.flags.writeable = False
    return Signature(values, numbers(text), _name_hashes(names))


def with_names(sig: Signature, names: Collection[str]) -> Signature:
    """`sig` as `signature(story, names)` makes it: a parse worker's, made without names.

    Why: the MinHash is the costly part and depends on the story alone; the
    names come from the verdict the storing side uses.
    """
    values = sig.values
    if values.flags.writeable:  # unpickled: read-only again, as `signature` makes it
        values = values.copy()
        values.flags.writeable = False
    return Signature(values, sig.numbers, _name_hashes(names))


def reports_an_event(match: MatchResult, quiet: Collection[str]) -> bool:
    """Whether a verdict names what happened or who acted, not only places and background.

    `quiet`: the watchlist keys that say neither (`[cluster]`'s places and
    background). Such a story is worth clustering (`storage.stories`), and a
    parse worker makes its signature ahead.
    """
    if match.topics or match.queries or match.entities:
        return True
    return any(key not in quiet for key in match.signals)


def _name_hashes(names: Collection[str]) -> frozenset[int]:
    return frozenset(zlib.crc32(name.encode()) for name in sorted(names)[:MAX_NAMES])


def similarity(a: Signature, b: Signature) -> float:
    """Estimated Jaccard index of the two feature sets."""
    return float(np.count_nonzero(a.values == b.values)) / NUM_PERM


def conflict(a: Signature, b: Signature) -> bool:
    """Both quote figures, or both name platforms, and none agree: different events."""
    return conflict_numbers(a.numbers, b.numbers) or conflict_numbers(a.names, b.names)


def conflict_numbers(a: frozenset[int], b: frozenset[int]) -> bool:
    """Two sets of hashes, both non-empty and disjoint."""
    return bool(a and b and not a & b)


def compatible(a: Signature, b: Signature, threshold: float) -> bool:
    """Not evidence of two events: no conflict of figures, similarity >= FLOOR x threshold.

    What every member of a cluster must be to a story that joins it, and
    what a title match must be (different notices share generic titles).
    """
    return not conflict(a, b) and similarity(a, b) >= FLOOR * threshold


_BAND_SALTS = np.arange(BANDS, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)


def band_keys(sig: Signature) -> list[tuple[int, int]]:
    """(band index, 64-bit signed hash of the band's rows): what storage indexes.

    A band's two 32-bit minima are one 64-bit word; xor-ing in the band's
    salt and splitmix64's finaliser (a bijection) spread it, so two bands'
    keys are equal exactly when their rows are.
    """
    words = np.ascontiguousarray(sig.values[: BANDS * ROWS], dtype="<u4").view("<u8")
    mixed = words.astype(np.uint64) ^ _BAND_SALTS
    mixed = (mixed ^ (mixed >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    mixed = (mixed ^ (mixed >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    mixed ^= mixed >> np.uint64(31)
    return list(enumerate(mixed.view(np.int64).tolist()))


def signature_bytes(sig: Signature) -> bytes:
    """Version, counts, figure and name hashes, MinHash values: 4 x NUM_PERM + ~20 bytes."""
    figures, names = sorted(sig.numbers), sorted(sig.names)
    head = struct.pack(
        f"<BBB{len(figures) + len(names)}I", _VERSION, len(figures), len(names), *figures, *names
    )
    return head + sig.values.astype("<u4").tobytes()


def from_bytes(data: bytes) -> Signature:
    """The signature `signature_bytes` wrote (this version, or 1: before names)."""
    version = data[0]
    if version == 1:
        header, figures, names = 2, data[1], 0
    elif version == _VERSION:
        header, figures, names = 3, data[1], data[2]
    else:
        raise ValueError(f"unknown signature version {version}")
    if len(data) != header + 4 * (figures + names + NUM_PERM):
        raise ValueError(f"signature of {len(data)} bytes, expected {NUM_PERM} values")
    hashes = struct.unpack_from(f"<{figures + names}I", data, header)
    values = np.frombuffer(data, dtype="<u4", offset=header + 4 * (figures + names))
    return Signature(values, frozenset(hashes[:figures]), frozenset(hashes[figures:]))


class Pool:
    """Signatures new stories are compared with: stored stories and the batch's own.

    Held as one matrix, so a story is compared with the members of its
    candidate clusters in one numpy operation; the batch's stories join as
    they are assigned, so the third report of an event in one poll finds
    the first two.
    """

    def __init__(self) -> None:
        self._values = np.empty((64, NUM_PERM), dtype=np.uint32)
        self._signatures: list[Signature] = []  # for the figures and names
        self._rows: dict[int, list[int]] = {}  # cluster id -> its rows
        self._spans: dict[int, tuple[float, float]] = {}  # cluster id -> first, last report

    def __len__(self) -> int:
        return len(self._signatures)

    def add(self, cluster_id: int, sig: Signature, published_at: datetime) -> None:
        """A story of cluster `cluster_id`, published at `published_at`."""
        size = len(self._signatures)
        if size == len(self._values):
            self._values = np.concatenate([self._values, np.empty_like(self._values)])
        self._values[size] = sig.values
        self._signatures.append(sig)
        self._rows.setdefault(cluster_id, []).append(size)
        self.span(cluster_id, published_at, published_at)

    def add_many(
        self, cluster_id: int, signatures: Sequence[Signature], times: Sequence[datetime]
    ) -> None:
        """Stories of cluster `cluster_id` (signatures, publication times): `add`, in one copy."""
        if not signatures:
            return
        size, count = len(self._signatures), len(signatures)
        if size + count > len(self._values):
            grown = np.empty((max(2 * len(self._values), size + count), NUM_PERM), np.uint32)
            grown[:size] = self._values[:size]
            self._values = grown
        self._values[size : size + count] = np.stack([sig.values for sig in signatures])
        self._signatures.extend(signatures)
        self._rows.setdefault(cluster_id, []).extend(range(size, size + count))
        self.span(cluster_id, min(times), max(times))

    def span(self, cluster_id: int, first: datetime, last: datetime) -> None:
        """Reports of `cluster_id` were published from `first` to `last` (members not added too)."""
        low, high = first.timestamp(), last.timestamp()
        known = self._spans.get(cluster_id)
        self._spans[cluster_id] = (
            (low, high)
            if known is None
            else (
                min(known[0], low),
                max(known[1], high),
            )
        )

    def choose(
        self,
        sig: Signature,
        published_at: datetime,
        window: timedelta,
        threshold: float,
        among: Iterable[int] | None = None,
    ) -> tuple[int, float] | None:
        """The cluster `sig` joins and its best similarity; None to start a new cluster.

        Of the clusters `among` (default: all), one qualifies when all its
        members were published within `window` of `published_at` (so a
        cluster cannot drift from day to day), its most similar member
        reaches `threshold`, and at most `DISSENT` of its members (none of
        one to four) fall below `FLOOR` x `threshold` or are in conflict
        with it (other figures, other actors). Of those, the most similar
        wins; a tie goes to the older cluster (the lower id).
        """
        clusters = sorted(self._rows if among is None else set(among) & self._rows.keys())
        if not clusters:
            return None
        rows = np.fromiter(
            (row for cluster in clusters for row in self._rows[cluster]), dtype=np.int64
        )
        owner = np.repeat(clusters, [len(self._rows[cluster]) for cluster in clusters])
        scores = np.count_nonzero(self._values[rows] == sig.values, axis=1) / NUM_PERM
        at, seconds = published_at.timestamp(), window.total_seconds()
        floor = FLOOR * threshold
        best: tuple[float, int] | None = None
        for cluster in sorted(set(owner[scores >= threshold].tolist())):
            first, last = self._spans[cluster]
            if abs(at - first) > seconds or abs(at - last) > seconds:
                continue
            members = np.flatnonzero(owner == cluster)
            dissent = int(np.count_nonzero(scores[members] < floor))
            dissent += sum(conflict(sig, self._signatures[rows[i]]) for i in members)
            if dissent > DISSENT * len(members):
                continue
            score = float(scores[members].max())
            if best is None or score > best[0]:
                best = (score, cluster)
        return None if best is None else (best[1], best[0])
