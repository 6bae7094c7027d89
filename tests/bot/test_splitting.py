"""Splitting long Telegram-HTML alerts: every part valid, within the limit, formatting kept."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from bot.splitting import (
    TELEGRAM_LIMIT,
    split_html,
    split_plain,
    telegram_length,
    to_plain_text,
)
from crackdown.standin.html_entities import parse_html, utf16_len

Entity = tuple[tuple[str, str], ...]  # an entity's type and attributes, without its place


def styles(plain: str, entities: list[dict[str, Any]]) -> list[frozenset[Entity]]:
    """For each UTF-16 unit of ``plain``, the entities (type and attributes) covering it."""
    units: list[set[Entity]] = [set() for _ in range(utf16_len(plain))]
    for entity in entities:
        key = tuple(sorted((k, str(v)) for k, v in entity.items() if k not in ("offset", "length")))
        for unit in range(entity["offset"], entity["offset"] + entity["length"]):
            units[unit].add(key)
    return [frozenset(u) for u in units]


def check_parts(html: str, parts: list[str], limit: int) -> list[str]:
    """Assert the splitting contract; return the parts' plain texts."""
    original, original_entities = parse_html(html)
    original_styles = styles(original, original_entities)
    assert parts, "a message with visible text gives at least one part"
    plains = []
    cursor = 0
    for part in parts:
        plain, entities = parse_html(part)  # raises if Telegram would reject the part
        assert utf16_len(plain) <= limit
        assert telegram_length(part) == utf16_len(plain)
        assert plain and plain == plain.strip(), "no empty parts, whitespace stripped at cuts"
        # The part continues the original text right after the whitespace at the cut.
        rest = original[cursor:]
        start = cursor + len(rest) - len(rest.lstrip())
        assert original.startswith(plain, start), (original[start : start + 40], plain[:40])
        # ... with the same formatting on every character.
        offset = utf16_len(original[:start])
        part_styles = styles(plain, entities)
        assert part_styles == original_styles[offset : offset + len(part_styles)]
        cursor = start + len(plain)
        plains.append(plain)
    assert not original[cursor:].strip(), "nothing visible is lost at the end"
    return plains


# -- measuring -----------------------------------------------------------------------------


def test_telegram_length_counts_utf16_units_of_parsed_text() -> None:
    assert TELEGRAM_LIMIT == 4096
    assert telegram_length('<b>a</b> <a href="https://x.example/?a=1&amp;b=2">link</a>') == 6
    assert telegram_length("&lt;&gt;&amp;&quot;&#65;&#x4e2d;") == 6
    assert telegram_length("中文") == 2  # CJK: one unit each
    assert telegram_length("😀&#128512;") == 4  # astral: a surrogate pair each
    assert telegram_length("👨‍👩‍👧") == 8  # ZWJ sequence: 3 pairs + 2 joiners
    html = "<pre><code class='language-python'>x = 1 &lt; 2</code></pre>"
    assert telegram_length(html) == utf16_len(parse_html(html)[0])


def test_to_plain_text_decodes_and_strips_tags() -> None:
    html = '<b>Alipay</b> &amp; <a href="https://x.example">WeChat</a> &lt;OTC&gt; &#128512;'
    assert to_plain_text(html) == parse_html(html)[0] == "Alipay & WeChat <OTC> 😀"


@pytest.mark.parametrize(
    "broken",
    [
        "<b>unclosed <i>x</b> &bogus; <a href=",
        "</i>stray end",
        "a < b & c &#xD800; &#99999999999; &#; &",
        "<!-- comment --><br/><script>x<b>y</b></script><",
        "<a href='x",
        "<![bogus[ x ]]> after",
        "",
    ],
)
def test_to_plain_text_never_raises_on_malformed_markup(broken: str) -> None:
    text = to_plain_text(broken)
    assert isinstance(text, str)
    assert "<b>" not in text and "</i>" not in text
    assert isinstance(telegram_length(broken), int)


