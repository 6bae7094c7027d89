"""The filter, table-driven: what must match, what must not, and where."""

from __future__ import annotations

import dataclasses
import gc
import random
from datetime import UTC, datetime

import pytest

from crawler.fold import fold
from crawler.genre import GENRE
from crawler.matcher import (
    _SENTENCE_ENDS,
    BACKGROUND_TEXT,
    FIELD_WEIGHTS,
    FIELDS,
    FLIGHT_CATEGORIES,
    LEAD,
    LEAD_ONLY,
    Matcher,
    _first_sentence_end,
    _score,
    _snippet,
)
from crawler.normalize import normalise
from crawler.snippets import make_snippet
from crawler.types import Hit, RawStory, Story
from crawler.watchlist import Entity, Topic, Watchlist, builtin_watchlist

TOPIC = "china-crypto-enforcement"


def story(title: str, summary: str = "", body: str = "") -> Story:
    raw = RawStory("s", "https://x.example/1", title, summary, body)
    return normalise(raw, fetched_at=datetime.now(UTC))


def keys(matcher: Matcher, text: str) -> list[str]:
    return [hit.entity for hit in matcher.find(text)]


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("HOTCAKE sales", "otc"),
        ("Mexico and silicon valley", "ico"),
        ("the icon set", "ico"),
        ("bannister", "ban"),
        ("a safe bet", "safe"),  # SAFE the regulator is an acronym: upper case only
        ("data mining tools", "mining"),
        ("美國國民警衞隊", "mps"),  # Hong Kong's 衞 folds to 卫: the National Guard, not 民警
        ("上海证券交易所暂停交易", "exchange"),  # a stock exchange, not a crypto one
        ("xuni huobi (virtual currencies)", "huobi"),  # pinyin for 虚拟货币
        ("央行将封堵监管漏洞", "block"),  # plugging a loophole, not blocking a site
    ],
)
def test_near_misses_do_not_match(matcher: Matcher, text: str, absent: str) -> None:
    assert absent not in keys(matcher, text)


@pytest.mark.parametrize(
    ("text", "key", "term"),
    [
        ("在OTC市场交易", "otc", "OTC"),
        ("在ＯＴＣ市场", "otc", "ＯＴＣ"),
        ("支付寶關停賬戶", "alipay", "支付寶"),
        ("ALIPAY and alipay", "alipay", "ALIPAY"),
        ("The SAFE said", "safe", "SAFE"),
        ("全面叫停ICO融资", "ico", "ICO"),
        ("People’s Bank of China", "pboc", "People’s Bank of China"),
        ("HOUNAX涉嫌詐騙，證監會表示", "hk-sfc", "證監會"),  # traditional: Hong Kong's SFC
        ("证监会发布公告", "csrc", "证监会"),
    ],
)
def test_names_match_in_every_script_case_and_width(
    matcher: Matcher, text: str, key: str, term: str
) -> None:
    hits = [h for h in matcher.find(text) if h.entity == key]
    assert hits, keys(matcher, text)
    assert hits[0].term == term and text[hits[0].start : hits[0].end] == term


def test_every_alias_resolves_to_its_entity(matcher: Matcher) -> None:
    """Each alias, alone, is found as its own entity (no collisions, no blockers eating it).

    Lead-only words (market talk, rule-making) are not entity hits: they are
    looked for in a story's lead alone, so an alias of theirs, as a title,
    must make `lead:<its key>` true instead.
    """
    wrong = []
    for entity in matcher.watchlist.entities:
        if entity.category in FLIGHT_CATEGORIES:  # looked for around a foreign name only
            continue
        if entity.category == BACKGROUND_TEXT:  # looked for before a text's actions only
            continue
        if entity.category == GENRE:  # read by crawler/genre.py (tests/crawler/test_genre.py)
            continue
        for alias in (*entity.aliases, *entity.acronyms):
            if entity.category in LEAD_ONLY:
                evidence = matcher.evidence(story(alias))[0]
                found = sorted(n for n in evidence.names if n.startswith(LEAD))
                if LEAD + entity.key not in found:
                    wrong.append(f"{entity.key}: {alias!r} -> {found}")
                continue
            found = keys(matcher, alias)
            if entity.key not in found:
                wrong.append(f"{entity.key}: {alias!r} -> {found}")
    assert wrong == []


