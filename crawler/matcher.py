"""The filter: find watchlist entities and phrases in a story, decide its topics.

One Aho-Corasick automaton (ahocorasick_rs, Rust) holds every alias of every
entity and every phrase that a topic rule or a subscriber query uses. It
replaced pyahocorasick: with ~2,400 aliases and 10,000 phrases the root has
400+ children, which pyahocorasick scans linearly (29 MB/s for the walk
alone); the Rust automaton returns all overlapping matches in one call at
90-120 MB/s (bench/filter.py). Text is
folded first (`crawler.fold`: NFKC, case-fold, traditional -> simplified)
and hit offsets are mapped back to the original text.

Rules for a hit to count:
- Latin aliases need an ASCII letter/digit boundary on both sides (`\\b`
  would treat CJK characters as word characters and miss 在OTC市场); CJK
  aliases match as substrings.
- Acronyms that are ordinary words in lower case ("SAFE", "CAC") must
  appear exactly as written.
- A hit inside a longer one loses: "上海证券交易所" is a stock exchange, not
  the crypto `exchange` inside it. Hits that only overlap both stand:
  微信支付宝 names WeChat Pay and Alipay.

Pure: `(watchlist, phrases, story) -> MatchResult`, no I/O.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, Protocol

import ahocorasick_rs

from crawler import native
from crawler.fold import Folded, fold, fold_with_offsets
from crawler.genre import GENRE, GenreReader
from crawler.genre import NAMES as GENRE_NAMES
from crawler.inflect import alias_forms
from crawler.queryindex import QueryIndex
from crawler.rules import ALL, ANY, HAS, NOT, Plan, Rule, RuleError, compile_rule, phrase_key
from crawler.snippets import SNIPPET_WIDTH, Snippet, make_snippet
from crawler.types import Hit, MatchResult, Story
from crawler.watchlist import Watchlist, WatchlistError

FIELDS = ("title", "summary", "body")
FIELD_WEIGHTS = {"title": 3.0, "summary": 1.5, "body": 1.0}
_TOKENS = re.compile(r"[a-z0-9]+|[\u3400-\u9fff\uf900-\ufaff]")
_TOKEN_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")  # what [a-z0-9]+ runs are made of
# What ends a clause for CLAUSE/n, in folded text (full-width ，：； are ASCII by then):
# not the comma of 1,000, the colon of 10:30 or the dots of U.S., $1.9 and Binance.US.
_CLAUSE_BREAKS = re.compile(r"[;!?。]|[,:](?!\d)|\.(?![a-z0-9])")
_SENTENCE_ENDS = re.compile(r"[!?。]|\.(?=\s|$)")
# A wire's dateline at the head of a text: "HONG KONG, Jan 5 (Reuters) - ", "SINGAPORE
# (Bloomberg) -- ", 新华社北京6月1日电, 香港文匯報訊. It says where the reporter files from,
# not where the story is: its place is no place of the story's (Hong Kong desks file on
# Seoul and Tokyo).
# Matched on the text's first DATELINE_CHARS only.
_DATELINE = re.compile(
    r"[^\w]*[a-z][a-z .'’]{1,25}?"
    r"(?:,\s*[a-z]{3,5}\.?\s+\d{1,2}(?:,\s*\d{4})?\s*\([a-z .]{2,20}\)"
    r"|\s*\([a-z .]{2,20}\)|,\s*[a-z]{3,5}\.?\s+\d{1,2}(?:,\s*\d{4})?)"
    r"\s*(?:--|—|–|-)\s"
    r"|[^\w]*(?:新华社|新華社|中新社|中新网|中新網|中通社|本报|本報)[\u4e00-\u9fff]{2,6}"
    r"\s?\d{1,2}月\s?\d{1,2}日\s?[电電]"
    r"|[^\w]*[\u4e00-\u9fff]{0,6}[报報网網][讯訊]"  # an outlet's tag: 香港文匯報訊, 本报讯
)
DATELINE_CHARS = 80
DATELINE_MARKS = ("(", "-", "—", "–", "电", "電", "讯", "訊")
DATELINE_PLACES = frozenset({"china", "hong-kong", "foreign", "taiwan", "macau"})
# A year with no month after it ("in 2021", "since 2017", 2021年 but not 2021年5月): an act
# so dated is history; news is dated by the day. Searched in one sentence of at most
# LEAD_CHARS, of an untitled story whose first sentence sets a scene (Matcher._sets_the_scene).
_BARE_YEAR = re.compile(r"\b(?:in|since|until|by)\s+(?:19|20)\d\d\b|(?:19|20)\d\d\s?年(?!\s?\d)")
MAINLAND_POLICE, HONG_KONG, CHINA = "mps", "hong-kong", "china"  # keys the label rule names
MAINLAND = "mainland"  # implied by every `china` name, not by Hong Kong's
ACTOR_CATEGORIES = frozenset({"regulator", "enforcer", "platform"})  # who acts
# Words that matter only in the lead (market talk, rule-making): searched for there
# alone, by a second small automaton, so common words such as "price" cost the
# main scan nothing.
LEAD_ONLY = frozenset({"market", "rulemaking"})
LEAD = "lead:"  # a name in the title (or the first sentence if none): the story's main event
# A name in the first sentence of the text under a title: the lead paragraph, which says
# what kind of news the headline is ("in a circular", "under the ordinance").
OPENING = "opening:"
LEAD_CHARS = 240  # a lead sentence longer than this is cut here
EMPTY_SENTENCES = 3  # bylines and credits read past before an untitled story's lead
# Who acts in the sentence after a scene-setting one (Matcher._sets_the_scene)
SCENE_ACTORS = frozenset({"enforcer", "regulator", "platform", "authorities"})
SCENE_TALK = frozenset({"market-talk", "retrospective", "background"})  # keys, not categories
SCENE_FIRST = frozenset({"market", "market-talk"})  # all a scene-setting sentence may name
# The genre check (crawler/genre.py: an explainer or a report of an act?) reads the lead
# and this much text under it, in a story that has an act or an enforcer acting.
GENRE_FOLLOW_CHARS = 2 * LEAD_CHARS
GENRE_ACTS = ("action", "enforcerverb", "sentenceverb")
# Who may be said to act in a headline's "X：..." (an enforcer, a regulator, a platform)
ACTOR_CATEGORIES = frozenset({"enforcer", "regulator", "platform"})
# Topic rules come from the watchlist (trusted config), not from subscribers, and the
# default one spells out its place and lead checks: a longer bound than queries get.
TOPIC_RULE_LENGTH = 6000  # the default rule is about 4,200 characters (session 16)
BACKGROUND_TOKENS = 8  # an action this close after a background marker is context
# Markers that govern the action just before them alone ("China crackdown fears", "ban
# long priced in"), over a shorter reach than the Chinese markers that govern both ways.
BACKGROUND_AFTER, AFTER_TOKENS = "background-after", 3
# A Chinese frame's closing word (在……的背景下, 在……情况下) governs the whole clause it
# closes, which may be longer than BACKGROUND_TOKENS, and nothing after it.
BACKGROUND_FRAME, FRAME_TOKENS = "background-frame", 30
# Markers that govern only in the text, not in a headline ("Bitcoin slides after China
# bans..." reports the ban, "founded in Singapore after Beijing banned..." recalls it), and
# common words ("after", "when"): looked for just before an action of the text by a small
# automaton, never by the main scan.
BACKGROUND_TEXT = "backgroundtext"
RELATIVE, RELATIVE_TOKENS = "background-relative", 4  # a relative pronoun's shorter reach
# "fled to", 潜逃 (category FLIGHT): a foreign place right after one is no actor's; after
# 从 (FLIGHT_FROM) only when a word of FLIGHT_RETURN follows the place (从柬埔寨押解回国,
# not 从新加坡金管局获得牌照). Looked for around a foreign name alone, by small automata,
# never by the main scan.
FLIGHT, FLIGHT_FROM, FLIGHT_RETURN = "flight", "flightfrom", "flightreturn"
FLIGHT_CATEGORIES = frozenset({FLIGHT, FLIGHT_FROM, FLIGHT_RETURN})
FLIGHT_TOKENS, _FLIGHT_CHARS, _RETURN_CHARS = 2, 40, 16
_BEFORE, _BOTH, _AFTER, _FRAME = 0, 1, 2, 3  # which actions a background marker governs
# Markers whose reach is not their script's default (English: after; Chinese: both ways):
# a Chinese hypothetical (一经定罪, 最高可) governs only what follows it.
BACKGROUND_AHEAD = "background-ahead"
_MARKER_GOVERNS = {BACKGROUND_AFTER: _AFTER, BACKGROUND_FRAME: _FRAME, BACKGROUND_AHEAD: _BEFORE}


_BACKGROUND_CHARS = 80  # no need to count tokens across a longer gap


_OFFICIALS = (LEAD + "regulator", LEAD + "enforcer")
_OFFICIAL_ACTS = (LEAD + "hard-act", LEAD + "warn", LEAD + "ban")


def _official_acts(names: set[str]) -> bool:
    """Does the lead name an official (a regulator or an enforcer) and a hard act, a warning
    or a ban, or a mainland place and a hard act ("Sichuan orders crypto mines to close"):
    news told by its actor, whatever commentary the text adds under it?"""
    if LEAD + "hard-act" in names and LEAD + MAINLAND in names:
        return True
    return any(n in names for n in _OFFICIALS) and any(n in names for n in _OFFICIAL_ACTS)


def _close(text: str, start: int, end: int, tokens: int) -> bool:
    """At most `tokens` tokens and no clause break in text[start:end] (a short gap).

    Works on the gap alone, so a story whose hits never come close is never
    tokenised as a whole.
    """
    gap = text[max(0, start) : end]
    if _CLAUSE_BREAKS.search(gap):
        return False
    return len(_TOKENS.findall(gap)) <= tokens


class _Pattern(NamedTuple):
    """What a folded pattern means: its boundary needs and every term it stands for.

    A pattern may mean several things (an alias, an acronym, a phrase); they
    are split by the work a hit needs so the scan loop does no more than that.
    """

    left_boundary: bool
    right_boundary: bool
    phrase: str | None  # the common cases, handled first: one phrase and nothing else,
    key: str | None  # or an alias of one entity and nothing else
    keys: tuple[str, ...]  # entities named by an alias: no further check
    exacts: tuple[tuple[str, str], ...]  # (entity, NFKC form the original must equal)
    phrases: tuple[str, ...]  # phrase keys ('"..."')


# A _Pattern as the matcher keeps it: a plain tuple of strings, bools, None and tuples,
# which the garbage collector stops tracking (a NamedTuple it tracks, and walks at every
# full collection: 28,000 of them with 10,000 phrases, half the matcher's heap).
_Exacts = tuple[tuple[str, str], ...]
_Term = tuple[bool, bool, str | None, str | None, tuple[str, ...], _Exacts, tuple[str, ...]]


def _plain(pattern: _Pattern) -> _Term:
    return (
        pattern.left_boundary,
        pattern.right_boundary,
        pattern.phrase,
        pattern.key,
        pattern.keys,
        pattern.exacts,
        pattern.phrases,
    )


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def _is_word_char(char: str) -> bool:
    return char in _WORD_CHARS


class _FieldScan:
    """One field's folded text and hits; token and clause offsets worked out on demand."""

    __slots__ = ("entity_hits", "folded", "phrase_hits")

    def __init__(
        self,
        folded: Folded,
        entity_hits: list[tuple[int, int, str]],  # folded start, end, key
        phrase_hits: list[tuple[int, int, str]],
    ) -> None:
        self.folded = folded
        self.entity_hits = entity_hits
        self.phrase_hits = phrase_hits

    def within_tokens(self, after: int, at: int, distance: int) -> bool:
        """Is token_index(at) - token_index(after) <= distance?

        token_index(o) is the index of the last token starting at or before o
        (0 if none). Counted on the stretch between the two offsets alone, and
        only up to `distance`, so a story is never tokenised as a whole.
        """
        if at <= after:  # overlapping hits: no tokens between them
            return True
        text = self.folded.text
        # tokens starting in (after, at]; the first is no start if it continues a word
        limit = distance + 2
        count = 0
        for _ in _TOKENS.finditer(text, after + 1, at + 1):
            count += 1
            if count > limit:
                return False
        if count and text[after] in _TOKEN_WORD and text[after + 1] in _TOKEN_WORD:
            count -= 1
        if count and _TOKENS.search(text, 0, after + 1) is None:
            count -= 1  # no token at or before `after`: both indexes are clamped to 0
        return count <= distance

    def clause_break(self, start: int, end: int) -> bool:
        """Is there clause punctuation in folded text[start:end]?"""
        found = _CLAUSE_BREAKS.search(self.folded.text, start)
        return found is not None and found.start() < end


