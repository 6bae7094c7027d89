"""clean_text's regex path for simple markup gives what HTMLParser gives, or steps aside."""

from __future__ import annotations

import random

from bench.feeds import make_corpus
from crawler.text import _SPACE, _simple_markup_text, clean_text, collected_text, strip_invisible


def by_html_parser(markup: str) -> str:
    return _SPACE.sub(" ", strip_invisible(collected_text(markup))).strip()


PIECES = [
    "word",
    " ",
    "\n",
    "\t",
    "央行",
    "\u200b",
    "\u202e",
    "&amp;",
    "&amp",
    "&lt;b&gt;",
    "&#60;",
    "&#x3C;",
    "&#0;",
    "&#xD800;",
    "&#1114112;",
    "&nbsp;",
    "&nbsp",
    "&notin;",
    "&noti",
    "&copy",
    "&;",
    "&#;",
    "&#x;",
    "&unknown;",
    "amp;",
    "lt;",
    "#60;",
    "copy",
    "&amp;amp;",
    "&",
    "<",
    ">",
    "<<",
    "</",
    "<!--",
    "-->",
    "<!-- c -->",
    "<!DOCTYPE html>",
    "<?pi?>",
    "<![CDATA[x]]>",
    "<p>",
    "</p>",
    "<P>",
    "</P >",
    "<br>",
    "<br/>",
    "<br />",
    "<BR/>",
    "<div class='x'>",
    "</div>",
    '<a href="https://x.example/a?b=1&amp;c=2">',
    "</a>",
    "<a href=x>",
    "<a href='x'title='y'>",
    '<img src="i.png" alt="a>b"/>',
    "<img src='i.png' alt=\"\">",
    "<input disabled>",
    "<li>",
    "</li>",
    '<h2 id="t">',
    "</h2>",
    "<script>",
    "</script>",
    "<script>a<b</script>",
    "<style>p{}</style>",
    "<title>",
    "</title>",
    "<textarea>",
    "<noscript>",
    "<template>",
    "<applet>",
    "<b>",
    "</b>",
    "<span\nclass='s'>",
    "</span>",
    "<x-y>",
    "<a/b>",
    "<1>",
    "</ p>",
    "<p/x>",
    "< p>",
    "<tr><td>",
    "</td></tr>",
]


def test_random_markup_is_read_alike() -> None:
    rng = random.Random(20261206)
    fast = 0
    for _ in range(20000):
        markup = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))
        assert clean_text(markup) == by_html_parser(markup), markup
        fast += _simple_markup_text(markup) is not None
    assert fast > 2000  # the regex path was exercised, not only HTMLParser


def test_feed_summaries_are_read_alike_and_by_the_regex() -> None:
    from crawler.fastfeed import parse_fast

    corpus = make_corpus(8, 20, seed=5, n_hosts=1)
    texts = []
    for body in corpus.bodies.values():
        feed = parse_fast(body, {"content-type": "application/xml"})
        assert feed is not None
        texts += [e["summary"] for e in feed.entries] + [e["title"] for e in feed.entries]
    for text in texts:
        assert clean_text(text) == by_html_parser(text)
    assert all(_simple_markup_text(t) is not None for t in texts if "<" in t)
