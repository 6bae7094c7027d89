"""The C scan (crawler/_native.c) finds exactly what the automaton and the Python loop find.

Two matchers over the same watchlist and phrases, one built with crawler.native.Index and
one without it (the ahocorasick_rs automaton and crawler.matcher._scan_hits, the
reference), must return the same folded text, entity hits (in order) and phrase hits for
every text: the probe files, the labelled corpora when present, a slice of the bench's
corpus, hand-made hard cases (combining marks, full-width, astral characters, mixed
scripts, folding that changes lengths) and random mixtures of the patterns themselves.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import pickle
import random
import re
import string
import sys
import tracemalloc
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import ahocorasick_rs
import pytest

import crawler.native
from bench.filter import MB, SEED, make_corpus, make_phrases
from bench.fingerprint import CORPORA, CORPUS_DIR
from crawler.fold import (
    _case_fold,
    _fast_sets,
    _stable,
    _t2s,
    _traditional_chars,
    fold,
    fold_with_offsets,
)
from crawler.fold import _nfkc as _nfkc_fold
from crawler.genre import GenreReader
from crawler.inflect import alias_forms
from crawler.matcher import (
    _HIT_FIELDS,
    Matcher,
    _is_word_char,
    _Nesting,
    _nfkc,
    _Pattern,
    _resolve_overlaps,
    _scan_hits,
    _Words,
)
from crawler.snippets import Snippet
from crawler.types import Hit
from crawler.watchlist import builtin_watchlist

DATA = Path(__file__).resolve().parents[1] / "data"

pytestmark = pytest.mark.skipif(
    crawler.native.Index is None, reason="the C scan is not built here (crawler/native.py)"
)

HARD_CASES = [
    "",
    "a",
    "中",
    "OTC",
    "otc",
    "ＯＴＣ交易被叫停",
    "Ｂｉｎａｎｃｅ halts ＯＴＣ in China",
    "在OTC市场交易USDT，币安Binance.US暂停",
    "binancebinance binance binance's #binance binance.",
    "Bitcoin\u0301 bitcoin\u0301s cafe\u0301 Bitcoin",  # combining marks after a pattern
    "e\u0301e\u0301 比\u0301特币 BTC\u20dd",
    "𝐁𝐢𝐭𝐜𝐨𝐢𝐧 𝔹𝕚𝕥𝕔𝕠𝕚𝕟 🚫 bitcoin 🚫比特币🚫 𠀀𠀁 crypto",  # astral, NFKC-folded
    "ﬁnancial ﬁrms: Straße, STRASSE, İstanbul police, ǅ, ß→ss, ﬀ",  # folding changes lengths
    "中國人民銀行與證監會聯合打擊虛擬貨幣交易炒作",
    "國民警衞 香港警務處 澳門司法警察局 臺灣",
    "China's SEC-like regulator; the U.S. SEC; Sec. 3; SEC.",
    "ED ED's EDs U.S. US us US-China",
    # acronyms in the C walk: ASCII originals compared in C, others through NFKC
    "ＵＳ ＥＤ Ｕｓ ｕｓ SEC ＳＥＣ Sec sec 美国SEC监管 US的 TRON Tron ＴＲＯＮ ED́ US⃝",
    "\u3000比特币\u3000ＢＴＣ\u3000",
    "trailing pattern at the very end: bitcoin",
    "bitcoin at the start",
    "a" * 300 + " bitcoin " + "b" * 300,
    "\x00bitcoin\x00比特币\ufffd",
    "比特币比特币比特币",
    "binance-backed, anti-money-laundering, pre-ban, post-ban",
]


@pytest.fixture(scope="module")
def matchers() -> tuple[Matcher, Matcher]:
    watchlist = builtin_watchlist()
    phrases = make_phrases(10_000, random.Random(SEED))
    native = Matcher(watchlist, phrases)
    index, crawler.native.Index = crawler.native.Index, None
    try:
        reference = Matcher(watchlist, phrases)
    finally:
        crawler.native.Index = index
    assert native._native is not None and reference._native is None
    return native, reference


def _fields(path: Path) -> Iterator[str]:
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            yield from (str(v) for k, v in item.items() if k in ("title", "text", "summary"))


def _assert_same(matchers: tuple[Matcher, Matcher], texts: list[str]) -> None:
    native, reference = matchers
    for text in texts:
        got, want = native._scan(text), reference._scan(text)
        assert got.folded.text == want.folded.text
        assert (got.entity_hits, got.phrase_hits) == (want.entity_hits, want.phrase_hits), text


def test_the_c_scan_equals_the_automaton_on_probes_and_corpora(
    matchers: tuple[Matcher, Matcher],
) -> None:
    paths = sorted(DATA.glob("*.jsonl")) + [
        CORPUS_DIR / name for name in CORPORA if (CORPUS_DIR / name).is_file()
    ]
    texts = [text for path in paths for text in _fields(path)]
    assert len(texts) > 1000
    _assert_same(matchers, texts)


def test_the_c_scan_equals_the_automaton_on_the_bench_corpus(
    matchers: tuple[Matcher, Matcher],
) -> None:
    rng = random.Random(SEED)
    phrases = make_phrases(10_000, rng)
    stories, _ = make_corpus(int(0.3 * MB), builtin_watchlist(), phrases, rng)
    _assert_same(matchers, [text for s in stories for text in (s.title, s.summary)])


def test_the_c_scan_equals_the_automaton_on_hard_cases(matchers: tuple[Matcher, Matcher]) -> None:
    _assert_same(matchers, HARD_CASES)


def test_the_c_scan_equals_the_automaton_on_random_mixtures(
    matchers: tuple[Matcher, Matcher],
) -> None:
    """Patterns glued to each other, to words, digits, CJK and punctuation, in every case
    and width: boundaries, overlaps and nesting in every combination."""
    native, _ = matchers
    rng = random.Random(11)
    patterns = native._patterns
    glue = [" ", "", "", "-", ".", "'", "，", "的", "a", "7", "\u0301", "𝐚", "\u3000", "\n"]
    wide = {c: chr(ord(c) + 0xFEE0) for c in string.ascii_letters + string.digits}

    def variant(pattern: str) -> str:
        roll = rng.random()
        if roll < 0.2:
            return pattern.upper()
        if roll < 0.3:
            return "".join(wide.get(c, c) for c in pattern)
        if roll < 0.4 and len(pattern) > 2:
            cut = rng.randrange(1, len(pattern) - 1)
            return pattern[:cut]  # a near miss
        return pattern

    texts = []
    for _ in range(3000):
        pieces = []
        for _ in range(rng.randrange(1, 8)):
            pieces.append(variant(rng.choice(patterns)))
            pieces.append(rng.choice(glue))
        texts.append("".join(pieces))
    _assert_same(matchers, texts)


def test_a_stale_extension_is_refused(tmp_path: Path) -> None:
    """Built from another _native.c (an edit, a merge): the Python scan runs instead."""
    module = crawler.native.load()
    assert module is not None
    source = tmp_path / "_native.c"
    source.write_text("/* another version */\n")
    assert not crawler.native.is_fresh(module, source)
    assert crawler.native.is_fresh(module, crawler.native.SOURCE)
    assert crawler.native.is_fresh(module, tmp_path / "absent.c")  # a wheel ships no source


def test_the_index_equals_the_automaton_on_a_small_alphabet() -> None:
    """Random patterns over a few characters (one-character ones too, digits, CJK, an astral
    character, punctuation) in random texts of them: overlaps and nesting everywhere."""
    rng = random.Random(5)
    alphabet = "ab1 中国币.-𝐚"
    patterns = list(
        dict.fromkeys(
            word
            for word in (
                "".join(rng.choices(alphabet, k=rng.randrange(1, 6))).strip() for _ in range(400)
            )
            if word
        )
    )
    terms = [
        _Pattern(
            _is_word_char(p[0]),
            _is_word_char(p[-1]),
            f'"{p}"' if i % 3 == 0 else None,
            None if i % 3 == 0 else f"k{i}",
            (),
            (),
            (),
        )
        for i, p in enumerate(patterns)
    ]
    assert crawler.native.Index is not None
    index = crawler.native.Index(patterns)
    automaton = ahocorasick_rs.AhoCorasick(patterns, matchkind=ahocorasick_rs.MatchKind.Standard)
    for _ in range(2000):
        text = "".join(rng.choices(alphabet, k=rng.randrange(0, 40)))
        raw = automaton.find_matches_as_indexes(text, True)
        want = _scan_hits(text, raw, terms, text, None, _nfkc)
        assert index.scan(text, terms, text, None, _nfkc) == want, text


def test_narrowing_then_nfkc_is_nfkc() -> None:
    """crawler.fold._nfkc narrows full-width ASCII in C first: NFKC all the same."""
    assert crawler.native.narrow is not None
    rng = random.Random(3)
    pool = [*HARD_CASES, "ＡＢＣ\u0301ｄ\u3000", "，：（）；！？　％＋－／。", "Ａ\u030a ｶﾞ ㍿ ①"]
    pool += [
        "".join(rng.choices("ＡａＺ０９！～\u3000\u0301\u0308ǅßﬁ中國a .𝐚", k=12))
        for _ in range(3000)
    ]
    for text in pool:
        assert _nfkc_fold(text) == unicodedata.normalize("NFKC", text), text
        narrowed = crawler.native.narrow(text)
        assert unicodedata.normalize("NFKC", narrowed) == unicodedata.normalize("NFKC", text)


def test_a_charset_finds_what_the_character_class_finds() -> None:
    assert crawler.native.CharSet is not None
    chars = _traditional_chars() or ""
    finder = crawler.native.CharSet(chars + "𠀀")
    pattern = re.compile(f"[{re.escape(chars + '𠀀')}]")
    rng = random.Random(9)
    pool = list(chars[:50]) + list("中国银行比特币 ,.a𠀀𠀁")
    for _ in range(2000):
        text = "".join(rng.choices(pool, k=rng.randrange(0, 20)))
        start = rng.randrange(0, len(text) + 2)
        found = pattern.search(text, start)
        assert finder.find(text, start) == (-1 if found is None else found.start()), text


def _word_sets(matcher: Matcher) -> dict[str, list[str]]:
    """The pattern lists of the matcher's small searches (lead words, text markers, flight
    words), as _Words gets them."""
    watchlist = matcher.watchlist
    lead = sorted(
        {
            p
            for e in watchlist.entities
            if e.category in ("market", "rulemaking")
            for a in (*e.aliases, *e.acronyms)
            for p in alias_forms(fold(a).strip())  # with their inflected forms, as built
            if p
        }
    )

    def category(*names: str) -> list[str]:
        found = {
            fold(a).strip() for e in watchlist.entities if e.category in names for a in e.aliases
        }
        found.discard("")
        return sorted(found)

    return {
        "lead": lead,
        "text": category("backgroundtext"),
        "flight": category("flight", "flightfrom"),
        "genre": category("genre"),
    }


def _assert_same_words(patterns: list[str], texts: list[str]) -> None:
    """Index.find equals the automaton on whole texts and on stretches of them (whose hits
    are the whole text's that fit in the stretch)."""
    native, reference = _Words(patterns), _Words(patterns, use_native=False)
    assert native._index is not None and reference._index is None
    rng = random.Random(len(texts))
    for text in texts:
        whole = native.find(text)
        assert whole == reference.find(text), text
        lo, hi = sorted([rng.randrange(0, len(text) + 1), rng.randrange(0, len(text) + 1)])
        stretch = [(i, s, e) for i, s, e in whole if lo <= s and e <= hi]
        assert native.find(text, lo, hi) == stretch == reference.find(text, lo, hi), (text, lo)


def test_index_find_equals_the_automaton_for_the_small_searches(
    matchers: tuple[Matcher, Matcher],
) -> None:
    """Lead words, text markers, flight and genre words: Index.find gives what the
    automaton and the boundary checks gave, in the same order, on real and hard texts and
    on the patterns glued to each other and to words."""
    native, _ = matchers
    paths = sorted(DATA.glob("*.jsonl")) + [
        CORPUS_DIR / name for name in CORPORA if (CORPUS_DIR / name).is_file()
    ]
    texts = [fold(text) for path in paths for text in _fields(path)]
    texts += [fold(text) for text in HARD_CASES] + HARD_CASES
    rng = random.Random(17)
    glue = [" ", "", "-", ".", "'", ",", "的", "a", "7", "\u0301", "𝐚", "\n", "x "]
    sets = _word_sets(native)
    assert all(sets.values()), sets
    for patterns in sets.values():
        mixtures = [
            "".join(rng.choice(patterns) + rng.choice(glue) for _ in range(rng.randrange(1, 8)))
            for _ in range(1500)
        ]
        _assert_same_words(patterns, texts + mixtures)


def test_index_find_equals_the_automaton_on_a_small_alphabet() -> None:
    rng = random.Random(23)
    alphabet = "ab1 中国币.-𝐚\u0301"
    for _ in range(20):
        patterns = list(
            dict.fromkeys(
                w
                for w in ("".join(rng.choices(alphabet, k=rng.randrange(1, 5))) for _ in range(30))
                if w
            )
        )
        texts = ["".join(rng.choices(alphabet, k=rng.randrange(0, 30))) for _ in range(300)]
        _assert_same_words(patterns, texts)


def _random_text(rng: random.Random, length: int) -> str:
    """Any code point: ASCII, Latin, CJK, astral, combining marks, controls, lone surrogates."""
    pools = [
        (0, 0x80),
        (0x80, 0x800),
        (0x3000, 0xA000),
        (0xD800, 0xE000),
        (0xFF00, 0xFFFF),
        (0x10000, 0x110000),
    ]
    chars = []
    for _ in range(length):
        low, high = rng.choice(pools)
        chars.append(chr(rng.randrange(low, high)))
    return "".join(chars)


def test_the_c_code_takes_any_unicode(matchers: tuple[Matcher, Matcher]) -> None:
    """Fuzz: random code points of every plane (lone surrogates, NUL, astral) mixed with
    patterns, through the scan, Index.find, narrow and CharSet, and against the reference.
    Nothing crashes, and reference counts hold (sys.getrefcount of a reused term is steady)."""
    native, _ = matchers
    rng = random.Random(29)
    patterns = native._patterns
    words = _Words(_word_sets(native)["text"])
    plain = _Words(_word_sets(native)["text"], use_native=False)
    assert crawler.native.narrow is not None and crawler.native.CharSet is not None
    charset = crawler.native.CharSet("中國𠀀\ud800")
    term = native._terms[0]
    before = sys.getrefcount(term)
    for _ in range(1500):
        pieces = [_random_text(rng, rng.randrange(0, 12))]
        for _ in range(rng.randrange(0, 4)):
            pieces += [rng.choice(patterns), _random_text(rng, rng.randrange(0, 4))]
        text = "".join(pieces)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: ahocorasick_rs refuses it, C must not
            assert native._native is not None
            native._native.scan(text, native._terms, text, None, _nfkc)
            words._index.find(text)  # type: ignore[union-attr]
            crawler.native.narrow(text)
            charset.find(text, 0)
            continue
        folded = fold(text)
        _assert_same(matchers, [text])
        assert words.find(folded) == plain.find(folded)
        charset.find(text, rng.randrange(0, len(text) + 2))
        assert unicodedata.normalize("NFKC", crawler.native.narrow(text)) == unicodedata.normalize(
            "NFKC", text
        )
    assert sys.getrefcount(term) == before


def test_overlaps_resolved_in_c_as_in_python(matchers: tuple[Matcher, Matcher]) -> None:
    """crawler._native.resolve_overlaps equals crawler.matcher._resolve_overlaps: random
    hits over a few spans and keys (identical spans, nesting, chains of overlaps, exact
    spans that keep some keys), with random nesting sets, and the matcher's own."""
    resolve = crawler.native.resolve_overlaps
    assert resolve is not None
    rng = random.Random(37)
    keys = [f"k{i}" for i in range(6)]
    for round_ in range(4000):
        hits = []
        for _ in range(rng.randrange(0, 12)):
            start = rng.randrange(0, 20)
            hits.append((start, start + rng.randrange(1, 8), rng.choice(keys)))
        exact: dict[tuple[int, int], set[str]] = {}
        for start, end, key in rng.sample(hits, k=min(len(hits), rng.randrange(0, 3))):
            exact.setdefault((start, end), set()).add(rng.choice([key, *keys]))
        if round_ % 2:
            nesting = _Nesting(frozenset(rng.sample(keys, 3)), frozenset(rng.sample(keys, 3)))
        else:
            nesting = matchers[0]._nesting
        want = _resolve_overlaps(list(hits), exact, nesting)
        got = resolve(list(hits), exact, nesting.inner, nesting.outer)
        assert got == want, (hits, exact, nesting)
    with pytest.raises(TypeError):
        resolve([(1, 2)], {}, frozenset(), frozenset())
    with pytest.raises(TypeError):
        resolve([(1, 2, 3)], {}, frozenset(), frozenset())


def test_index_find_clamps_its_stretch_and_refuses_bad_arguments() -> None:
    """lo and hi out of range are clamped as a slice's are; wrong types raise TypeError."""
    assert crawler.native.Index is not None
    index = crawler.native.Index(["after", "when", "以来"])
    text = "after the ban, when 以来 after"
    whole = index.find(text)
    assert [text[s:e] for _, s, e in whole] == ["after", "when", "以来", "after"]
    assert index.find(text, -5, 10**9) == whole
    assert index.find(text, 20, 5) == []
    assert index.find(text, 1) == whole[1:]  # "fter" is no word start
    assert index.find("") == []
    for bad in ((b"after",), (text, "1"), (text, 0, None), (), (text, 0, 1, 2)):
        with pytest.raises(TypeError):
            index.find(*bad)


def test_casefold_in_c_is_str_casefold() -> None:
    """crawler._native.casefold gives str.casefold() or None (then str.casefold runs): every
    code point alone and after a capital, and random mixtures of every plane."""
    casefold = crawler.native.casefold
    assert casefold is not None
    taken = 0
    for code in range(0x110000):
        if 0xD800 <= code < 0xE000:
            continue
        for text in (chr(code), "Ab" + chr(code) + "Z"):
            got = casefold(text)
            if got is not None:
                taken += 1
                assert got == text.casefold(), hex(code)
    assert taken > 2 * 30_000  # CJK, kana, Hangul, punctuation
    rng = random.Random(41)
    pools = ["ABCxyz09 ,.", "中國比特幣，。、", "ÀßµİΣΑ", "“”‘’…—·", "가나다", "𝐀𝐁"]
    for _ in range(5000):
        text = "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randrange(0, 30)))
        got = casefold(text)
        assert got is None or got == text.casefold(), text
        if text.isascii() or all(c.isascii() or "\u4e00" <= c <= "\u9fff" for c in text):
            assert got == text.casefold()
    assert casefold("中文") is not None and casefold("Straße") is None
    with pytest.raises(TypeError):
        casefold(b"abc")  # type: ignore[arg-type]


def test_nfkc_in_one_pass_is_nfkc() -> None:
    """crawler.fold's one-pass NFKC (CharSet.narrowed_within over the characters NFKC leaves
    alone) gives unicodedata's NFKC: each character of the plane after an ASCII letter, a
    CJK one and before a combining mark, and random mixtures with full-width ASCII, marks,
    compatibility characters and astral ones."""
    stable = _stable()
    assert stable is not None
    taken = 0
    for code in range(0x10000):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        for text in (char, "a" + char, "中" + char + "ｂ", char + "\u0301", "Ａ" + char + "\u3000"):
            got = stable.narrowed_within(text)
            if got is not None:
                taken += 1
                assert got == unicodedata.normalize("NFKC", text), (hex(code), text)
    assert taken > 3 * 20_000  # the ideographs, CJK punctuation, ASCII
    rng = random.Random(43)
    pools = [
        "ab Z9,.",
        "中國比特幣",
        "，：（）；！？　％＋",
        "、。《》「」“”—",
        "…ﬁ①㈱",
        "\u0301\u3099",
        "𝐀𠀀",
    ]
    for _ in range(20_000):
        text = "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randrange(0, 25)))
        assert _nfkc_fold(text) == unicodedata.normalize("NFKC", text), text
        got = stable.narrowed_within(text)
        assert got is None or got == unicodedata.normalize("NFKC", text), text
    with pytest.raises(TypeError):
        stable.narrowed_within(None)


def test_the_new_c_paths_keep_reference_counts(matchers: tuple[Matcher, Matcher]) -> None:
    """casefold, narrowed_within and the acronyms' exact forms compared in C (ASCII and not)
    leave every reference count as they found it."""
    native, _ = matchers
    assert native._native is not None and crawler.native.casefold is not None
    stable = _stable()
    texts = ["中文", "中文ABC，", "Straße", "，中文ＯＴＣ", "abc", "US us ED", "ＵＳ 美国SEC监管"]
    term = native._terms[native._patterns.index("us")]
    exact = term[5][0][1]
    counts = [sys.getrefcount(text) for text in texts] + [sys.getrefcount(exact)]
    for _ in range(200):
        for text in texts:
            crawler.native.casefold(text)
            stable.narrowed_within(text)
            native._native.scan(fold(text), native._terms, text, None, _nfkc)
    del text  # the loop's variable holds the last one
    assert [sys.getrefcount(text) for text in texts] + [sys.getrefcount(exact)] == counts
    tracemalloc.start()  # nothing made along the way (slices, narrowed text) is kept
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(300):
            for text in texts:
                crawler.native.casefold(text)
                stable.narrowed_within(text)
                native._native.scan(fold(text), native._terms, text, None, _nfkc)
        assert tracemalloc.get_traced_memory()[0] - before < 4096
    finally:
        tracemalloc.stop()


_TRADITIONAL = frozenset(_traditional_chars() or "")


def _fold_reference(text: str) -> tuple[str, int, bool]:
    """NFKC, case-fold and apostrophes as unicodedata and str do them, the index of the
    first character OpenCC changes (-1 for none), and whether NFKC is ASCII."""
    normal = unicodedata.normalize("NFKC", text)
    folded = normal.casefold().replace("’", "'").replace("‘", "'")
    first = next((i for i, c in enumerate(folded) if c in _TRADITIONAL), -1)
    return folded, first, normal.isascii()


def test_folding_in_one_pass_is_the_steps_it_replaces() -> None:
    """CharSet.folded_within (crawler.fold._folded_within) gives NFKC, case-folding,
    straight apostrophes, the first traditional character and whether the text is ASCII
    once narrowed, or None (the steps run one by one): every code point of the plane in
    five settings and random mixtures of every kind of character; fold_with_offsets gives
    what fold gives, and the steps give, and for text ASCII once narrowed the case-kept
    text the acronyms need (NFKC), made when asked for."""
    sets = _fast_sets()
    assert sets is not None
    stable, traditional = sets
    taken = 0
    for code in range(0x10000):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        for text in (
            char,
            "A" + char,
            "中" + char + "Ｂ",
            char + "\u0301",
            "’" + char + "國\u3000",
        ):
            got = stable.folded_within(text, traditional)
            if got is not None:
                taken += 1
                assert got == _fold_reference(text), (hex(code), text)
    assert taken > 3 * 20_000  # the ideographs, CJK punctuation, ASCII among them
    rng = random.Random(47)
    pools = [
        "ab Z9,.'",
        "中國比特幣乾著瞭衞",
        "，：（）；！？　％＋ＡＺａｚ０",
        "、。《》「」“”‘’—·",
        "…ﬁ①㈱ÀßΣİ",
        "\u0301\u3099",
        "𝐀𠀀",
    ]
    for _ in range(20_000):
        text = "".join(rng.choice(rng.choice(pools)) for _ in range(rng.randrange(0, 25)))
        got = stable.folded_within(text, traditional)
        assert got is None or got == _fold_reference(text), text
        if got is not None and text:
            folded = fold_with_offsets(text)
            normal = unicodedata.normalize("NFKC", text)
            cased = normal if normal.isascii() else None
            assert (folded.text, folded.offsets, folded.cased) == (fold(text), None, cased)
            assert fold(text) == _t2s(_case_fold(_nfkc_fold(text)))  # the steps it replaces
    assert stable.folded_within("ＯＴＣ desks", traditional) == ("otc desks", -1, True)
    assert fold_with_offsets("ＯＴＣ desks").cased == "OTC desks"
    assert fold_with_offsets("ＯＴＣ\u3000desks").cased == "OTC desks"
    assert stable.folded_within("ＯＴＣ’s", traditional) == ("otc's", -1, False)
    assert fold_with_offsets("ＯＴＣ’s").cased is None
    assert stable.folded_within("中國ＯＴＣ，", traditional) == ("中國otc,", 1, False)
    assert stable.folded_within("Straße", traditional) is None
    for bad in ((None, traditional), ("中", "國"), ("中",)):
        with pytest.raises(TypeError):
            stable.folded_within(*bad)


def test_folding_two_byte_latin_text_four_characters_at_a_time() -> None:
    """folded_within reads two-byte text that is mostly ASCII (Latin text with a curly quote
    or a full-width word) four characters at a time: capitals at every place of a group of
    four, groups broken by a character that is not ASCII at every offset, every length."""
    sets = _fast_sets()
    assert sets is not None
    stable, traditional = sets
    rng = random.Random(15)
    ascii_pool = string.ascii_letters + string.digits + " ,.'-@[`{~\x7f"
    others = "’‘ＯＴＣａ　中國—“”·"
    texts = []
    for size in range(0, 40):
        for _ in range(60):
            chars = [rng.choice(ascii_pool) for _ in range(size)]
            for _ in range(rng.randrange(0, 3)):
                if chars:
                    chars[rng.randrange(size)] = rng.choice(others)
            texts.append("".join(chars))
    texts += ["AZ@[" * 5 + "’", "az`{" * 5 + "’", "’" + "ABCD" * 4, "ＡＢＣＤabcd" * 3]
    texts += ["".join(chr(c) for c in range(lo, lo + 16)) + "’" for lo in range(0, 112, 4)]
    for text in texts:
        got = stable.folded_within(text, traditional)
        assert got is None or got == _fold_reference(text), text
        if got is not None and text:
            assert fold_with_offsets(text).text == fold(text)


def test_folding_in_one_pass_keeps_reference_counts() -> None:
    sets = _fast_sets()
    assert sets is not None
    stable, traditional = sets
    texts = ["中文", "中文ABC，", "中國’s", "Straße", "ＯＴＣ", "abc", "國"]
    stable.folded_within(texts[0], traditional)  # its class table (64 KB) is built at first use
    counts = [sys.getrefcount(text) for text in texts]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(500):
            for text in texts:
                stable.folded_within(text, traditional)
        del text
        assert tracemalloc.get_traced_memory()[0] - before < 4096
    finally:
        tracemalloc.stop()
    assert [sys.getrefcount(text) for text in texts] == counts


def test_fill_builds_what_the_dataclass_builds() -> None:
    """crawler._native.fill(cls, names, *values): the matcher's frozen dataclasses equal,
    hash, pickle and print as their own constructor's, keep reference counts, and a
    mismatch of names and values is refused."""
    fill = crawler.native.fill
    assert fill is not None
    term = "".join(["比特", "币"])  # a new object, its count ours alone
    want = Hit("pboc", "title", 3, 7, term)
    before = sys.getrefcount(term)
    made = [fill(Hit, _HIT_FIELDS, "pboc", "title", 3, 7, term) for _ in range(100)]
    assert sys.getrefcount(term) == before + 100
    assert made[0] == want and hash(made[0]) == hash(want) and repr(made[0]) == repr(want)
    assert pickle.loads(pickle.dumps(made[0])) == want and vars(made[0]) == vars(want)
    with pytest.raises(dataclasses.FrozenInstanceError):
        made[0].start = 4  # type: ignore[misc]
    del made
    assert sys.getrefcount(term) == before
    snippet = fill(Snippet, ("field", "text", "start", "end"), "body", "…x…", 1, 2)
    assert snippet == Snippet("body", "…x…", 1, 2)
    for bad in ((Hit, _HIT_FIELDS, "pboc"), (Hit, list(_HIT_FIELDS), *range(5)), ("Hit", ())):
        with pytest.raises(TypeError):
            fill(*bad)


def test_the_genre_check_reads_the_same_with_the_c_index() -> None:
    """crawler.genre's searches on the C index (Index.find) give the words and names its
    automata gave: headlines and the text under them from the probes and the corpora."""
    watchlist = builtin_watchlist()
    native = GenreReader(watchlist)
    index, crawler.native.Index = crawler.native.Index, None
    try:
        reference = GenreReader(watchlist)
    finally:
        crawler.native.Index = index
    assert not isinstance(native._headline[0], ahocorasick_rs.AhoCorasick)
    assert isinstance(reference._headline[0], ahocorasick_rs.AhoCorasick)
    paths = sorted(DATA.glob("*.jsonl")) + [
        CORPUS_DIR / name for name in CORPORA if (CORPUS_DIR / name).is_file()
    ]
    stories = [
        json.loads(line) for path in paths for line in path.read_text("utf-8").splitlines() if line
    ]
    assert len(stories) > 1000
    named = 0
    for story in stories:
        headline = fold(str(story.get("title") or ""))
        follow = fold(str(story.get("text") or story.get("summary") or ""))[:480]
        for text in (headline, follow, headline + "\n" + follow):
            assert native.words(text) == reference.words(text), text
        for flags in ((False, False, False), (True, True, True)):
            got = native.names(headline, follow, *flags)
            assert got == reference.names(headline, follow, *flags), headline
            named += bool(got)
    assert named > 100


def test_filled_objects_of_strings_and_numbers_are_not_walked_by_the_collector() -> None:
    """fill untracks an object whose values are all strings, numbers, bools or None (as
    CPython untracks such tuples): no cycle can go through it; one holding a container
    stays tracked."""
    fill = crawler.native.fill
    assert fill is not None
    assert not gc.is_tracked(fill(Hit, _HIT_FIELDS, "pboc", "title", 3, 7, "央行"))
    assert not gc.is_tracked(fill(Hit, _HIT_FIELDS, "pboc", "body", 1.5, None, True))
    assert gc.is_tracked(fill(Hit, _HIT_FIELDS, "pboc", "title", 3, 7, ["a list"]))
    assert gc.is_tracked(fill(Hit, _HIT_FIELDS, "pboc", "title", 3, 7, Hit("", "", 0, 0, "")))
