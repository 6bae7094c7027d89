"""Folding: the fast paths must give exactly what the plain conversions give."""

from __future__ import annotations

import json
import random
import unicodedata
from pathlib import Path

import opencc
import pytest

from crawler.fold import (
    _converter,
    _Finder,
    _finders,
    _nfkc,
    _stretch_start,
    _t2s,
    fold,
    fold_with_offsets,
)
from crawler.watchlist import builtin_watchlist

DATA = Path(__file__).resolve().parents[1] / "data"


def chinese_samples() -> list[str]:
    """Simplified text we have (headlines, aliases) and its traditional renderings."""
    texts = [entity.name_zh for entity in builtin_watchlist().entities]
    texts += [alias for entity in builtin_watchlist().entities for alias in entity.aliases]
    for line in (DATA / "filter_challenge.jsonl").read_text("utf-8").splitlines():
        case = json.loads(line)
        texts += [case["title"], case["text"]]
    texts.append("，".join(texts))  # one long text with every kind of stretch in it
    converters = [opencc.OpenCC(config) for config in ("s2t", "s2hk", "s2tw", "s2twp")]
    rendered = [converter.convert(text) for converter in converters for text in texts]
    return texts + rendered


def test_converting_stretches_equals_converting_the_whole_text() -> None:
    for text in chinese_samples():
        assert _t2s(text) == _converter.convert(text), text


def test_converting_stretches_on_random_mixtures() -> None:
    """Traditional characters, the ambiguous ones (乾 著 瞭), punctuation and Latin, shuffled."""
    rng = random.Random(7)
    pool = list("國銀幣會監網辦場證資務業員聯協礦貨錢發機乾著瞭於夥衞枱中国银行比特币")
    pool += list("，。、「」：；！？ ·-abcXYZ019“”…")
    for _ in range(3000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(1, 40)))
        assert _t2s(text) == _converter.convert(text), text


def test_many_stretches_converted_in_one_call_as_alone() -> None:
    """_t2s converts a text's stretches in one OpenCC call, joined by newlines: long texts
    with many stretches, newlines of their own (converted one by one then) and the
    phrases OpenCC converts as a whole (乾隆, 著作) give the whole text's conversion."""
    rng = random.Random(9)
    pool = ["國銀幣會", "監網辦場", "乾隆", "著作", "發現", "中国银行", "比特幣", "ab X9"]
    seps = ["，", "。", "\n", " ", "、", "：", "", "“", "…"]
    for _ in range(2000):
        text = "".join(rng.choice(pool) + rng.choice(seps) for _ in range(rng.randint(1, 30)))
        assert _t2s(text) == _converter.convert(text), text


@pytest.mark.parametrize(
    "text",
    [
        "ＯＴＣ and ＵＳＤＴ desks",  # full-width words in Latin text: the codec path
        "ＯＴＣ “quoted” ｔｒａｄｅｓ",  # and a non-ASCII character it cannot take: the regex
        "在ＯＴＣ市场，交易ＵＳＤＴ",
        "Ｈｅｌｌｏ　ｗｏｒｌｄ！",
        "ﬁnance ＯＴＣ",  # a ligature: NFKC proper
        "plain ASCII",
        "ＵＳＤＴ交易（ＯＴＣ）",  # Chinese without 。: the codec tries and fails at 交
        "Ｔｅｔｈｅｒ中国",  # a full-width run that Chinese follows
        "ＯＴＣ desks。ＵＳＤＴ",  # Latin text with 。: the Chinese path
    ],
)
def test_nfkc_fast_paths_equal_nfkc(text: str) -> None:
    assert _nfkc(text) == unicodedata.normalize("NFKC", text)


def test_other_encodings_are_untouched_by_our_error_handler() -> None:
    _nfkc("ＯＴＣ")  # registers the handler
    with pytest.raises(UnicodeEncodeError):
        "ＯＴＣ".encode("ascii")


def test_ascii_fast_path_equals_the_full_fold() -> None:
    text = "Binance CEO Changpeng Zhao; PBOC & SAFE: U.S. 1,000"
    assert fold(text) == fold_with_offsets(text).text == text.casefold()


def test_hong_kong_variants_fold_to_simplified() -> None:
    assert fold("國民警衞隊") == "国民警卫队"  # t2s alone leaves 衞


def test_stretch_starts_by_the_c_search_equal_the_reference() -> None:
    """_stretch_start by CharSet.rfind (crawler/_native.c) gives what looking back a
    character at a time gives: random texts of stops, CJK, Latin and astral characters,
    every index, with `done` before it, and look-backs longer than _LOOK_BACK."""
    stops = _finders()[1]
    if stops._chars is None:
        pytest.skip("crawler/_native.c is not built here")
    reference = _Finder(stops._pattern, None)
    assert reference._chars is None
    rng = random.Random(11)
    pool = ["國", "中", "a", ",", " ", "。", "“", "𠀀", "\n", "-"]
    for _ in range(3000):
        size = rng.choice([rng.randrange(0, 20), rng.randrange(180, 420)])
        text = "".join(rng.choice(pool) if rng.random() < 0.3 else "國" for _ in range(size))
        for index in sorted(rng.sample(range(size), min(size, 6))):
            done = rng.randrange(0, index + 1)
            want = _stretch_start(text, index, done, reference)
            assert _stretch_start(text, index, done, stops) == want, (text, index, done)
    assert stops._chars.rfind("a,b。c", 0, 99) == 3 and stops._chars.rfind("abc", -5, 3) == -1
