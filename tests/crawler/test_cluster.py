"""Features, signatures, band keys and the cluster choice of `crawler.cluster` (no database)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta

import pytest

from crawler.cluster import (
    BANDS,
    LEAD_CHARS,
    MIN_FEATURES,
    NUM_PERM,
    ROWS,
    Pool,
    Signature,
    band_keys,
    compatible,
    conflict,
    features,
    from_bytes,
    lead,
    signature,
    signature_bytes,
    similarity,
    title_names,
)
from crawler.normalize import normalise
from crawler.types import RawStory, Story

T0 = datetime(2026, 4, 8, 3, 0, tzinfo=UTC)
WINDOW = timedelta(days=3)


def story(title: str, summary: str = "", *, lang: str = "en", body: str = "") -> Story:
    raw = RawStory("feed", "https://n.example/1", title, summary, body, T0, lang)
    return normalise(raw, fetched_at=T0)


def sig(title: str, summary: str = "", *, lang: str = "en") -> Signature:
    found = signature(story(title, summary, lang=lang))
    assert found is not None
    return found


def test_latin_text_gives_folded_words_without_stopwords() -> None:
    assert features("China's central bank BANS the ＯＴＣ trade of 4,000 USDT") == {
        "china",
        "central",
        "bank",
        "bans",
        "otc",
        "trade",
        "4000",
        "usdt",
    }


def test_chinese_text_gives_character_bigrams_of_simplified_text() -> None:
    assert features("火幣停止註冊") == {"火币", "币停", "停止", "止注", "注册"}
    assert features("央行，USDT") == {"央行", "usdt"}  # punctuation ends a run; Latin words too


def test_lead_formulas_of_chinese_wires_are_not_features() -> None:
    plain = features("浙江金华警方破获洗钱案")
    assert features("巴比特讯，浙江金华警方破获洗钱案") == plain
    assert features("据新华社报道，浙江金华警方破获洗钱案") == plain


def test_the_lead_is_the_summary_else_the_start_of_the_body() -> None:
    feed = story("Title", "Summary sentence.", body="Body text")
    assert lead(feed) == "Title\nSummary sentence."
    page = story("Title", body="x" * 1000)
    assert lead(page) == "Title\n" + "x" * LEAD_CHARS["other"]
    chinese = story("标题", body="字" * 1000, lang="zh")
    assert lead(chinese) == "标题\n" + "字" * LEAD_CHARS["zh"]


def test_a_bare_title_or_too_little_text_has_no_signature() -> None:
    assert signature(story("Police arrest crypto scam suspects in Bangkok, Thailand")) is None
    assert len(features("PBoC bans OTC\nTrading halted.")) < MIN_FEATURES
    assert signature(story("PBoC bans OTC", "Trading halted.")) is None


def test_the_same_text_has_the_same_signature_in_any_process() -> None:
    a = sig("Police bust USDT ring", "Jinhua police arrested 32 people in an OTC laundering case.")
    b = sig("Police bust USDT ring", "Jinhua police arrested 32 people in an OTC laundering case.")
    assert similarity(a, b) == 1.0
    assert len(a.values) == NUM_PERM
    # Fixed seed and hash: a stored signature stays comparable (a regression pin).
    assert int(a.values[0]) == 105036781


def test_similarity_estimates_the_jaccard_index() -> None:
    words = [f"w{i}" for i in range(150)]  # titles are read whole; summaries only their lead
    a = sig(" ".join(words[:100]), "news")  # 100 words, 50 shared with b, and "news"
    b = sig(" ".join(words[50:]), "news")
    assert similarity(a, b) == pytest.approx(51 / 151, abs=0.1)  # 3 sigma at 128 values: 0.125


def test_languages_never_share_features() -> None:
    text = "Binance USDT OTC 32 Jinhua Zhejiang police laundering"
    assert similarity(sig(text, text, lang="en"), sig(text, text, lang="zh")) < 0.1
    assert similarity(sig(text, text, lang="zh"), sig(text, text, lang="zh-TW")) == 1.0


def test_figures_that_disagree_are_a_conflict() -> None:
    text = "The central bank's Shanghai office fined payment company {} {} yuan for crypto deals."
    fine_a = sig("Payment firm fined", text.format("Tongda", "3.2 million"))
    fine_b = sig("Payment firm fined", text.format("Xinlian", "1.85 million"))
    same_a = sig("Tongda fined 3.2 million yuan", text.format("Tongda", "a large sum in"))
    no_figures = sig("Payment firm fined", text.format("Tongda", "many millions of"))
    assert conflict(fine_a, fine_b)
    assert not conflict(fine_a, same_a)  # 3.2 is in both
    assert not conflict(fine_a, no_figures)  # silence is no disagreement
    assert not compatible(fine_a, fine_b, 0.0)


def test_band_keys_are_signed_64_bit_and_shared_exactly_when_the_rows_are() -> None:
    a = sig("Police bust USDT ring", "Jinhua police arrested 32 people in an OTC laundering case.")
    b = sig(
        "Police bust USDT ring", "Zhengzhou police arrested 19 people in an OTC laundering case."
    )
    keys_a, keys_b = band_keys(a), band_keys(b)
    assert [band for band, _ in keys_a] == list(range(BANDS))
    assert all(-(2**63) <= value < 2**63 for _, value in keys_a)
    assert len({value for _, value in keys_a}) == BANDS  # the band index is in the hash
    for band in range(BANDS):
        rows = slice(band * ROWS, (band + 1) * ROWS)
        same_rows = bool((a.values[rows] == b.values[rows]).all())
        assert (keys_a[band] == keys_b[band]) == same_rows
    assert keys_a == band_keys(from_bytes(signature_bytes(a)))


def test_signatures_survive_bytes() -> None:
    a = signature(
        story("Police bust USDT ring", "Jinhua police arrested 32 people, 1.2 billion yuan."),
        names={"mps", "tencent"},
    )
    assert a is not None
    data = signature_bytes(a)
    assert len(data) == 3 + 4 * (len(a.numbers) + 2) + 4 * NUM_PERM
    back = from_bytes(data)
    assert similarity(a, back) == 1.0 and back.numbers == a.numbers and back.names == a.names
    with pytest.raises(ValueError, match="version"):
        from_bytes(b"\x09" + data[1:])


def test_signatures_stored_before_names_still_read() -> None:
    """Version 1 (no names) is what a database clustered before names holds."""
    a = sig("Police bust USDT ring", "Jinhua police arrested 32 people, 1.2 billion yuan.")
    figures = sorted(a.numbers)
    old = struct.pack(f"<BB{len(figures)}I", 1, len(figures), *figures) + a.values.tobytes()
    back = from_bytes(old)
    assert similarity(a, back) == 1.0 and back.numbers == a.numbers and back.names == frozenset()
    with pytest.raises(ValueError, match="bytes"):
        from_bytes(old[:-4])


ALIPAY = (
    "支付宝：将关停用于比特币场外交易的账户",
    "支付宝表示，将加强交易监控，一旦发现账户被用于比特币等虚拟货币的场外交易，将立即关停相关账户。",
)
WECHAT = (
    "微信支付：严禁利用微信支付从事比特币场外交易",
    "微信支付表示，将加强交易监控，一旦发现账户被用于比特币等虚拟货币的场外交易，将采取冻结账户等措施。",
)


def test_titles_naming_different_actors_are_a_conflict() -> None:
    alipay = signature(story(*ALIPAY, lang="zh"), names={"alibaba"})
    wechat = signature(story(*WECHAT, lang="zh"), names={"tencent"})
    tenpay = signature(story(*WECHAT, lang="zh"), names={"tencent", "pboc"})
    unnamed = signature(story(*WECHAT, lang="zh"))
    assert alipay and wechat and tenpay and unnamed
    assert similarity(alipay, wechat) >= 0.2  # alike enough to merge on words alone
    assert conflict(alipay, wechat) and not compatible(alipay, wechat, 0.2)
    assert not conflict(wechat, tenpay)  # one family in common is enough
    assert not conflict(alipay, unnamed)  # a title naming no one is no disagreement
    pool = Pool()
    pool.add(1, alipay, T0)
    assert pool.choose(wechat, T0, WINDOW, 0.2) is None
    assert pool.choose(unnamed, T0, WINDOW, 0.2) == (1, similarity(alipay, unnamed))


def test_title_names_reads_the_title_only_and_maps_families() -> None:
    from crackdown.app import cluster_settings, load_watchlist
    from crackdown.config import Config

    config = Config()
    watchlist, matcher = load_watchlist(config)
    families = dict(cluster_settings(config, watchlist).families)
    binance = story(
        "Binance stops new users from registering with Chinese mobile numbers",
        "Binance has stopped new sign-ups, days after China's central bank banned crypto trading.",
    )
    assert title_names(binance, matcher.match(binance), families) == {"binance"}
    tenpay = story("财付通：对利用微信支付进行虚拟货币交易的账户采取限制措施", lang="zh")
    assert title_names(tenpay, matcher.match(tenpay), families) == {"tencent"}
    generic = story("Crypto exchanges halt mainland sign-ups")  # the generic "exchange"
    assert title_names(generic, matcher.match(generic), families) == frozenset()


JINHUA = (
    "Zhejiang police bust USDT OTC ring",
    "Police in Jinhua arrested 32 people accused of laundering 1.2 billion yuan through USDT.",
)
JINHUA_AGAIN = (
    "Jinhua police break up USDT laundering network",
    "Police in Jinhua broke up an OTC network that laundered 1.2 billion yuan, arresting 32.",
)
ZHENGZHOU = (
    "Henan police crack USDT underground bank",
    "Police in Zhengzhou detained 19 people accused of moving 860 million yuan through USDT.",
)


def test_a_report_joins_the_cluster_of_its_event() -> None:
    pool = Pool()
    pool.add(7, sig(*JINHUA), T0)
    assert pool.choose(sig(*JINHUA_AGAIN), T0 + timedelta(hours=5), WINDOW, 0.2) is not None
    chosen = pool.choose(sig(*JINHUA_AGAIN), T0, WINDOW, 0.2)
    assert chosen is not None and chosen[0] == 7 and chosen[1] >= 0.2


def test_stories_outside_the_window_do_not_count() -> None:
    pool = Pool()
    pool.add(7, sig(*JINHUA), T0)
    assert pool.choose(sig(*JINHUA), T0 + WINDOW + timedelta(minutes=1), WINDOW, 0.2) is None
    assert pool.choose(sig(*JINHUA), T0 - WINDOW - timedelta(minutes=1), WINDOW, 0.2) is None


def test_one_dissimilar_member_keeps_a_story_out_of_a_cluster() -> None:
    """Complete link: a similar report is not enough if another member is far off."""
    pool = Pool()
    pool.add(7, sig(*JINHUA), T0)
    assert pool.choose(sig(*JINHUA_AGAIN), T0, WINDOW, 0.2) is not None
    weather = "Weather in Shanghai will be sunny with light winds and mild temperatures today."
    pool.add(7, sig("Unrelated", weather), T0)
    assert pool.choose(sig(*JINHUA_AGAIN), T0, WINDOW, 0.2) is None


def test_conflicting_figures_keep_similar_words_apart() -> None:
    pool = Pool()
    pool.add(7, sig(*JINHUA), T0)
    assert pool.choose(sig(*ZHENGZHOU), T0, WINDOW, 0.0) is None


def test_the_most_similar_cluster_wins_and_ties_go_to_the_older() -> None:
    pool = Pool()
    pool.add(9, sig(*JINHUA_AGAIN), T0)
    pool.add(4, sig(*JINHUA_AGAIN), T0)
    chosen = pool.choose(sig(*JINHUA_AGAIN), T0, WINDOW, 0.2)
    assert chosen == (4, 1.0)
    pool.add(2, sig(*JINHUA), T0)  # older, but less similar
    assert pool.choose(sig(*JINHUA_AGAIN), T0, WINDOW, 0.2) == (4, 1.0)


def test_a_cluster_with_a_member_outside_the_window_is_closed() -> None:
    """Clusters cannot drift from day to day through stories a window apart."""
    pool = Pool()
    pool.add(7, sig(*JINHUA), T0 - timedelta(days=2))
    pool.add(7, sig(*JINHUA_AGAIN), T0 + timedelta(days=1))
    assert pool.choose(sig(*JINHUA), T0, WINDOW, 0.2) is not None
    assert pool.choose(sig(*JINHUA), T0 + timedelta(days=1, hours=1), WINDOW, 0.2) is None


def test_a_big_cluster_tolerates_one_dissenting_report() -> None:
    """Up to four members all must agree; of five, one may not (big events have outliers)."""
    odd = sig("Jinhua police", "Officers from the city's cybercrime unit spoke to reporters.")
    pool = Pool()
    for _ in range(3):
        pool.add(7, sig(*JINHUA_AGAIN), T0)
    pool.add(7, odd, T0)
    assert pool.choose(sig(*JINHUA), T0, WINDOW, 0.2) is None  # 1 of 4 dissents
    pool.add(7, sig(*JINHUA_AGAIN), T0)
    assert pool.choose(sig(*JINHUA), T0, WINDOW, 0.2) is not None  # 1 of 5