_Position = tuple[str, int, int]  # field, folded start, end


class _Evidence:
    """Names present in a story; hit positions are worked out only if NEAR asks.

    A plain class with slots: one is built per story, and a dataclass with
    default factories cost more to build than a story with no hits takes to judge.
    """

    __slots__ = (
        "_genre",
        "_hits_by_key",
        "_known",
        "_names_of",
        "_positions",
        "counted",
        "phrases",
        "police_elsewhere",
        "scans",
    )

    def __init__(self, names_of: Mapping[str, frozenset[str]]) -> None:
        # The names found so far; the `genre:` ones are read only when asked for (`names`,
        # or a rule asking `has`): most stories with an act fail the rule before its genre
        # clause, and the genre check is about a tenth of a story's time.
        self._known: set[str] = set()
        self._genre: Callable[[], set[str]] | None = None  # reads them, until it has
        self.phrases: set[str] = set()  # the phrase keys among the names
        self.counted: list[str] = []  # keys the rule may use, title first
        self.police_elsewhere = False  # generic police words right after a non-mainland place
        self.scans: dict[str, _FieldScan] = {}
        self._names_of = names_of  # entity key -> the keys and categories it makes true
        self._hits_by_key: tuple[dict[str, list[_Position]], dict[str, list[_Position]]] | None
        self._hits_by_key = None  # (entity key -> hits, phrase key -> hits)
        self._positions: dict[str, list[_Position]] = {}

    @property
    def names(self) -> set[str]:
        """Every name the story makes true (the `genre:` ones read now if they were not)."""
        if self._genre is not None:
            self._read_genre()
        return self._known

    def _read_genre(self) -> None:
        genre, self._genre = self._genre, None
        if genre is not None:
            self._known.update(genre())

    def has(self, name: str) -> bool:
        if name in self._known:
            return True
        if self._genre is not None and name in GENRE_NAMES:
            self._read_genre()
            return name in self._known
        return False

    def positions(self, name: str) -> list[_Position]:
        """Where `name` was hit: the hits of every key that makes it true, and its phrase's.

        The hits are grouped by key once, then each name a rule asks for is
        worked out from the few keys a story hits.
        """
        found = self._positions.get(name)
        if found is not None:
            return found
        if self._hits_by_key is None:
            entities: dict[str, list[_Position]] = {}
            phrases: dict[str, list[_Position]] = {}
            for field_name, scan in self.scans.items():
                for start, end, key in scan.entity_hits:
                    entities.setdefault(key, []).append((field_name, start, end))
                for start, end, key in scan.phrase_hits:
                    phrases.setdefault(key, []).append((field_name, start, end))
            self._hits_by_key = entities, phrases
        entities, phrases = self._hits_by_key
        names_of = self._names_of
        found = [hit for key, hits in entities.items() if name in names_of[key] for hit in hits]
        found.extend(phrases.get(name, ()))
        self._positions[name] = found
        return found

    def near(self, left: str, right: str, distance: int, clause: bool = False) -> bool:
        """A hit of each at most `distance` tokens apart in one field (and clause)."""
        lefts = self.positions(left)
        if not lefts:
            return False
        rights = self.positions(right)
        for field_a, a_start, a_end in lefts:
            scan = self.scans[field_a]
            for field_b, b_start, b_end in rights:
                if field_b != field_a:
                    continue
                first, second = ((a_start, a_end), (b_start, b_end))
                if a_start > b_start:
                    first, second = second, first
                if scan.within_tokens(max(first[0], first[1] - 1), second[0], distance) and not (
                    clause and scan.clause_break(first[1], second[0])
                ):
                    return True
        return False


class _Test:
    """A rule's tree (`Rule.plan`) evaluated against this module's _Evidence, node by node.

    The rule's own closures (`Rule.test`, the reference) call through Python's calling
    protocol at every node and name, over any Evidence; compiled, these are direct calls,
    and the topic rule, a hundred nodes long, is asked of every story
    (tests/crawler/test_matcher_s15.py holds the two equal).
    """

    __slots__ = ("clause", "distance", "kind", "left", "name", "parts")

    def __init__(self, plan: Plan) -> None:
        kind: int = plan[0]
        self.kind = kind
        self.name = ""  # HAS: the name; NEAR: the right-hand one
        self.left = ""
        self.distance = 0
        self.clause = False
        self.parts: list[_Test] = []
        if kind == HAS:
            self.name = plan[1]
        elif kind == NOT:
            self.parts = [_Test(plan[1])]
        elif kind in (ALL, ANY):
            self.parts = [_Test(part) for part in plan[1]]
        else:  # NEAR
            self.left, self.name, self.distance, self.clause = plan[1], plan[2], plan[3], plan[4]

    def holds(self, evidence: _Evidence) -> bool:
        kind = self.kind
        if kind == HAS:
            return evidence.has(self.name)
        if kind == ALL:
            for part in self.parts:  # noqa: SIM110 (no generator per call)
                if not part.holds(evidence):
                    return False
            return True
        if kind == ANY:
            for part in self.parts:  # noqa: SIM110
                if part.holds(evidence):
                    return True
            return False
        if kind == NOT:
            return not self.parts[0].holds(evidence)
        return evidence.near(self.left, self.name, self.distance, self.clause)


