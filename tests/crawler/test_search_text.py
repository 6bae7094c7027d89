"""The archive index's terms: what `/search` can find is exactly what these produce."""

from __future__ import annotations

from crawler.search_text import document, phrase, term_set, terms


def test_words_as_they_are_cjk_runs_as_bigrams_in_order() -> None:
    assert terms("PBoC 央行打击 USDT，币 支付寶_x") == [
        "pboc",
        "央行",
        "行打",
        "打击",
        "usdt",
        "币",
        "支付",
        "付宝",
        "x",
    ]


def test_a_document_joins_each_fields_terms_and_the_set_is_its_distinct_terms() -> None:
    title, summary, body = "央行 bans OTC", "", "OTC desks, 场外交易"
    assert document(title, summary, body) == "央行 bans otc otc desks 场外 外交 交易"
    assert term_set(title, summary, body) == sorted(set(document(title, summary, body).split()))


def test_a_single_cjk_character_cannot_narrow_a_query() -> None:
    assert phrase("币") is None
    assert phrase("币安") == ("币安",)