def test_to_plain_text_keeps_malformed_text_readable() -> None:
    text = to_plain_text("<b>unclosed <i>x</b> &bogus; &nbsp;&amp")
    assert text == "unclosed x &bogus; \xa0&amp"
    assert to_plain_text("R&D at AT&T") == "R&D at AT&T"  # the parser drops a final "&T"


# -- split_html ----------------------------------------------------------------------------


def test_short_message_is_returned_unchanged() -> None:
    html = '<b>Title</b>\n\n  <a href="https://x.example">more</a>  '
    assert split_html(html) == [html]
    exact = "<i>" + "x" * 50 + "</i>"
    assert split_html(exact, limit=50) == [exact]


def test_message_without_visible_text_gives_no_parts() -> None:
    assert split_html("") == []
    assert split_html(" \n <b> </b>") == []
    assert split_plain("") == []
    assert split_plain(" \n\n ") == []


def test_limit_must_fit_a_surrogate_pair() -> None:
    with pytest.raises(ValueError):
        split_html("😀😀", limit=1)
    with pytest.raises(ValueError):
        split_plain("ab", limit=0)


def test_long_bold_text_is_closed_and_reopened() -> None:
    html = "<b>" + " ".join(f"word{i}" for i in range(60)) + "</b> tail"
    parts = split_html(html, limit=50)
    assert len(parts) > 1
    check_parts(html, parts, 50)
    for part in parts[:-1]:
        assert part.startswith("<b>") and part.endswith("</b>")
    assert parts[-1].startswith("<b>")


def test_link_is_reopened_with_the_same_attributes() -> None:
    anchor = '<a href="https://news.example/a?x=1&amp;y=2">'
    html = "<b>" + anchor + "linked " * 40 + "</a></b>\nplain"
    parts = split_html(html, limit=60)
    assert len(parts) > 2
    check_parts(html, parts, 60)
    for part in parts[1:-1]:
        assert part.startswith("<b>" + anchor)
        assert part.endswith("</a></b>")


def test_pre_with_language_and_blockquote_are_reopened() -> None:
    html = (
        '<blockquote expandable><pre><code class="language-python">'
        + "\n".join(f"x{i} = {i} &lt; {i + 1}" for i in range(30))
        + "</code></pre></blockquote>"
    )
    parts = split_html(html, limit=80)
    assert len(parts) > 1
    check_parts(html, parts, 80)
    for part in parts:
        assert part.startswith('<blockquote expandable><pre><code class="language-python">')
        assert part.endswith("</code></pre></blockquote>")
        _, entities = parse_html(part)
        assert {"type": "pre", "language": "python"} in [
            {k: v for k, v in e.items() if k not in ("offset", "length")} for e in entities
        ]


def test_tags_closed_at_a_cut_are_not_reopened() -> None:
    html = "<b>first</b>\n\n<i>second</i>"
    assert split_html(html, limit=8) == ["<b>first</b>", "<i>second</i>"]


def test_cut_prefers_blank_line_then_line_break_then_space() -> None:
    head = "aaaa bbbb\ncccc dddd"
    html = f"{head}\n\n<b>eeee ffff\ngggg hhhh iiii</b>"
    parts = split_html(html, limit=30)
    assert parts[0] == head  # the blank line wins over the later line break and spaces
    lines = "aaaa bbbb\ncccc dddd eeee ffff gggg"
    parts = split_html(lines, limit=25)
    assert parts[0] == "aaaa bbbb"  # the line break wins over the later spaces
    words = "aaaa bbbb cccc dddd eeee ffff"
    assert split_html(words, limit=12) == ["aaaa bbbb", "cccc dddd", "eeee ffff"]
    check_parts(html, split_html(html, limit=30), 30)


def test_whitespace_at_the_cut_is_stripped() -> None:
    html = "<i>one   \n \n\n   two</i>"
    assert split_html(html, limit=5) == ["<i>one</i>", "<i>two</i>"]
    assert split_plain("one \t\n\n  two", limit=5) == ["one", "two"]