class _GenreLater:
    """A story's `genre:` names, read when first asked for (Matcher._genre_names)."""

    __slots__ = ("_lead", "_matcher", "_names", "_opening")

    def __init__(
        self,
        matcher: Matcher,
        lead: tuple[_FieldScan, int, int],
        opening: tuple[_FieldScan, int] | None,
        names: set[str],
    ) -> None:
        self._matcher = matcher
        self._lead = lead
        self._opening = opening
        self._names = names  # the story's other names, complete by then

    def __call__(self) -> set[str]:
        return self._matcher._genre_names(self._lead, self._opening, self._names)


_Span = tuple[int, int, str]  # folded start, end, entity key
# A frozen dataclass's __init__ sets each field with object.__setattr__, twice the cost
# of filling the instance dict; a story that matches has a dozen hits. Done only while
# Hit is these five plain fields (tests/crawler/test_matcher.py checks the two are equal).
_HIT_FIELDS = ("entity", "field", "start", "end", "term")
_PLAIN_HIT = (
    tuple(f.name for f in dataclasses.fields(Hit)) == _HIT_FIELDS
    and not hasattr(Hit, "__post_init__")
    and not hasattr(Hit, "__slots__")
)
# The same for MatchResult, built once per story: its fields filled as one dict.
_RESULT_FIELDS = (
    "entities",
    "topics",
    "hits",
    "score",
    "signals",
    "phrases",
    "snippets",
    "queries",
    "actions",
    "actors",
)
_PLAIN_RESULT = (
    tuple(f.name for f in dataclasses.fields(MatchResult)) == _RESULT_FIELDS
    and not hasattr(MatchResult, "__post_init__")
    and not hasattr(MatchResult, "__slots__")
)


_SNIPPET_FIELDS = ("field", "text", "start", "end")
_PLAIN_SNIPPET = (
    tuple(f.name for f in dataclasses.fields(Snippet)) == _SNIPPET_FIELDS
    and not hasattr(Snippet, "__post_init__")
    and not hasattr(Snippet, "__slots__")
)
# crawler/_native.c's fill(cls, names, *values) where it is built and the three are plain:
# object.__new__ and object.__setattr__ per field in one C call, the values kept in the
# instance (filling its __dict__ makes a dict per object first).
_FILL = native.fill if _PLAIN_HIT and _PLAIN_RESULT and _PLAIN_SNIPPET else None


def _snippet(text: str, start: int, end: int, field: str) -> Snippet:
    """crawler.snippets.make_snippet(text, start, end, field), compiled here with the
    matcher (snippets.py is not: a compiled frozen dataclass does not unpickle), its
    Snippet filled as one dict; tests/crawler/test_matcher.py holds the two equal."""
    if not _PLAIN_SNIPPET:
        return make_snippet(text, start, end, field)
    width, size = SNIPPET_WIDTH, len(text)
    room = max(0, width - (end - start))
    left = max(0, start - room // 2)
    right = min(size, end + (room - (start - left)))
    left = max(0, min(left, right - width))
    if left > 0:
        space = text.find(" ", left, start)
        if 0 <= space < start and space - left < 20:
            left = space + 1
    if right < size:
        space = text.rfind(" ", end, right)
        if space > end and right - space < 20:
            right = space
    prefix = "…" if left > 0 else ""
    suffix = "…" if right < size else ""
    offset = len(prefix) - left
    if _FILL is not None:
        made: Snippet = _FILL(
            Snippet,
            _SNIPPET_FIELDS,
            field,
            prefix + text[left:right] + suffix,
            start + offset,
            end + offset,
        )
        return made
    snippet: Snippet = object.__new__(Snippet)
    snippet.__dict__.update(
        {
            "field": field,
            "text": prefix + text[left:right] + suffix,
            "start": start + offset,
            "end": end + offset,
        }
    )
    return snippet


def _match_result(fields: dict[str, object]) -> MatchResult:
    """MatchResult(**fields), without the frozen dataclass's per-field __setattr__."""
    if not _PLAIN_RESULT:
        return MatchResult(**fields)  # type: ignore[arg-type]
    if _FILL is not None:
        made: MatchResult = _FILL(MatchResult, _RESULT_FIELDS, *[fields[n] for n in _RESULT_FIELDS])
        return made
    result: MatchResult = object.__new__(MatchResult)
    result.__dict__.update(fields)
    return result


_OVERLAPPING = True  # find_matches_as_indexes(text, overlapping): positional, as keywords cost


def _sole(these: dict[str, None] | None, *others: dict[Any, None] | None) -> str | None:
    """The one key in `these` when the pattern means nothing else, else None."""
    if these and len(these) == 1 and not any(others):
        return next(iter(these))
    return None


def _longest_first(hit: _Span) -> tuple[int, int]:
    return hit[0] - hit[1], hit[0]


class _Role(enum.Enum):
    """What the evidence pass must weigh about a hit (most hits have no role)."""

    ACTION = "action"
    REGULATOR = "regulator"
    ACTOR = "actor"  # an enforcer or platform: counted for `actors`
    POLICE = "police"  # generic police words: the mainland's unless qualified
    PLACE = "place"  # Hong Kong
    FOREIGN = "foreign"


class _Nesting(NamedTuple):
    """Which hits survive inside a longer one: `inner` keys inside `outer` keys."""

    inner: frozenset[str]
    outer: frozenset[str]

    def survives(self, key: str, around: str) -> bool:
        return key in self.inner and around in self.outer


def _resolve_cluster(
    hits: list[_Span], exact: dict[tuple[int, int], set[str]], nesting: _Nesting
) -> list[_Span]:
    inner, outer = nesting
    kept: list[_Span] = []
    for hit in sorted(hits, key=_longest_first):
        start, end, key = hit
        if exact:
            exact_keys = exact.get((start, end))
            if exact_keys is not None and key not in exact_keys:
                continue
        for k0, k1, k_key in kept:
            if start == k0 and end == k1:
                if key == k_key:  # an acronym that is also its entity's alias
                    break
            elif k0 <= start and end <= k1 and not (key in inner and k_key in outer):
                break  # inside a longer kept hit (nesting.survives, inlined)
        else:
            kept.append(hit)
    return kept


def _resolve_overlaps(
    hits: list[_Span], exact: dict[tuple[int, int], set[str]], nesting: _Nesting
) -> list[_Span]:
    """Drop hits nested in longer ones; `exact` holds the spans that acronyms matched.

    On an identical span an exact-form hit (an acronym, a script-specific
    name such as traditional 證監會) beats hits that matched only after
    folding; otherwise identical spans all stay. Hits are swept in order of
    start and only clusters that really overlap get the greedy treatment.
    The scan calls this only when some hits overlap.
    """
    hits.sort()
    resolved: list[_Span] = []
    cluster: list[_Span] = []
    cluster_end = -1
    for hit in hits:
        if hit[0] < cluster_end:
            cluster.append(hit)
            if hit[1] > cluster_end:
                cluster_end = hit[1]
            continue
        if len(cluster) == 1:
            resolved.append(cluster[0])
        elif cluster:
            resolved.extend(sorted(_resolve_cluster(cluster, exact, nesting)))
        cluster = [hit]
        cluster_end = hit[1]
    if len(cluster) == 1:
        resolved.append(cluster[0])
    elif cluster:
        resolved.extend(sorted(_resolve_cluster(cluster, exact, nesting)))
    return resolved


class _Words:
    """A few patterns (lead words, text markers, flight words) found in folded text, each
    as a whole word where it starts or ends with an ASCII letter or digit.

    crawler/_native.c's Index.find where it is built (crawler.native): it looks at word
    starts and CJK bigrams alone, where the automaton, the reference and the fallback,
    walks every byte and builds a byte -> character table for each non-ASCII text.
    tests/crawler/test_native.py holds the two equal.
    """

    __slots__ = ("_automaton", "_index", "longest")

    def __init__(self, patterns: list[str], *, use_native: bool = True) -> None:
        self.longest = max(map(len, patterns))  # the longest pattern's length
        self._index = native.Index(patterns) if use_native and native.Index is not None else None
        self._automaton = (
            None
            if self._index is not None
            else ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.Standard)
        )

    def find(self, text: str, lo: int = 0, hi: int = -1) -> list[tuple[int, int, int]]:
        """(pattern index, start, end) of every whole-word hit, by end (as the automaton);
        only those within text[lo:hi] (hi -1: the end) when asked, their boundaries
        checked against the characters around that stretch all the same."""
        size = len(text)
        if hi < 0 or hi > size:
            hi = size
        if self._index is not None:
            found: list[tuple[int, int, int]] = self._index.find(text, lo, hi)
            return found
        found = []
        word, automaton = _WORD_CHARS, self._automaton
        assert automaton is not None  # built when the index is not
        offset = max(0, lo - 1)  # the stretch and a character either side of it
        for index, start, end in automaton.find_matches_as_indexes(
            text[offset : hi + 1], _OVERLAPPING
        ):
            start, end = start + offset, end + offset
            if start < lo or end > hi:
                continue
            if text[start] in word and start and text[start - 1] in word:
                continue  # inside a word ("thereafter")
            if text[end - 1] in word and end < size and text[end] in word:
                continue  # "aftermath", "whenever"
            found.append((index, start, end))
        return found


_ACRONYM_WORD = re.compile(r"[a-z0-9]+")
_ACRONYM_EXACT = re.compile(r"[A-Za-z0-9]+")