def test_no_alias_belongs_to_two_entities(matcher: Matcher) -> None:
    """Within one scan, that is: a lead-only word (传闻 in a lead looks back) may also be a
    word of the main scan (传闻 closes the clause it reports), as the two never compete."""
    owners: dict[tuple[bool, bool, str], set[str]] = {}
    for entity in matcher.watchlist.entities:
        if entity.category in FLIGHT_CATEGORIES:  # not scanned for: a separate vocabulary
            continue
        for alias in entity.aliases:
            scan = (entity.category in LEAD_ONLY, entity.category == GENRE, fold(alias).strip())
            owners.setdefault(scan, set()).add(entity.key)
    assert {alias: o for alias, o in owners.items() if len(o) > 1} == {}


def test_the_watchlist_is_big_enough_and_bilingual() -> None:
    watchlist = builtin_watchlist()
    assert len(watchlist.entities) >= 80
    for entity in watchlist.entities:
        assert entity.name_en and entity.name_zh, entity.key
    must = set(
        [
            "pboc",
            "csrc",
            "cbirc",
            "nfra",
            "cac",
            "mps",
            "safe",
            "spp",
            "spc",
            "hk-sfc",
            "hkma",
            "alipay",
            "ant-group",
            "wechat-pay",
            "tenpay",
            "tencent",
            "unionpay",
            "binance",
            "huobi",
            "okx",
            "bitcoin",
            "virtual-currency",
            "stablecoin",
            "ico",
            "mining",
            "otc",
            "illegal-fundraising",
            "money-laundering",
            "ban",
            "china",
        ]
    )
    assert must <= {e.key for e in watchlist.entities}


def test_named_exchanges_imply_the_generic_one(matcher: Matcher) -> None:
    result = matcher.match(story("Binance halts withdrawals"))
    assert {"binance", "exchange"} <= set(result.entities)


def test_a_name_that_hides_a_term_implies_it(matcher: Matcher) -> None:
    """比特币中国 (BTCChina) is the longest hit, and the story is still about bitcoin."""
    result = matcher.match(story("比特币中国停止所有交易业务"))
    assert {"btcc", "exchange", "bitcoin"} <= set(result.entities)


def test_signals_drive_rules_but_are_not_reported(matcher: Matcher) -> None:
    result = matcher.match(story("Chinese police arrest bitcoin traders in Beijing"))
    assert "arrest" in result.signals and "china" in result.signals
    assert "arrest" not in result.entities and "china" not in result.entities
    assert result.topics == (TOPIC,)


@pytest.mark.parametrize(
    ("title", "summary", "alerts"),
    [
        ("Alipay to cut off accounts used for bitcoin OTC trading", "", True),
        ("支付宝将关停用于比特币场外交易的账户", "", True),
        ("支付寶將關停比特幣場外交易賬戶", "", True),
        ("央行等七部门：全面叫停ICO代币发行融资", "", True),
        ("Chinese police repatriate crypto fraud suspects from Myanmar", "", True),
        ("Bitcoin price climbs above $11,000", "", False),
        ("Alipay launches tap-to-pay in Europe", "", False),
        ("比特币价格突破8万元人民币", "", False),
        ("US Justice Department charges Chinese nationals in crypto laundering", "", False),
        ("South Korean police arrest crypto fraud suspects in Seoul", "", False),
        ("Shanghai Stock Exchange suspends Ant Group IPO", "Regulators summoned Jack Ma.", False),
        (
            "Digital yuan pilot expands",
            "The People's Bank of China will ban paper receipts.",
            False,
        ),
    ],
)
def test_default_topic(matcher: Matcher, title: str, summary: str, alerts: bool) -> None:
    assert (TOPIC in matcher.match(story(title, summary)).topics) is alerts


def test_fields_run_from_the_heaviest_down() -> None:
    """`Matcher.match` scores an entity by its first hit, which needs this order."""
    weights = [FIELD_WEIGHTS[name] for name in FIELDS]
    assert weights == sorted(weights, reverse=True)


def test_overlapping_hits_keep_the_longest_and_exact_forms(matcher: Matcher) -> None:
    text = "People's Bank of China, SAFE and safe; 上海证券交易所"
    assert keys(matcher, text) == ["pboc", "safe", "china", "stock-exchange"]  # not boc, exchange
    assert keys(matcher, "PBOC PBoC") == ["pboc", "pboc"]