def test_break_just_past_the_limit_is_used() -> None:
    assert split_plain("x" * 10 + " " + "y" * 3, limit=10) == ["x" * 10, "y" * 3]
    assert split_html("<b>" + "x" * 10 + "</b>\n" + "y" * 3, limit=10) == [
        "<b>" + "x" * 10 + "</b>",
        "y" * 3,
    ]


def test_long_word_is_hard_split() -> None:
    word = "".join(chr(ord("a") + i % 26) for i in range(10_000))
    html = f"<code>{word}</code>"
    parts = split_html(html)
    assert [telegram_length(p) for p in parts] == [4096, 4096, 10_000 - 8192]
    assert "".join(check_parts(html, parts, TELEGRAM_LIMIT)) == word
    assert all(p.startswith("<code>") and p.endswith("</code>") for p in parts)
    assert "".join(split_plain(word)) == word


def test_cjk_counts_one_unit_and_emoji_two() -> None:
    cjk = "中国人民银行" * 100  # 600 units, no spaces
    parts = split_html(f"<b>{cjk}</b>", limit=100)
    assert [telegram_length(p) for p in parts] == [100] * 6
    check_parts(f"<b>{cjk}</b>", parts, 100)

    emoji = "😀" * 101  # 202 units: a 101-unit limit holds 50 pairs, never half of one
    parts = split_html(f"<i>{emoji}</i>", limit=101)
    assert [telegram_length(p) for p in parts] == [100, 100, 2]
    check_parts(f"<i>{emoji}</i>", parts, 101)
    assert [utf16_len(p) for p in split_plain(emoji, limit=101)] == [100, 100, 2]


def test_combined_emoji_and_accents_are_kept_whole_when_possible() -> None:
    family = "👨‍👩‍👧"  # 8 units
    parts = split_plain("ab" + family * 3, limit=12)
    assert parts == ["ab" + family, family, family]
    flags = "🇨🇳" * 5  # regional-indicator pairs, 4 units each
    assert split_plain("a" + flags, limit=10) == ["a" + "🇨🇳" * 2, "🇨🇳" * 2, "🇨🇳"]
    accents = "e\u0301" * 10
    assert all(p.startswith("e") for p in split_plain(accents, limit=5))


def test_custom_emoji_is_never_cut() -> None:
    emoji = '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>'
    html = "x" * 9 + emoji + "y" * 9
    parts = split_html(html, limit=10)
    check_parts(html, parts, 10)
    assert parts[1].startswith(emoji)


def test_entities_are_never_cut() -> None:
    html = "&amp;" * 5000 + " &lt;&gt;&quot;&#128512;" * 300
    parts = split_html(html, limit=97)
    plains = check_parts(html, parts, 97)
    assert "".join(plains).count("&") == 5000
    for part in parts:
        for chunk in part.split("&")[1:]:
            assert chunk.split(";")[0] in ("amp", "lt", "gt", "quot", "#128512")


def test_bare_ampersands_stay_literal_in_every_part() -> None:
    # A bare "&" is literal only in context: a part ending in "&T" would lose it, and a
    # "&#" with no ";" later in its part would swallow the rest of the part as text.
    html = "<b>x &# " + "yy " * 5 + "AT&T R&D</b>; AT&T."
    parts = split_html(html, limit=5)
    plains = check_parts(html, parts, 5)
    assert plains[0] == "x &#"
    assert "AT&T" in plains
    html = "AT&T " * 3 + "end"
    assert check_parts(html, split_html(html, limit=5), 5) == ["AT&T"] * 3 + ["end"]


def test_unsupported_entities_are_split_into_valid_parts() -> None:
    parts = split_html("&hellip;&bogus; " * 10, limit=10)
    assert [parse_html(p)[0] for p in parts] == ["…&bogus;"] * 10


def test_split_plain_follows_the_same_preferences() -> None:
    text = "para one line\nstill one\n\npara two is a bit longer than the limit allows"
    parts = split_plain(text, limit=30)
    assert parts[0] == "para one line\nstill one"
    assert all(utf16_len(p) <= 30 and p == p.strip() and p for p in parts)
    assert " ".join(parts).split() == text.split()
    assert split_plain("short <b>text</b>") == ["short <b>text</b>"]