class _Acronyms:
    """Patterns that only name an entity when written exactly, as a whole ASCII word.

    In the main automaton, "ed" (India's ED) matched at the end of every past-tense
    verb of folded text and "us" inside words: more than half of all raw hits, each
    dropped by a boundary or exact-form check. Found here instead: in ASCII text
    (folded = lower-cased, offsets unchanged, NFKC the identity) the exact forms are
    searched for in the original text, case kept (`Folded.cased`; Latin text with
    full-width words too); in other text the folded forms in the folded text, checked
    against the original as before. A pattern and its exact
    forms being whole alphanumeric words, a hit that passes its boundary checks is a
    whole word, which no other hit overlaps: a leftmost-longest search misses none.
    Where crawler/_native.c is built, its index (word starts alone) holds the acronyms
    with the other patterns and this is the fallback's.
    """

    __slots__ = ("_exact", "_exact_keys", "_folded", "_folded_exacts", "patterns")

    def __init__(self, patterns: Sequence[str], terms: Sequence[_Pattern]) -> None:
        exact_keys: dict[str, list[str]] = {}
        folded: dict[str, tuple[tuple[str, str], ...]] = {}
        for pattern, term in zip(patterns, terms, strict=True):
            if term.keys or term.phrases or not term.exacts:
                continue
            if not _ACRONYM_WORD.fullmatch(pattern) or not all(
                _ACRONYM_EXACT.fullmatch(exact) and exact.lower() == pattern
                for _, exact in term.exacts
            ):
                continue
            folded[pattern] = term.exacts
            for key, exact in term.exacts:
                exact_keys.setdefault(exact, []).append(key)
        self.patterns = frozenset(folded)
        self._exact_keys = [tuple(keys) for keys in exact_keys.values()]
        self._folded_exacts = list(folded.values())
        longest = ahocorasick_rs.MatchKind.LeftmostLongest
        # Over bytes: the case-kept text is ASCII, so byte offsets are character offsets,
        # and the str automaton's byte -> character table (8 bytes a byte) is not built.
        self._exact = (
            ahocorasick_rs.BytesAhoCorasick(
                [exact.encode("ascii") for exact in exact_keys], matchkind=longest
            )
            if folded
            else None
        )
        self._folded = (
            ahocorasick_rs.AhoCorasick(list(folded), matchkind=longest) if folded else None
        )

    def find(self, text: str, folded: Folded) -> list[_Span]:
        """Hits (folded start, end, key) of these acronyms, boundaries and exact forms checked."""
        found: list[_Span] = []
        if self._exact is None or self._folded is None:
            return found
        word = _WORD_CHARS
        cased = folded.cased
        if cased is not None:  # cased.lower() is the folded text, its slices NFKC's
            size = len(cased)
            for index, start, end in self._exact.find_matches_as_indexes(cased.encode("ascii")):
                if (start and cased[start - 1] in word) or (end < size and cased[end] in word):
                    continue
                for key in self._exact_keys[index]:
                    found.append((start, end, key))
            return found
        haystack = folded.text
        size = len(haystack)
        for index, start, end in self._folded.find_matches_as_indexes(haystack):
            if (start and haystack[start - 1] in word) or (end < size and haystack[end] in word):
                continue
            original = text[folded.original(start) : folded.original(end)]
            written = unicodedata.normalize("NFKC", original)
            for key, exact in self._folded_exacts[index]:
                if written == exact:
                    found.append((start, end, key))
        return found


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _scan_hits(
    haystack: str,
    raw: list[tuple[int, int, int]],
    terms: Sequence[_Term],
    text: str,
    offsets: list[int] | None,
    normalize: Callable[[str], str],
) -> tuple[list[_Span], list[_Span], dict[tuple[int, int], set[str]], bool]:
    """The automaton's raw hits (pattern index, folded start, end, by end) -> the entity
    hits and phrase hits that pass their boundary and exact-form checks, the spans
    exact forms matched, and whether entity hits overlap or are out of order.

    With the automaton, the reference for crawler/_native.c's Index.scan, which runs
    instead when it is built (crawler.native); tests/crawler/test_native.py holds the
    two equal.
    """
    entity_hits: list[_Span] = []
    phrase_hits: list[_Span] = []
    exact_spans: dict[tuple[int, int], set[str]] = {}
    size = len(haystack)
    word = _WORD_CHARS
    last_end, tangled = 0, False
    for index, start, end in raw:
        left, right, phrase, key, keys, exacts, phrases = terms[index]
        if left and start and haystack[start - 1] in word:
            continue
        if right and end < size and haystack[end] in word:
            continue
        if phrase is not None:
            phrase_hits.append((start, end, phrase))
        elif key is not None:
            entity_hits.append((start, end, key))
            if start < last_end:
                tangled = True
            last_end = end
        else:
            for key in phrases:
                phrase_hits.append((start, end, key))
            if exacts:
                span = (start, end) if offsets is None else (offsets[start], offsets[end])
                written = normalize(text[span[0] : span[1]])
                for key, exact in exacts:
                    if written == exact:
                        entity_hits.append((start, end, key))
                        exact_spans.setdefault((start, end), set()).add(key)
                        if start < last_end:
                            tangled = True
                        last_end = end  # ends never go down while nothing is tangled
            for key in keys:
                entity_hits.append((start, end, key))
                if start < last_end:
                    tangled = True
                last_end = end
    return entity_hits, phrase_hits, exact_spans, tangled


def _merge(hits: list[_Span], more: list[_Span], tangled: bool) -> list[_Span]:
    """Both lists of hits as one, in order of start when none overlap (as the scan keeps them)."""
    merged = hits + more
    if not tangled:
        merged.sort()
    return merged


def _overlapping(hits: list[_Span]) -> bool:
    """Do any two of these hits (sorted by start) overlap?"""
    last_end = -1
    for start, end, _ in hits:
        if start < last_end:
            return True
        if end > last_end:
            last_end = end
    return False


def _first_sentence_end(text: str, limit: int) -> int:
    """The end of _SENTENCE_ENDS.search(text, start, limit), or min(len(text), limit) if none,
    where `start` is the first letter or digit: stops before any word (". ", "!! " left by a
    feed's markup) end no sentence, or the lead would be empty and no lead rule would see
    the story's first sentence.

    By str.find, a call per kind of stop, where the regex tries its alternatives at
    every character (its `$` matches at `limit`, as the search ends there);
    tests/crawler/test_matcher.py holds the two equal.
    """
    limit = min(len(text), limit)
    start = 0
    while start < limit and not text[start].isalnum():
        start += 1
    best = limit
    for stop in "!?。":
        at = text.find(stop, start, best)
        if at >= 0:
            best = at
    at = text.find(".", start, best)
    while at >= 0:
        if at + 1 == limit or text[at + 1].isspace():
            return at + 1
        at = text.find(".", at + 1, best)
    return best + 1 if best < limit else limit


def _next_sentence_end(text: str, start: int) -> int:
    """Where the sentence starting at `start` ends (cut at LEAD_CHARS, as a lead is)."""
    return start + _first_sentence_end(text[start:], LEAD_CHARS)


_ROUNDED: dict[float, float] = {}  # _score's totals, rounded


def _score(first_field: dict[str, str]) -> int | float:
    """The field weights of the reported entities' first hits; 0 (an int) for none, as
    interpreted `round(sum([]), 2)` gives, where mypyc's float `sum` would give 0.0."""
    if not first_field:
        return 0
    total = 0.0
    for field in first_field.values():  # sum() in order, without a bound method per story
        total += FIELD_WEIGHTS[field]
    rounded = _ROUNDED.get(total)  # round(x, 2) goes through a decimal string: ~1 us
    if rounded is None:
        rounded = round(total, 2)
        if len(_ROUNDED) < 4096:  # sums of a few weights: a few hundred values
            _ROUNDED[total] = rounded
    return rounded


class StoryFilter(Protocol):
    """What the pipeline needs of a filter: a verdict per story (a Matcher, or one that also
    runs subscriber queries)."""

    def match(self, story: Story) -> MatchResult: ...