def test_offsets_survive_characters_that_fold_to_several(matcher: Matcher) -> None:
    text = "Straße ﬁ: Alipay bans"  # ß and the ﬁ ligature change length when folded
    (hit,) = [h for h in matcher.find(text) if h.entity == "alipay"]
    assert text[hit.start : hit.end] == "Alipay"


def test_longest_match_wins(matcher: Matcher) -> None:
    assert keys(matcher, "中国人民银行") == ["pboc"]
    assert "exchange" in keys(matcher, "币安是一家加密货币交易所")


def test_hits_record_their_field_and_the_score_weights_the_title(matcher: Matcher) -> None:
    in_title = matcher.match(story("PBoC statement", "Nothing else here"))
    in_summary = matcher.match(story("Statement", "The PBoC said so"))
    assert [(h.entity, h.field) for h in in_title.hits] == [("pboc", "title")]
    assert in_title.score > in_summary.score > 0


def test_snippets_are_about_120_characters_around_the_hit(matcher: Matcher) -> None:
    summary = "x " * 200 + "the central bank said Alipay must stop OTC deals " + "y " * 200
    result = matcher.match(story("Headline", summary))
    (snippet,) = result.snippets
    assert snippet.field == "summary"
    assert snippet.text[snippet.start : snippet.end] == "Alipay"
    assert 100 <= len(snippet.text) <= 130
    assert snippet.marked().count("[Alipay]") == 1


def test_near_counts_tokens_in_latin_and_chinese() -> None:
    watchlist = Watchlist(
        entities=(
            Entity("btc", "crypto", "Bitcoin", "比特币", ("bitcoin", "比特币")),
            Entity("ban", "action", "Ban", "禁止", ("ban", "禁止")),
        ),
        topics=(Topic("close", "x", "x", "btc NEAR/3 ban"),),
    )
    m = Matcher(watchlist)
    assert m.match(story("China to ban bitcoin")).topics == ("close",)
    assert m.match(story("Bitcoin rallies while Beijing weighs a wider ban")).topics == ()
    assert m.match(story("禁止比特币交易")).topics == ("close",)
    assert m.match(story("bitcoin", "ban")).topics == ()  # different fields


def test_clause_near_stops_at_clause_punctuation() -> None:
    watchlist = Watchlist(
        entities=(
            Entity("uk", "foreign", "UK", "英国", ("london", "伦敦", "u.s.")),
            Entity("police", "enforcer", "Police", "警方", ("police", "警方")),
        ),
        topics=(
            Topic("clause", "x", "x", "uk CLAUSE/2 police"),
            Topic("near", "x", "x", "uk NEAR/2 police"),
        ),
    )
    m = Matcher(watchlist)
    assert m.match(story("London police arrest two")).topics == ("clause", "near")
    assert m.match(story("Police in London arrest two")).topics == ("clause", "near")
    assert m.match(story("They fled to London, police said")).topics == ("near",)
    assert m.match(story("They fled to London. Police said")).topics == ("near",)
    assert m.match(story("两人逃往伦敦，警方称")).topics == ("near",)  # full-width comma
    assert m.match(story("伦敦警方称")).topics == ("clause", "near")
    assert m.match(story("U.S. police said")).topics == ("clause", "near")  # not a full stop


def test_phrases_from_rules_and_subscribers(matcher: Matcher) -> None:
    m = Matcher(builtin_watchlist(), phrases=["Justin Sun", "孙宇晨"])
    query = m.compile('"justin sun" AND ban', bare_words_are_phrases=True)
    assert m.matches(query, story("Regulators ban JUSTIN SUN's token sale"))
    assert not m.matches(query, story("Justin Sunday ban"))  # whole words only
    assert m.match(story("孫宇晨回应")).phrases == ("孙宇晨",)
    with pytest.raises(ValueError, match="not in this matcher"):
        m.matches(m.compile('"unknown phrase"'), story("x"))


def test_reported_hits_are_ordinary_hits(matcher: Matcher) -> None:
    """The matcher builds Hits without Hit.__init__ while it can (for speed): the same Hits."""
    result = matcher.match(story("Binance and Alipay", "上海警方 OTC 交易所 Binance"))
    assert len(result.hits) >= 4
    for hit in result.hits:
        ordinary = Hit(hit.entity, hit.field, hit.start, hit.end, hit.term)
        assert hit == ordinary
        assert hash(hit) == hash(ordinary)
        assert vars(hit) == vars(ordinary)
        assert dataclasses.astuple(hit) == dataclasses.astuple(ordinary)