def test_one_megabyte_splits_quickly() -> None:
    paragraph = (
        '<b>PBoC</b> &amp; <a href="https://news.example/?a=1&amp;b=2">Alipay 支付宝</a> '
        "cut off OTC 😀 accounts.\n" * 5
    ) + "\n"
    html = paragraph * (1_000_000 // len(paragraph))
    # CPU time, not wall: a quadratic split still takes seconds of it, but the
    # other test workers (pytest-xdist) and processes on the machine do not count.
    began = time.process_time()
    parts = split_html(html)
    elapsed = time.process_time() - began
    assert elapsed < 1.0, elapsed
    assert all(telegram_length(p) <= TELEGRAM_LIMIT for p in parts)
    parse_html(parts[len(parts) // 2])
    word = "字" * 1_000_000
    began = time.process_time()
    assert len(split_plain(word)) == 245
    assert time.process_time() - began < 1.0


# -- property test -------------------------------------------------------------------------

_WORDS = ["alipay", "OTC", "btc", "x", "中国人民银行", "监管", "😀", "🇨🇳", "👍🏽", "👨‍👩‍👧"]
_ESCAPES = ["&amp;", "&lt;", "&gt;", "&quot;", "&#128512;", "&#x4e2d;", "&#65;"]
_SEPARATORS = [" ", " ", " ", "\n", "\n\n", "  \n \n", "\t"]
_TAGS = [
    ("<b>", "</b>"),
    ("<strong>", "</strong>"),
    ("<i>", "</i>"),
    ("<em>", "</em>"),
    ("<u>", "</u>"),
    ("<ins>", "</ins>"),
    ("<s>", "</s>"),
    ("<strike>", "</strike>"),
    ("<del>", "</del>"),
    ("<tg-spoiler>", "</tg-spoiler>"),
    ('<span class="tg-spoiler">', "</span>"),
    ('<a href="https://news.example/story?id=7&amp;lang=zh">', "</a>"),
    ("<code>", "</code>"),
    ("<pre>", "</pre>"),
    ('<pre><code class="language-python">', "</code></pre>"),
    ("<blockquote>", "</blockquote>"),
    ("<blockquote expandable>", "</blockquote>"),
]


def random_text(rng: random.Random) -> str:
    pieces = []
    for _ in range(rng.randint(1, 8)):
        roll = rng.random()
        if roll < 0.15:
            pieces.append(rng.choice(_ESCAPES))
        elif roll < 0.2:
            pieces.append("z" * rng.randint(20, 120))  # longer than small limits
        else:
            pieces.append(rng.choice(_WORDS))
        pieces.append(rng.choice(_SEPARATORS))
    return "".join(pieces)


def random_html(rng: random.Random, depth: int = 0) -> str:
    pieces = []
    for _ in range(rng.randint(1, 4)):
        roll = rng.random()
        if roll < 0.05:
            pieces.append('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>')
        elif roll < 0.5 and depth < 4:
            opening, closing = rng.choice(_TAGS)
            pieces.append(opening + random_html(rng, depth + 1) + closing)
        else:
            pieces.append(random_text(rng))
    return "".join(pieces)


def test_random_markup_splits_into_valid_parts_within_the_limit() -> None:
    rng = random.Random(20240611)
    split_cases = 0
    for _ in range(400):
        html = random_html(rng)
        parse_html(html)  # the generator only produces valid Telegram HTML
        limit = rng.randint(20, 200)
        parts = split_html(html, limit)
        if telegram_length(html) <= limit and to_plain_text(html).strip():
            assert parts == [html]
            continue
        split_cases += 1
        check_parts(html, parts, limit)
        plain = to_plain_text(html)
        assert to_plain_text(html) == parse_html(html)[0]
        plain_parts = split_plain(plain, limit)
        assert all(utf16_len(p) <= limit for p in plain_parts)
        assert "".join("".join(plain_parts).split()) == "".join(plain.split())
    assert split_cases > 100