class Matcher:
    """A compiled watchlist plus phrases; build once, call `match` per story."""

    def __init__(self, watchlist: Watchlist, phrases: Iterable[str] = ()) -> None:
        self.watchlist = watchlist
        self._entities = {e.key: e for e in watchlist.entities}
        self._entity_keys = frozenset(self._entities)
        self._implied = {e.key: self._closure(e.key) for e in watchlist.entities}
        # For each key found: every name it makes true (implied keys and their categories).
        self._expand = {
            key: tuple(dict.fromkeys(n for k in keys for n in (k, self._entities[k].category)))
            for key, keys in self._implied.items()
        }
        self._names_of = {key: frozenset(names) for key, names in self._expand.items()}
        self._lead_expand = {
            key: tuple(LEAD + name for name in names) for key, names in self._expand.items()
        }
        self._reported_of = {
            key: tuple(k for k in keys if self._entities[k].report)
            for key, keys in self._implied.items()
        }
        self._opening_expand = {
            key: tuple(OPENING + name for name in names) for key, names in self._expand.items()
        }
        self._names = (
            watchlist.names()
            | {prefix + name for prefix in (LEAD, OPENING) for name in watchlist.names()}
            | GENRE_NAMES
        )
        self._genre = GenreReader(watchlist)
        if not GENRE_NAMES.isdisjoint(self._entity_keys):  # signals leave genre names unread
            raise WatchlistError(f"entity keys taken by the genre check: {sorted(GENRE_NAMES)}")
        # Names most matched stories have: a query index avoids keying on them.
        self.categories = watchlist.categories
        self._category = {e.key: e.category for e in watchlist.entities}
        self._act = {e.key: e.act for e in watchlist.entities if e.act}
        self._actor_keys = frozenset(k for k, c in self._category.items() if c in ACTOR_CATEGORIES)
        self._markers = frozenset(e.key for e in watchlist.entities if e.category == "background")
        self._flight, self._flight_from, self._flight_return = self._flight_words(watchlist)
        self._text_markers, self._text_reach = self._text_marker_words(watchlist)
        self._roles = self._make_roles(watchlist)
        # Per key, what the evidence pass needs of a hit: its role and the reported keys.
        self._hit_info = {
            key: (self._roles.get(key), self._reported_of[key]) for key in self._entities
        }
        # Generic crypto words name crypto even inside a longer reported name
        # ("cryptocurrency exchange"); inside a blocker or a crypto name they do not.
        shown = frozenset(e.key for e in watchlist.entities if e.report)
        crypto = frozenset(e.key for e in watchlist.entities if e.category == "crypto")
        self._nesting = _Nesting(crypto & shown, shown - crypto)
        self._topics: list[tuple[str, Rule]] = []
        self._topic_tests: list[tuple[str, _Test]] = []  # the same, as _Tests (`match`)
        for topic in watchlist.topics:
            try:
                self._topics.append(
                    (topic.key, self.compile(topic.rule, max_length=TOPIC_RULE_LENGTH))
                )
            except RuleError as exc:
                raise WatchlistError(f"topic {topic.key!r}: {exc}") from exc
        self._topic_tests = [(key, _Test(rule.plan)) for key, rule in self._topics]
        wanted = {fold(p).strip() for p in phrases} | {
            p for _, rule in self._topics for p in rule.phrases
        }
        self.phrases = frozenset(p for p in wanted if p)
        patterns, payloads, self._automaton = self._build()
        # Tuples, of plain tuples: once the collector has seen them it no longer walks them.
        # Any: held as the objects they are (mypyc would copy a typed tuple out and back)
        terms: list[Any] = [_plain(payload) for payload in payloads]
        self._patterns: tuple[str, ...] = tuple(patterns)
        self._terms: tuple[_Term, ...] = tuple(terms)
        # Whole-word acronyms that mean nothing else ("ED", "US", "SEC") are found apart
        # (_Acronyms): folded, "ed" ends every past-tense verb, half of all raw hits.
        self._acronyms = _Acronyms(patterns, payloads)
        main = [
            (pattern, term)
            for pattern, term in zip(patterns, terms, strict=True)
            if pattern not in self._acronyms.patterns
        ]
        self._main_terms: tuple[_Term, ...] = tuple([term for _, term in main])
        if len(main) < len(self._patterns):
            self._automaton = (
                ahocorasick_rs.AhoCorasick(
                    [pattern for pattern, _ in main], matchkind=ahocorasick_rs.MatchKind.Standard
                )
                if main
                else None
            )
        # The scan in C when it is built (crawler.native): it finds what the automaton and
        # _scan_hits find, without walking every byte; with it, the automaton is not kept.
        # It looks at word starts alone, so the acronyms cost it little: it holds them too
        # (one walk, no second search of each text), their exact forms compared in C.
        self._native = native.Index(patterns) if native.Index is not None and patterns else None
        if self._native is not None:
            self._automaton = None
        self._lead_terms, self._lead_automaton = self._build_lead()
        self._marker_acts = self._markers_with_actions(payloads)
        self._forms: dict[str, frozenset[str]] | None = None

    def _markers_with_actions(self, payloads: list[_Pattern]) -> frozenset[str]:
        """Background-marker patterns that hold an action word ("after the arrests",
        "pre-ban", 禁令下): the marker claims the action's span, so it sets that action
        aside itself. Read off the built patterns (their inflected forms included)."""
        action_keys = {e.key for e in self.watchlist.entities if e.category == "action"}
        actions, markers = set(), []
        for pattern, payload in zip(self._patterns, payloads, strict=True):
            if action_keys.intersection(payload.keys):
                actions.add(pattern)
            if self._markers.intersection(payload.keys):
                markers.append(pattern)
        cjk = [a for a in actions if not a.isascii()]
        found = set()
        for form in markers:
            if not form.isascii():
                if any(a in form for a in cjk):
                    found.add(form)
                continue
            words = _TOKENS.findall(form)
            if any(
                " ".join(words[i:j]) in actions
                for i in range(len(words))
                for j in range(i + 1, min(len(words), i + 4) + 1)
            ):
                found.add(form)
        return frozenset(found)

    @staticmethod
    def _make_roles(watchlist: Watchlist) -> dict[str, _Role]:
        roles = {}
        by_key = {entity.key: entity for entity in watchlist.entities}
        for entity in watchlist.entities:
            if entity.key == MAINLAND_POLICE:
                roles[entity.key] = _Role.POLICE
            elif entity.key == HONG_KONG:
                roles[entity.key] = _Role.PLACE
            elif entity.category in ("action", "regulator", "foreign"):
                roles[entity.key] = _Role(entity.category)
            elif entity.category in ACTOR_CATEGORIES and any(
                by_key[k].category == "action" for k in entity.implies if k in by_key
            ):  # an outcome (入狱, 被判, 刑拘): an act, weighed against background as one
                roles[entity.key] = _Role.ACTION
            elif entity.category in ACTOR_CATEGORIES:
                roles[entity.key] = _Role.ACTOR
        return roles

    def _closure(self, key: str) -> tuple[str, ...]:
        """The key and everything it implies, transitively, in order."""
        seen = [key]
        for current in seen:
            seen.extend(k for k in self._entities[current].implies if k not in seen)
        return tuple(seen)

    def _build(
        self,
    ) -> tuple[list[str], list[_Pattern], ahocorasick_rs.AhoCorasick | None]:
        keys: dict[str, dict[str, None]] = defaultdict(dict)
        exacts: dict[str, dict[tuple[str, str], None]] = defaultdict(dict)
        phrases: dict[str, dict[str, None]] = defaultdict(dict)
        main = [
            e
            for e in self.watchlist.entities
            if e.category not in LEAD_ONLY
            and e.category not in FLIGHT_CATEGORIES
            and e.category != BACKGROUND_TEXT
            and e.category != GENRE
        ]
        for entity in main:
            for alias in entity.aliases:
                folded = fold(alias).strip()
                if folded:
                    keys[folded][entity.key] = None
        # English aliases cover their regular forms (crawler.inflect); a form that some
        # entity lists as written keeps only that entity.
        written = set(keys)
        for entity in main:
            for alias in entity.aliases:
                folded = fold(alias).strip()
                if not folded.isascii():
                    continue
                for form in alias_forms(folded)[1:]:
                    if form not in written:
                        keys[form][entity.key] = None
            for acronym in entity.acronyms:
                folded = fold(acronym).strip()
                exact = unicodedata.normalize("NFKC", acronym).strip()
                if folded:
                    exacts[folded][entity.key, exact] = None
        for phrase in self.phrases:
            phrases[phrase][phrase_key(phrase)] = None
        patterns = list(dict.fromkeys([*keys, *exacts, *phrases]))
        payloads = [
            _Pattern(
                _is_word_char(pattern[0]),
                _is_word_char(pattern[-1]),
                _sole(phrases.get(pattern), keys.get(pattern), exacts.get(pattern)),
                _sole(keys.get(pattern), phrases.get(pattern), exacts.get(pattern)),
                tuple(keys.get(pattern, ())),
                tuple(exacts.get(pattern, ())),
                tuple(phrases.get(pattern, ())),
            )
            for pattern in patterns
        ]
        if not patterns:
            return patterns, payloads, None
        automaton = ahocorasick_rs.AhoCorasick(
            patterns,
            matchkind=ahocorasick_rs.MatchKind.Standard,
        )
        return patterns, payloads, automaton

    def _build_lead(self) -> tuple[list[tuple[str, ...]], _Words | None]:
        """A small automaton for the words only a lead is searched for (LEAD_ONLY)."""
        keys: dict[str, dict[str, None]] = defaultdict(dict)
        for entity in self.watchlist.entities:
            if entity.category not in LEAD_ONLY:
                continue
            for alias in (*entity.aliases, *entity.acronyms):
                folded = fold(alias).strip()
                forms = alias_forms(folded) if folded.isascii() else [folded]
                for form in forms:
                    if form:
                        keys[form][entity.key] = None
        if not keys:
            return [], None
        patterns = list(keys)
        return [tuple(keys[p]) for p in patterns], _Words(patterns)

    def _lead_names(self, lead: str, hits: Iterable[_Span] = ()) -> set[str]:
        """Keys and categories of the LEAD_ONLY words in a folded lead, boundaries checked.

        A word inside a longer entity hit is part of that word, as a main hit nested in
        a longer one is: 行情 in 执行情况, 法案 in 违法案件, 算力 in 云算力, 批准 in 批准逮捕.
        """
        found: set[str] = set()
        if self._lead_automaton is None or not lead:
            return found
        size = len(lead)
        spans = [(s, e) for s, e, _ in hits if s < size]
        for index, start, end in self._lead_automaton.find(lead):
            if any(s <= start and end <= e and e - s > end - start for s, e in spans):
                continue
            for key in self._lead_terms[index]:
                found.update(self._expand[key])
        return found

    def compile(
        self, query: str, *, bare_words_are_phrases: bool = False, max_length: int = 1000
    ) -> Rule:
        """Compile a rule or subscriber query in this matcher's normal form."""
        return compile_rule(
            query,
            self._names,
            fold=fold,
            bare_words_are_phrases=bare_words_are_phrases,
            max_length=max_length,
        )

    def _scan(self, text: str) -> _FieldScan:
        """Fold, run the C index (or the automaton and the acronyms), keep the hits that
        pass their checks.

        Both report hits in order of their end. A hit that starts
        before the previous one ended (an overlap, or any disorder) sends the
        hits through the longest-wins pass; without one they are already
        sorted and disjoint, and the pass is skipped.
        """
        folded = fold_with_offsets(text)
        entity_hits: list[_Span] = []
        phrase_hits: list[tuple[int, int, str]] = []
        if not text:
            return _FieldScan(folded, entity_hits, phrase_hits)
        haystack = folded.text
        if self._native is not None:  # the acronyms too, as one automaton of all would
            entity_hits, phrase_hits, exact_spans, tangled = self._native.scan(
                haystack, self._terms, text, folded.offsets, _nfkc
            )
            if tangled:
                inner, outer = self._nesting
                assert native.resolve_overlaps is not None  # built with the Index
                entity_hits = native.resolve_overlaps(entity_hits, exact_spans, inner, outer)
            return _FieldScan(folded, entity_hits, phrase_hits)
        acronym_hits = self._acronyms.find(text, folded)
        if self._automaton is not None:
            raw = self._automaton.find_matches_as_indexes(haystack, _OVERLAPPING)
            entity_hits, phrase_hits, exact_spans, tangled = _scan_hits(
                haystack, raw, self._main_terms, text, folded.offsets, _nfkc
            )
        else:
            if acronym_hits:
                return _FieldScan(folded, _merge(entity_hits, acronym_hits, False), phrase_hits)
            return _FieldScan(folded, entity_hits, phrase_hits)
        if acronym_hits:
            for start, end, key in acronym_hits:
                exact_spans.setdefault((start, end), set()).add(key)
            entity_hits = _merge(entity_hits, acronym_hits, tangled)
            tangled = tangled or _overlapping(entity_hits)
        if tangled:  # the reference
            entity_hits = _resolve_overlaps(entity_hits, exact_spans, self._nesting)
        return _FieldScan(folded, entity_hits, phrase_hits)

    def find(self, text: str, field: str = "text") -> list[Hit]:
        """Entity hits in `text` (reported and signal), offsets into the original."""
        scan = self._scan(text)
        return [
            self._hit(text, scan, start, end, key, field) for start, end, key in scan.entity_hits
        ]

    @staticmethod
    def _hit(text: str, scan: _FieldScan, start: int, end: int, key: str, field: str) -> Hit:
        o_start, o_end = scan.folded.original(start), scan.folded.original(end)
        return Hit(key, field, o_start, o_end, text[o_start:o_end])

    def evidence(self, story: Story) -> tuple[_Evidence, list[Hit]]:
        """Scan every field of a story; the hits of reported entities come back too."""
        evidence, reported, _, _ = self._evidence(story)
        return evidence, reported

    def _evidence(
        self, story: Story
    ) -> tuple[_Evidence, list[Hit], dict[str, str], dict[str, Hit]]:
        """`evidence`, plus each reported entity's first field and each field's first hit.

        FIELDS run from the heaviest field down, so an entity's first hit has its
        best weight; a field's first hit is where its snippet goes.
        """
        evidence = _Evidence(self._names_of)
        first_field: dict[str, str] = {}
        first_hit: dict[str, Hit] = {}
        names = evidence._known
        reported: list[Hit] = []
        found: set[str] = set()
        lead_fields = 1  # the title, or the first sentence when there is no title
        opening: tuple[_FieldScan, int] | None = None  # the text's first sentence under a title
        # Where the `opening:` names are read: that sentence, or with no title the sentence
        # after the lead (a third of real stories come with no title: the lead is then the
        # text's first sentence, and the next one says what a headline's opening would)
        opening_span: tuple[_FieldScan, int, int] | None = None
        # the field the lead is in, where it starts (past a byline) and where it ends
        lead: tuple[_FieldScan, int, int] | None = None
        hit_info, counted = self._hit_info, evidence.counted
        lead_expand = self._lead_expand
        markers, marker_acts = self._markers, self._marker_acts
        plain_hit, fill = _PLAIN_HIT, _FILL
        for name in FIELDS:
            text = getattr(story, name)
            if not text:
                continue
            scan = self._scan(text)
            if name != "title" and scan.entity_hits:
                self._drop_dateline(scan)
            evidence.scans[name] = scan
            offsets = scan.folded.offsets
            lead_fields -= 1
            lead_end = self._lead_end(scan, whole=name == "title") if lead_fields >= 0 else -1
            opening_end = -1
            lead_start = 0
            if lead_fields == -1 and "title" in evidence.scans:  # the text under a title
                opening_end = self._lead_end(scan, whole=False)
                opening = scan, opening_end
                opening_span = scan, 0, opening_end
            elif lead_fields == 0 and name != "title" and lead_end > 0:  # no title
                lead_start, lead_end = self._past_empty_sentences(scan, lead_end)
                opening_end = _next_sentence_end(scan.folded.text, lead_end)
                if self._sets_the_scene(scan, lead_end, opening_end):
                    # a first sentence of scene or byline before the act: both are the lead
                    lead_end = opening_end
                    opening_end = _next_sentence_end(scan.folded.text, lead_end)
                opening_span = scan, lead_end, opening_end
            field_hits = len(reported)
            if lead_end > 0:
                lead = scan, lead_start, lead_end
                lead_words = self._lead_names(scan.folded.text[:lead_end], scan.entity_hits)
                names.update(lead_words)
                names.update([LEAD + n for n in lead_words])
            folded_text = scan.folded.text
            background: list[tuple[int, int, int]] | None = None  # worked out at the first action
            fled_to: list[tuple[int, int, str]] = []  # foreign names that are no actor's place
            place_end = -1_000  # folded end of the last foreign or Hong Kong name
            foreign = False  # is that name foreign (not Hong Kong)?
            police_end = -1_000  # folded end of the last generic police word
            aside_end = -1_000  # folded end of the last action set aside as background
            in_text = name != "title"  # BACKGROUND_TEXT markers govern here
            in_lead: set[str] = set()
            in_opening: set[str] = set()
            set_aside = False  # did a background marker set aside an action of the lead?
            for start, end, key in scan.entity_hits:
                role, shown = hit_info[key]
                if role is None:  # most hits: nothing to weigh
                    found.add(key)
                else:
                    if role is _Role.ACTION:
                        if background is None:
                            background = self._background(scan)
                        counts = not (
                            (background and self._in_background(folded_text, background, start))
                            # the act coordinated with a background one is background too
                            # ("when Beijing banned ICOs and ordered exchanges to close")
                            or (
                                start - aside_end <= _BACKGROUND_CHARS
                                and _close(folded_text, aside_end, start, BACKGROUND_TOKENS)
                            )
                        )
                        if not counts:
                            aside_end = end
                        elif in_text and self._text_markers is not None:
                            reach = self._after_text_marker(folded_text, start)
                            if reach:
                                counts = False  # a relative clause's act leads no chain
                                if reach != RELATIVE_TOKENS:
                                    aside_end = end
                    elif role is _Role.REGULATOR:  # not right after a foreign name (印度最高法院)
                        counts = not (
                            foreign
                            and start - place_end < 16
                            and _close(folded_text, place_end, start, 2)
                        )
                    elif role is _Role.FOREIGN:  # not where a suspect fled to (潜逃泰国)
                        counts = not self._fled_to(folded_text, start, end)
                        if not counts:
                            fled_to.append((start, end, key))
                    else:
                        counts = True
                    if counts:
                        found.add(key)
                        counted.append(key)
                    if role is _Role.PLACE or (role is _Role.FOREIGN and counts):
                        place_end, foreign = end, role is _Role.FOREIGN
                        if start - police_end < 16 and _close(folded_text, police_end, start, 2):
                            evidence.police_elsewhere = True  # "police in Seoul"
                    elif role is _Role.POLICE:
                        police_end = end
                        if start - place_end < 16 and _close(folded_text, place_end, start, 2):
                            evidence.police_elsewhere = True  # "Thai police", 香港 警方
                # The lead's evidence is what its main clause says: an action the lead
                # names only as background ("ahead of China's crackdown") is not its event.
                if start < lead_end:
                    if role is None or counts:
                        in_lead.add(key)
                        if key in markers and folded_text[start:end] in marker_acts:
                            set_aside = True  # "after the arrests": the marker holds the act
                    elif role is _Role.ACTION:
                        set_aside = True
                elif start < opening_end and (role is None or counts):
                    in_opening.add(key)
                if shown:
                    if offsets is not None:
                        start, end = offsets[start], offsets[end]
                    term = text[start:end]
                    for shown_key in shown:
                        if fill is not None:  # Hit(...) without its calls (see _FILL)
                            hit = fill(Hit, _HIT_FIELDS, shown_key, name, start, end, term)
                        elif plain_hit:  # Hit(...) at half the cost (see _PLAIN_HIT)
                            hit = object.__new__(Hit)
                            state: dict[str, object] = hit.__dict__
                            state["entity"] = shown_key
                            state["field"] = name
                            state["start"] = start
                            state["end"] = end
                            state["term"] = term
                        else:
                            hit = Hit(shown_key, name, start, end, term)
                        reported.append(hit)
                        if shown_key not in first_field:
                            first_field[shown_key] = name
            if len(reported) > field_hits:
                first_hit[name] = reported[field_hits]
            if fled_to:  # nor a place for NEAR ("suspect from Cambodia" is no Cambodian act)
                scan.entity_hits = [hit for hit in scan.entity_hits if hit not in fled_to]
            # A marker is the lead's frame only when it set an action of the lead aside
            # ("despite Beijing's ban"); one that governs none ("crypto used to dodge
            # capital controls") says nothing about the lead's event.
            if not set_aside:
                in_lead -= self._markers
            for key in in_lead:
                names.update(lead_expand[key])
            for key in in_opening - self._markers:
                names.update(self._opening_expand[key])
            for _, _, phrase in scan.phrase_hits:
                evidence.phrases.add(phrase)
        names |= evidence.phrases
        expand = self._expand
        for key in found:
            names.update(expand[key])
        if opening_span is not None and "action" in names:  # only a story with an act needs it
            scan, opening_start, opening_end = opening_span
            hits = scan.entity_hits
            if opening_start:  # the sentence's own hits, from its start
                hits = [
                    (a - opening_start, b - opening_start, k)
                    for a, b, k in hits
                    if a >= opening_start
                ]
            opening_text = scan.folded.text[opening_start:opening_end]
            opening_words = self._lead_names(opening_text, hits)
            names.update([OPENING + n for n in opening_words])
        if lead is not None and not names.isdisjoint(GENRE_ACTS):  # read when asked for
            evidence._genre = _GenreLater(self, lead, opening, names)
        return evidence, reported, first_field, first_hit

    def _genre_names(
        self,
        lead: tuple[_FieldScan, int, int],
        opening: tuple[_FieldScan, int] | None,
        names: set[str],
    ) -> set[str]:
        """The `genre:` names (crawler/genre.py) of a story with an act: its headline
        (the lead) read with the text under it, the opening's field or the lead's own."""
        scan, lead_start, lead_end = lead
        text = scan.folded.text
        if opening is not None:
            follow = opening[0].folded.text[:GENRE_FOLLOW_CHARS]
        else:
            follow = text[lead_end : lead_end + GENRE_FOLLOW_CHARS]
        # A look-back word is no commentary in a lead that tells an official punished: there
        # "former" (原局长) is the title of the man expelled (某局原局长违规炒币被开除党籍).
        # Nor is an analyst's word under a headline that tells an official acting ("China's
        # central bank orders payment firms to block crypto transactions" / "Analysts said
        # the move could push trading offshore"): wires add the reaction to the news.
        commentary = (
            LEAD + "retrospective" in names
            or (OPENING + "retrospective" in names and not _official_acts(names))
        ) and LEAD + "party-discipline" not in names
        warning = LEAD + "warn" in names or OPENING + "warn" in names
        attributed = self._attributed(scan, lead_end)
        headline = text[lead_start:lead_end]
        return self._genre.names(headline, follow, commentary, warning, attributed)

    def _attributed(self, scan: _FieldScan, lead_end: int) -> bool:
        """Does the headline give its news to an actor named right before a colon (闲鱼：已全部
        下架, 公安部：严打, 县金融办：)? A report's attribution, whatever question opens it."""
        text = scan.folded.text
        for _, end, key in scan.entity_hits:
            if end >= lead_end:
                continue
            if text[end] == ":" and not self._names_of[key].isdisjoint(ACTOR_CATEGORIES):
                return True
        return False

    def _drop_dateline(self, scan: _FieldScan) -> None:
        """Drop the place hits of a wire's dateline at the head of a text (_DATELINE).

        The regex runs only on a text with a place hit in its head that holds a dateline's
        mark (a bracket, a dash, 电 or 讯): a few `in` tests on DATELINE_CHARS for the rest.
        """
        names_of, head = self._names_of, scan.folded.text[:DATELINE_CHARS]
        for start, _, key in scan.entity_hits:
            if start >= DATELINE_CHARS:
                return
            if not names_of[key].isdisjoint(DATELINE_PLACES):
                break
        else:
            return
        if not any(mark in head for mark in DATELINE_MARKS):
            return
        dateline = _DATELINE.match(head)
        if dateline is None:
            return
        end = dateline.end()
        scan.entity_hits = [
            hit
            for hit in scan.entity_hits
            if hit[0] >= end or names_of[hit[2]].isdisjoint(DATELINE_PLACES)
        ]

    def _past_empty_sentences(self, scan: _FieldScan, lead_end: int) -> tuple[int, int]:
        """The start and end of an untitled story's first sentence that names anything we
        read (the genre reads its headline from that start).

        A byline, a photo credit or a page's chrome ("By Staff Reporter.", "Listen to this
        article.", 图片来源：网络。) ended by a stop is no lead: the story proper starts after
        it. Up to EMPTY_SENTENCES such sentences are read past; each costs a look at the
        first hit and the lead-only words of at most LEAD_CHARS.
        """
        text, hits = scan.folded.text, scan.entity_hits
        first_hit = hits[0][0] if hits else len(text)
        lead_start = 0
        for _ in range(EMPTY_SENTENCES):
            if first_hit < lead_end or lead_end >= len(text) or self._lead_names(text[:lead_end]):
                break
            lead_start = lead_end
            lead_end = _next_sentence_end(text, lead_end)
        return lead_start, lead_end

    def _sets_the_scene(self, scan: _FieldScan, lead_end: int, next_end: int) -> bool:
        """Is an untitled story's first sentence scene-setting (no act, and of the lead-only
        words only market talk) before a second in which an actor acts, named before its act?

        Outlets open a lead with "Bitcoin prices swung all week." or 比特币价格近期大幅波动。
        and tell the act next; a headline would have named the act. A second sentence that
        still talks of the market, looks back or frames its act with a background marker
        ("the crackdown was the catalyst for the sell-off") explains the first: no lead.
        Costs a walk over the hits of two sentences and, for such a pair, the lead-only
        words of the second (at most LEAD_CHARS): no scan of the whole text.
        """
        hit_info, names_of, markers = self._hit_info, self._names_of, self._markers
        act = actor = False
        own: list[_Span] = []  # the second sentence's hits, from its start
        first: list[_Span] = []  # the first sentence's
        for start, end, key in scan.entity_hits:
            if start >= next_end:
                break
            acts = hit_info[key][0] is _Role.ACTION
            if start < lead_end:
                if acts:
                    return False
                first.append((start, end, key))
                continue
            if key in markers or (acts and not actor):  # the act before its actor: a
                return False  # topic ("the crackdown was the catalyst"), not a subject's act
            act = act or acts
            actor = actor or not names_of[key].isdisjoint(SCENE_ACTORS)
            own.append((start - lead_end, end - lead_end, key))
        if not (act and actor):
            return False
        # a first sentence of rules, licences or a suit is that story's own lead, no scene
        if not self._lead_names(scan.folded.text[:lead_end], first) <= SCENE_FIRST:
            return False
        sentence = scan.folded.text[lead_end:next_end]
        if _BARE_YEAR.search(sentence):  # "banned mining in 2021", 在2021年……禁止: history
            return False
        return self._lead_names(sentence, own).isdisjoint(SCENE_TALK)

    @staticmethod
    def _lead_end(scan: _FieldScan, *, whole: bool) -> int:
        """Where the lead ends in its field: all of a title, else the first sentence."""
        text = scan.folded.text
        if whole:
            return len(text)
        return _first_sentence_end(text, LEAD_CHARS)

    def _background(self, scan: _FieldScan) -> list[tuple[int, int, int]]:
        """Background markers in a field, (start, end, which actions they govern), by start."""
        markers, text = self._markers, scan.folded.text
        return sorted(
            [
                (
                    start,
                    end,
                    _MARKER_GOVERNS.get(key, _BEFORE if text[start].isascii() else _BOTH),
                )
                for start, end, key in scan.entity_hits
                if key in markers
            ]
        )

    @staticmethod
    def _text_marker_words(
        watchlist: Watchlist,
    ) -> tuple[_Words | None, list[int]]:
        """The BACKGROUND_TEXT markers (searched before a text's actions), and each
        pattern's reach in tokens."""
        reach: dict[str, int] = {}
        for entity in watchlist.entities:
            if entity.category == BACKGROUND_TEXT:
                tokens = RELATIVE_TOKENS if entity.key == RELATIVE else BACKGROUND_TOKENS
                for alias in entity.aliases:
                    if folded := fold(alias).strip():
                        reach[folded] = max(reach.get(folded, 0), tokens)
        if not reach:
            return None, []
        words = sorted(reach)
        return _Words(words), [reach[w] for w in words]

    def _after_text_marker(self, text: str, action_start: int) -> int:
        """The reach of the BACKGROUND_TEXT marker that an action of the text is right after
        ("after Beijing banned", "which closed"), within that reach and one clause; else 0.

        The nearest marker before the action (the latest end, then the longest reach) is
        looked for in the stretch that can hold one that close, not in the whole text.
        """
        markers = self._text_markers
        if markers is None:
            return 0
        lo = max(0, action_start - _BACKGROUND_CHARS - markers.longest)
        found = markers.find(text, lo, action_start)
        if not found:
            return 0
        reaches = self._text_reach
        end, reach = max([(end, reaches[index]) for index, _, end in found])
        if action_start - end > _BACKGROUND_CHARS or not _close(text, end, action_start, reach):
            return 0
        return reach

    @staticmethod
    def _flight_words(
        watchlist: Watchlist,
    ) -> tuple[_Words | None, list[bool], ahocorasick_rs.AhoCorasick | None]:
        """The flight markers (and which need a return word), and an automaton for the
        return words."""

        def words(*categories: str) -> list[str]:
            found = {
                fold(a).strip()
                for e in watchlist.entities
                if e.category in categories
                for a in e.aliases
            }
            found.discard("")
            return sorted(found)

        def automaton(patterns: list[str]) -> ahocorasick_rs.AhoCorasick | None:
            if not patterns:
                return None
            return ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.Standard)

        markers = words(FLIGHT, FLIGHT_FROM)
        needs_return = set(words(FLIGHT_FROM)) - set(words(FLIGHT))
        return (
            _Words(markers) if markers else None,
            [m in needs_return for m in markers],
            automaton(words(FLIGHT_RETURN)),
        )

    def _fled_to(self, text: str, place_start: int, place_end: int) -> bool:
        """Is a foreign place where someone fled, hid or came from ("fled to Dubai", 潜逃泰国)?"""
        if self._flight is None:
            return False
        offset = max(0, place_start - _FLIGHT_CHARS)
        window = text[offset:place_start]
        last, needs_return = -1, False
        for index, _, end in self._flight.find(window):  # whole words (not "therefrom")
            if end > last:
                last, needs_return = end, self._flight_from[index]
        if last < 0 or not _close(text, offset + last, place_start, FLIGHT_TOKENS):
            return False
        if not needs_return:
            return True
        after = text[place_end : place_end + _RETURN_CHARS]
        return self._flight_return is not None and bool(
            self._flight_return.find_matches_as_indexes(after)
        )

    @staticmethod
    def _in_background(text: str, markers: list[tuple[int, int, int]], action_start: int) -> bool:
        """Is an action hit context ("despite Beijing's ban", 自2021年禁令以来)?

        The nearest marker before an action governs it if the gap is short and
        has no clause break; a Chinese marker (以来, 此前) also governs the
        action just before it, an after-marker ("crackdown fears") only that, and a
        frame's closing word (在……的背景下) all of the clause before it.
        """
        index = bisect.bisect_right(markers, (action_start, action_start))
        before = index - 1
        if before >= 0 and markers[before][2] in (_AFTER, _FRAME):
            before -= 1  # "fears ... since the ban": the after-marker governs nothing here
        if before >= 0:
            _, end, _ = markers[before]
            if action_start - end <= _BACKGROUND_CHARS and _close(
                text, end, action_start, BACKGROUND_TOKENS
            ):
                return True
        if index < len(markers):
            start, _, governs = markers[index]
            if governs != _BEFORE and start - action_start <= _BACKGROUND_CHARS:
                reach = (
                    BACKGROUND_TOKENS
                    if governs == _BOTH
                    else FRAME_TOKENS
                    if governs == _FRAME
                    else AFTER_TOKENS
                )
                if _close(text, action_start, start, reach):
                    return True
        return False

    def _elsewhere(self, evidence: _Evidence) -> frozenset[str]:
        """Reported keys that only mean mainland China but were used of another place.

        Generic police words (police, 警方) are the label's `mps` only for mainland
        police: not when a Hong Kong or foreign name qualifies them ("Thai police",
        "police in Seoul"), nor in a story that names Hong Kong or a foreign place
        and no Chinese one.
        """
        key, names = MAINLAND_POLICE, evidence._known  # no genre name is asked here
        if key not in names:
            return frozenset()
        if evidence.police_elsewhere:
            return frozenset({key})
        if ("foreign" in names or HONG_KONG in names) and not self._names_mainland(evidence):
            return frozenset({key})
        return frozenset()

    @staticmethod
    def _names_mainland(evidence: _Evidence) -> bool:
        """Does the story name the mainland itself? (The `china` category also holds for
        Hong Kong; every `china` name implies `mainland`, Hong Kong's do not.)"""
        return MAINLAND in evidence._known

    def match(
        self, story: Story, queries: Mapping[str, Rule] | QueryIndex | None = None
    ) -> MatchResult:
        """Entities, phrases and topics of a story, with a score and snippets.

        `queries` (subscribers' /watch queries, compiled by this matcher) are
        evaluated on the same scan; their phrases must be in this matcher. A
        `QueryIndex` runs only the queries whose necessary names are present.
        """
        return self.match_with_evidence(story, queries)[0]

    def match_with_evidence(
        self, story: Story, queries: Mapping[str, Rule] | QueryIndex | None = None
    ) -> tuple[MatchResult, _Evidence]:
        """`match`, and the evidence it decided on: a layer after the rule (the learned veto,
        crawler/learned.py) reads it instead of scanning the story again."""
        evidence, hits, first_field, first_hit = self._evidence(story)
        counted, act = evidence.counted, self._act
        elsewhere = self._elsewhere(evidence)
        result = _match_result(
            {
                "entities": tuple([k for k in first_field if k not in elsewhere]),
                "topics": tuple([key for key, test in self._topic_tests if test.holds(evidence)]),
                "hits": tuple(hits),
                "score": _score(first_field),
                "signals": tuple(sorted(evidence._known & self._entity_keys)),  # no genre
                "phrases": tuple(sorted([key[1:-1] for key in evidence.phrases])),
                "snippets": tuple(self._snippets(story, first_hit)),
                "queries": tuple(self._holding(queries, evidence)),
                "actions": tuple(dict.fromkeys([act[k] for k in counted if k in act])),
                "actors": tuple(dict.fromkeys([k for k in counted if k in self._actor_keys])),
            }
        )
        return result, evidence

    @staticmethod
    def _holding(queries: Mapping[str, Rule] | QueryIndex | None, evidence: _Evidence) -> list[str]:
        if queries is None:
            return []
        if isinstance(queries, QueryIndex):  # the `genre:` names only if a query is keyed on one
            keyed = queries.keyed_on_any(GENRE_NAMES)
            return queries.holding(evidence, evidence.names if keyed else evidence._known)
        return [key for key, rule in queries.items() if rule(evidence)]

    def topic_rule(self, key: str) -> Rule | None:
        """The compiled rule of topic `key` (None if there is none): what `match` decides by."""
        for topic, rule in self._topics:
            if topic == key:
                return rule
        return None

    def surface_forms(self, name: str) -> frozenset[str]:
        """The folded strings whose presence can make `name` true (an index's terms).

        `name` is an entity key, a category or a quoted phrase key; an entity
        counts with every entity that implies it, a category with all of its
        entities.
        """
        if self._forms is None:
            forms: dict[str, set[str]] = defaultdict(set)
            for pattern, term in zip(self._patterns, self._terms, strict=True):
                _, _, _, _, term_keys, exacts, phrases = term
                keys = (*term_keys, *(key for key, _ in exacts))
                for key in keys:
                    for implied in self._expand[key]:
                        forms[implied].add(pattern)
                for phrase in phrases:
                    forms[phrase].add(pattern)
            self._forms = {key: frozenset(value) for key, value in forms.items()}
        return self._forms.get(name, frozenset())

    def matches(self, rule: Rule, story: Story) -> bool:
        """Does a compiled query (e.g. a subscriber's /watch) hold for this story?"""
        missing = rule.phrases - self.phrases
        if missing:
            raise ValueError(f"phrases not in this matcher: {sorted(missing)}")
        return rule(self.evidence(story)[0])

    @staticmethod
    def _snippets(story: Story, first_hit: dict[str, Hit]) -> list[Snippet]:
        """One snippet per text field (summary, body) around its first reported hit."""
        snippets = []
        for name in ("summary", "body"):
            first = first_hit.get(name)
            if first is not None:
                snippets.append(_snippet(getattr(story, name), first.start, first.end, name))
        return snippets