def test_snippets_and_scores_built_in_the_matcher_are_the_ordinary_ones() -> None:
    """The matcher builds Snippets without make_snippet (compiled with it, filled as one
    dict) and rounds scores from a table: the same as make_snippet and round()."""
    rng = random.Random(3)
    words = ["", " ", "a", "bitcoin", "比特币", "，", "  ", "x" * 30, "…", "\u3000"]
    for _ in range(3000):
        text = "".join(rng.choice(words) for _ in range(rng.randrange(0, 60)))
        start = rng.randrange(0, len(text) + 1)
        end = rng.randrange(start, len(text) + 1)
        field = rng.choice(["summary", "body"])
        ordinary = make_snippet(text, start, end, field)
        ours = _snippet(text, start, end, field)
        assert ours == ordinary and vars(ours) == vars(ordinary) and hash(ours) == hash(ordinary)
    for _ in range(2000):
        fields = {f"k{i}": rng.choice(FIELDS) for i in range(rng.randrange(0, 40))}
        want = round(sum(FIELD_WEIGHTS[f] for f in fields.values()), 2) if fields else 0
        assert _score(fields) == want and type(_score(fields)) is type(want)


def test_the_collector_does_not_walk_the_patterns(matcher: Matcher) -> None:
    """The patterns and their terms (28,000 with 10,000 phrases) are tuples of plain tuples,
    which the collector stops tracking: a full collection, which a process that keeps its
    results runs every few thousand stories, does not walk them."""
    gc.collect()
    gc.collect()
    assert matcher._terms and matcher._patterns
    assert not gc.is_tracked(matcher._terms) and not gc.is_tracked(matcher._patterns)
    assert not any(gc.is_tracked(term) for term in matcher._terms)
    assert not gc.is_tracked(matcher._main_terms)
    assert {id(term) for term in matcher._main_terms} <= {id(term) for term in matcher._terms}


def test_the_genre_check_runs_only_when_a_rule_or_a_reader_asks(
    matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The genre check (about a tenth of a story's time) is read lazily: not for a story
    whose rule fails before its genre clause, once when `names` or a rule asks; the names
    are those the eager check gave."""
    from crawler.genre import GenreReader
    from crawler.queryindex import QueryIndex

    calls: list[str] = []
    names = GenreReader.names

    def counted(self: GenreReader, headline: str, *args: object, **kwargs: object) -> set[str]:
        calls.append(headline)
        return names(self, headline, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(GenreReader, "names", counted)
    no_crypto = story("Explained: police arrest 12 over a gambling ring in Shenzhen")
    result, evidence = matcher.match_with_evidence(no_crypto)
    assert not result.topics and calls == []  # (crypto OR exchange) failed first
    assert "genre:explainer" in evidence.names and len(calls) == 1
    assert "genre:explainer" in evidence.names and len(calls) == 1  # read once
    calls.clear()
    index = QueryIndex({})  # what the poller's filter passes when nobody watches anything
    assert not matcher.match(no_crypto, index).topics and calls == []
    queries = {"explainers": matcher.compile("genre:explainer")}  # keyed on a genre name
    assert matcher.match(no_crypto, QueryIndex(queries)).queries == ("explainers",)
    calls.clear()
    crypto = story("Explained: why Shenzhen police arrested 12 over bitcoin fraud")
    _, evidence = matcher.match_with_evidence(crypto)
    assert len(calls) == 1  # the rule asked
    assert evidence.has("genre:explainer") and len(calls) == 1


def test_the_first_sentence_end_is_the_regex_search() -> None:
    """matcher._first_sentence_end finds what _SENTENCE_ENDS.search(text, start, limit) finds
    (from the first letter or digit): random texts of stops, dots before spaces, digits and
    letters, under every limit."""
    rng = random.Random(53)
    pool = [
        "a",
        "1",
        ".",
        "!",
        "?",
        "。",
        " ",
        "\n",
        "\u3000",
        "\xa0",
        "\x1c",
        "\x85",
        "中",
        "U.S.",
    ]
    for _ in range(20_000):
        text = "".join(rng.choice(pool) for _ in range(rng.randrange(0, 30)))
        limit = rng.randrange(0, 35)
        start = next((i for i, c in enumerate(text[:limit]) if c.isalnum()), limit)
        found = _SENTENCE_ENDS.search(text, start, limit)
        want = found.end() if found else min(len(text), limit)
        assert _first_sentence_end(text, limit) == want, (text, limit)
