"""crawler.fastfeed gives what feedparser gives, or steps aside.

Every feed the tests, the demo site and the bench make, the captured real
feeds in tests/data/catalog, and hostile ones built here are parsed both ways
(`parse_content`, which tries lxml first, and `parse_with_feedparser`) and the
stories compared field by field; where the fast path answers, its raw values
are compared with feedparser's too.
"""

from __future__ import annotations

import ast
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest

from bench.feeds import Doc, make_corpus
from crawler.fastfeed import entry_time_tuple, parse_fast
from crawler.feeds import as_declared_feed, parse_content, parse_with_feedparser

# feedparser warns when `updated_parsed` falls back to `published_parsed` (crawler.feeds reads it).
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")
ROOT = Path(__file__).resolve().parents[2]
XML_TYPE = {"content-type": "application/rss+xml"}


def _outcome(parse: Any, content: bytes, headers: dict[str, str]) -> Any:
    try:
        return parse(content, "src", "https://site.example/feeds/x.xml", headers, None)
    except Exception as exc:  # FeedError, or whatever else feedparser's values lead to
        return (type(exc).__name__, str(exc))


def _time(value: Any) -> tuple[int, ...] | None:
    return tuple(value)[:6] if value else None


def _feedparser_view(content: bytes, headers: dict[str, str]) -> Any:
    parsed = feedparser.parse(
        content, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
    )
    entries = [
        (
            e.get("title"),
            e.get("link"),
            e.get("id"),
            e.get("summary"),
            (e.get("content") or [{}])[0].get("value"),
            _time(
                dict.get(e, "published_parsed")
                or dict.get(e, "updated_parsed")
                or dict.get(e, "created_parsed")
            ),
        )
        for e in parsed.entries
    ]
    return bool(parsed.get("bozo")), entries, parsed.feed.get("language"), parsed.feed.get("ttl")


def _fast_view(content: bytes, headers: dict[str, str]) -> Any:
    fast = parse_fast(content, headers)
    if fast is None:
        return None
    entries = [
        (
            e.get("title"),
            e.get("link"),
            e.get("id"),
            e.get("summary"),
            (e.get("content") or [{}])[0].get("value"),
            _time(entry_time_tuple(e)),
        )
        for e in fast.entries
    ]
    return False, entries, fast.language, fast.ttl


def assert_same(content: bytes, headers: dict[str, str] | None = None) -> bool:
    """Both ways agree; True if the fast path answered."""
    declared, declared_headers = as_declared_feed(content, headers)
    fast = _fast_view(declared, declared_headers)
    if fast is not None:
        assert fast == _feedparser_view(declared, declared_headers)
    assert _outcome(parse_content, content, headers or {}) == _outcome(
        parse_with_feedparser, declared, declared_headers
    )
    return fast is not None


# ----------------------------------------------------------------------------- fixtures


def _feed_constants() -> Iterator[tuple[str, bytes]]:
    """Every string or bytes constant in the test modules that holds a feed."""
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)):
                value = (
                    node.value
                    if isinstance(node.value, bytes)
                    else node.value.encode("utf-8", "surrogatepass")
                )
                if any(mark in value for mark in (b"<rss", b"<feed", b"<rdf:RDF", b"<item")):
                    yield f"{path.name}:{node.lineno}", value


def _files() -> list[Path]:
    catalog = [p for p in (ROOT / "tests/data/catalog").rglob("*") if p.is_file()]
    demo = list((ROOT / "crackdown/demo/data").glob("*.xml"))
    return sorted(catalog + demo)


@pytest.mark.parametrize(
    "headers",
    [{}, XML_TYPE, {"content-type": "text/xml; charset=utf-8", "content-language": "zh_CN"}],
)
def test_feeds_in_the_tests_parse_alike(headers: dict[str, str]) -> None:
    constants = list(_feed_constants())
    assert len(constants) > 20
    for _where, content in constants:
        assert_same(content, headers)


def test_captured_and_demo_feeds_parse_alike_and_mostly_fast() -> None:
    fast = {path.name: assert_same(path.read_bytes(), XML_TYPE) for path in _files()}
    demo = [p.name for p in (ROOT / "crackdown/demo/data").glob("*.xml")]
    assert demo and all(fast[name] for name in demo)
    assert sum(fast.values()) >= 10


def test_bench_feeds_parse_alike_and_all_fast() -> None:
    corpus = make_corpus(24, 12, seed=7, n_hosts=2)
    for spec in corpus.specs:
        content_type = Doc(spec, b"", None, None, None).content_type
        assert assert_same(corpus.bodies[spec.path], {"content-type": content_type})


def test_fast_path_is_several_times_faster_than_feedparser() -> None:
    """The point of it: a 50-entry feed in a fraction of feedparser's time."""
    bodies = list(make_corpus(6, 50, seed=3, n_hosts=1).bodies.values())

    def cpu(parse: Any) -> float:
        started = time.process_time()
        for _ in range(3):
            for body in bodies:
                parse(body, XML_TYPE)
        return time.process_time() - started

    slow = cpu(lambda b, h: feedparser.parse(b, response_headers=h, sanitize_html=False))
    assert cpu(parse_fast) * 4 < slow


# ----------------------------------------------------------------------------- hostile feeds

ITEM = "<item><title>{title}</title><link>{link}</link>{more}</item>"
PLAIN = {
    "title": "PBoC bans ICOs",
    "link": "https://site.example/a",
    "more": "<pubDate>Fri, 19 Jan 2018 17:30:00 +0800</pubDate><description>S</description>",
}


def rss(
    items: str = "",
    *,
    channel: str = "",
    root: str = "",
    declaration: str = '<?xml version="1.0" encoding="utf-8"?>',
    **item: str,
) -> str:
    body = items or ITEM.format(**{**PLAIN, **item})
    return (
        f'{declaration}<rss version="2.0"{root}><channel><title>t</title>'
        f"<link>https://site.example/</link>{channel}{body}</channel></rss>"
    )


def atom(entries: str, *, root: str = "", feed: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<feed xmlns="http://www.w3.org/2005/Atom"{root}><title>t</title>'
        f"<id>tag:site.example,2024:feed</id><updated>2024-06-01T00:00:00Z</updated>"
        f"{feed}{entries}</feed>"
    )


def entry(body: str) -> str:
    return f"<entry>{body}</entry>"


ATOM_BASICS = (
    "<title>T</title><id>tag:site.example,2024:1</id><updated>2024-06-01T08:00:00+08:00</updated>"
)
DC = 'xmlns:dc="http://purl.org/dc/elements/1.1/"'
CONTENT = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'

HOSTILE_TEXT: list[str] = [
    # markup, entities, CDATA
    rss(title="&lt;b&gt;PBoC&lt;/b&gt; bans ICOs &amp;amp; more"),
    rss(title="<![CDATA[<b>PBoC</b> & friends]]>"),
    rss(title="<b>PBoC</b> bans"),
    rss(title="PBoC &#60;b&#62;bans&#60;/b&#62; &#x202E;gpj.exe"),
    rss(title="Caf&#233; &#133; &#150; dash &#128;"),
    rss(title="CafÃ© mojibake Ã¤"),
    rss(title="\u3000  Padded title \n\t"),
    rss(title="   "),
    rss(title="PBoC &nbsp; bans"),
    rss(title="a <!-- comment --> b"),
    rss(title="a <?pi x?> b"),
    rss(more="<description><![CDATA[<p>Banks <b>must not</b></p>]]></description>"),
    rss(more="<description>&lt;p&gt;Banks &lt;script&gt;x()&lt;/script&gt;</description>"),
    rss(more="<description><p>real markup</p></description>"),
    rss(more="<description type='html'>&lt;i&gt;x&lt;/i&gt;</description>"),
    rss(more="<description mode='base64'>QUJD</description>"),
    rss(more="<description></description>"),
    rss(more="<description>A</description><description>B</description>"),
    rss(title="", more="<title>Second</title>"),
    rss(more="<title>Second</title>"),
    rss(more="<dc:title>DC title</dc:title>", root=f" {DC}"),
    rss(more="<media:title>M</media:title>", root=' xmlns:media="http://search.yahoo.com/mrss/"'),
    rss(
        more="<media:group><media:content url='https://x.example/v.mp4'/></media:group>",
        root=' xmlns:media="http://search.yahoo.com/mrss/"',
    ),
    # content:encoded and descriptions in both orders, under other prefixes
    rss(more="<description>D</description><content:encoded>&lt;p&gt;C&lt;/p&gt;</content:encoded>"),
    rss(
        more="<content:encoded>C</content:encoded><description>D</description>", root=f" {CONTENT}"
    ),
    rss(more="<content:encoded>C</content:encoded>", root=f" {CONTENT}"),
    rss(more="<content:encoded>C</content:encoded><description></description>", root=f" {CONTENT}"),
    rss(
        more="<c:encoded>C</c:encoded>", root=' xmlns:c="http://purl.org/rss/1.0/modules/content/"'
    ),
    rss(
        more="<content:encoded>A</content:encoded><content:encoded>B</content:encoded>",
        root=f" {CONTENT}",
    ),
    # links
    rss(link="/relative/path.html"),
    rss(link="story.html"),
    rss(link="  https://site.example/spaced  "),
    rss(link="https:///site.example/three-slashes"),
    rss(link="https://site.example/q?a=1&amp;b=2"),
    rss(link="https://site.example/q?a=1&amp;amp;b=2&amp;copy;"),
    rss(link="javascript:alert(1)"),
    rss(link=""),
    rss(link="https://site.example/\u00e9t\u00e9"),
    rss(link="https://site.example/a</link><link>https://site.example/b"),
    rss(link="x", more="<atom:link href='https://site.example/atom'/>").replace(
        "<rss ", '<rss xmlns:atom="http://www.w3.org/2005/Atom" '
    ),
    rss(link="x", more="<link href='https://site.example/h' rel='self'/>"),
    rss(link="https://site.example/a", more="<link/>"),
    # guids
    rss(more="<guid>https://site.example/guid</guid>"),
    rss(more="<guid isPermaLink='false'>https://site.example/guid</guid>"),
    rss(more="<guid isPermaLink='True'>g</guid>"),
    rss(items="<item><title>T</title><guid>https://site.example/only-guid</guid></item>"),
    rss(items="<item><title>T</title><guid isPermaLink='false'>g-1</guid></item>"),
    rss(
        items="<item><guid>https:////site.example/g</guid><link>https://site.example/l</link></item>"
    ),
    rss(items="<item><title>T</title><description>no link at all</description></item>"),
    rss(more="<guid>a</guid><guid>b</guid>"),
    # dates
    *(
        rss(more=f"<pubDate>{value}</pubDate>")
        for value in (
            "Fri, 19 Jan 2018 17:30:00 GMT",
            "19 Jan 2018 17:30:00 EST",
            "Fri, 19 Jan 18 17:30 +0800",
            "Friday, 19-Jan-2018 17:30:00 CST",
            "2018-01-19T17:30:00+08:00",
            "2018-01-19T17:30:00.123Z",
            "2018-01-19 17:30:00",
            "2018-01-19",
            "2018年1月19日 17:30",
            "not a date",
            "",
        )
    ),
    rss(more="<pubDate>bad</pubDate><dc:date>2018-01-19T17:30:00Z</dc:date>", root=f" {DC}"),
    rss(more="<dc:date>2018-01-19T17:30:00+08:00</dc:date>", root=f" {DC}"),
    rss(
        more="<dcterms:created>2018-01-19</dcterms:created>",
        root=' xmlns:dcterms="http://purl.org/dc/terms/"',
    ),
    rss(more="<pubDate>Fri, 19 Jan 2018 17:30:00 GMT</pubDate><pubDate>2019-01-01</pubDate>"),
    rss(more="<lastBuildDate>Fri, 19 Jan 2018 17:30:00 GMT</lastBuildDate>"),
    rss(more="<PubDate>Fri, 19 Jan 2018 17:30:00 GMT</PubDate><Title>Upper</Title>"),
    # prefixes, namespaces, structure
    rss(
        more="<dcx:date>2018-01-19T17:30:00Z</dcx:date>",
        root=' xmlns:dcx="http://purl.org/dc/elements/1.1/"',
    ),
    rss(
        more="<dc:date>2018-01-19T17:30:00Z</dc:date>", root=' xmlns:dc="http://example.com/not-dc"'
    ),
    rss(more="<x:title>X</x:title>", root=' xmlns:x="http://example.com/x"'),
    rss(more="<x:anything a='1'>X</x:anything>", root=' xmlns:x="http://example.com/x"'),
    rss(
        more="<dc:creator>Ann</dc:creator><author>a@b.example</author><category>c</category>",
        root=f" {DC}",
    ),
    rss(
        more="<comments>https://site.example/c</comments><enclosure url='https://x.example/a.mp3'/>"
    ),
    rss(more="<source url='https://other.example/rss'>Other</source>"),
    rss(more="<published_parsed>x</published_parsed>"),
    rss(more="<summary>S2</summary>"),
    rss(more="<foo><title>inner</title></foo>"),
    rss(more="<ttl>5</ttl><language>fr</language>"),
    rss(more="<image><title>image</title></image>"),
    rss(channel="<language>zh_CN</language><ttl>30</ttl>"),
    rss(channel="<dc:language>zh-tw</dc:language>", root=f" {DC}"),
    rss(channel="<ttl unit='min'>30</ttl>"),
    rss(channel="<image><language>de</language></image>"),
    rss(
        channel="<image><item><title>in image</title><link>https://x.example/i</link></item></image>"
    ),
    rss(
        channel="<atom:link rel='self' href='https://site.example/rss'/>",
        root=' xmlns:atom="http://www.w3.org/2005/Atom"',
    ),
    rss(root=' xml:lang="en_GB"'),
    rss(root=' xmlns="http://backend.userland.com/rss2"'),
    rss(root=' xmlns="http://example.com/unknown-default"'),
    rss(channel='<x:y xmlns:x="http://example.com/x">late namespace</x:y>'),
    rss(items="<item xml:base='https://base.example/'><title>T</title><link>rel</link></item>"),
    rss(items="<item href='https://cdf.example/'><title>T</title></item>"),
    rss(channel="<!-- a comment --><?pi here?>"),
    rss(items="<item BASE='https://base.example/'><title>T</title><link>rel</link></item>"),
    rss(items="<item><title>T</title><link Base='https://base.example/'>rel</link></item>"),
    rss(root=' LANG="de"'),
    rss(root=' xmlns:x="http://example.com/x" x:lang="de"'),
    rss(root=' xmlns:x="http://example.com/x" x:base="https://base.example/"', link="rel"),
    rss(declaration='<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e "expanded">]>', title="&e;"),
    rss(declaration='<?xml version="1.1" encoding="utf-8"?>'),
    rss(title="unclosed <b"),
    rss(title="bad \x0c char"),
    "<rss><channel><item><title>T</title><link>https://x.example/</link></item></channel>",
    '<rss version="2.0"><channel></channel></rss>',
    '<rss version="2.0"><item><title>T</title><link>https://x.example/o</link></item></rss>',
    '{"version": "https://jsonfeed.org/version/1", "items": []}',
    "<html><body>not a feed</body></html>",
    "",
    # RSS 1.0
    (
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        f'xmlns="http://purl.org/rss/1.0/" {DC}><channel rdf:about="https://site.example/">'
        "<title>t</title><link>https://site.example/</link><dc:language>ja</dc:language>"
        "<items><rdf:Seq><rdf:li rdf:resource='https://site.example/1'/></rdf:Seq></items>"
        "</channel><item rdf:about='https://site.example/1'><title>One</title>"
        "<link>https://site.example/1</link><dc:date>2018-01-19T17:30:00+08:00</dc:date>"
        "<description>d</description></item>"
        "<item rdf:about='urn:x:2'><title>Two</title><dc:date>2018</dc:date></item></rdf:RDF>"
    ),
    # Atom
    atom(
        entry(
            ATOM_BASICS + '<link href="https://site.example/1"/>'
            '<summary type="html">&lt;p&gt;S&lt;/p&gt;</summary>'
        )
    ),
    atom(entry(ATOM_BASICS + '<link rel="self" href="https://site.example/self"/>')),
    atom(entry(ATOM_BASICS)),
    atom(entry("<title>T</title><id>https:///site.example/id</id>")),
    atom(
        entry(
            ATOM_BASICS
            + '<link rel="alternate" type="application/pdf" href="https://site.example/p.pdf"/>'
        )
    ),
    atom(entry(ATOM_BASICS + '<link rel="Alternate" type="HTML" href="https://site.example/u"/>')),
    atom(entry(ATOM_BASICS + '<link rel="" href="https://site.example/empty-rel"/>')),
    atom(
        entry(
            ATOM_BASICS
            + '<link href="https://site.example/a"/><link href="https://site.example/b"/>'
        )
    ),
    atom(
        entry(
            '<link href="https://site.example/first"/>'
            + ATOM_BASICS
            + '<link rel="enclosure" href="https://x.example/e.mp3"/>'
        )
    ),
    atom(entry(ATOM_BASICS + '<link href="/relative"/>')),
    atom(entry(ATOM_BASICS + '<link url="https://site.example/url-attr"/>')),
    atom(entry(ATOM_BASICS + "<link>https://site.example/text-link</link>")),
    atom(entry(ATOM_BASICS + '<content type="html">&lt;p&gt;C&lt;/p&gt;</content>')),
    atom(entry(ATOM_BASICS + '<content type="html">C</content><summary>S</summary>')),
    atom(entry(ATOM_BASICS + '<summary>S</summary><content type="text">C</content>')),
    atom(entry(ATOM_BASICS + '<content src="https://site.example/c"/>')),
    atom(
        entry(
            ATOM_BASICS
            + '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>X</p></div></content>'
        )
    ),
    atom(entry(ATOM_BASICS + '<summary type="xhtml">plain</summary>')),
    atom(entry(ATOM_BASICS + '<content type="application/octet-stream">QUJD</content>')),
    atom(
        entry(
            "<title type='html'>&lt;b&gt;T&lt;/b&gt;</title><id>i</id>"
            "<published>2018-01-19T17:30:00Z</published>"
        )
    ),
    atom(
        entry(
            ATOM_BASICS + "<author><name>Ann</name><email>a@b.example</email>"
            "<uri>https://a.example</uri></author><category term='x'/>"
        )
    ),
    atom(entry(ATOM_BASICS + "<source><title>S</title><id>s</id></source>")),
    atom(entry(ATOM_BASICS + "<published>2017-01-01T00:00:00Z</published>")),
    atom(
        entry(
            "<title>T</title><id>i</id><updated>garbage</updated><published>2018-02-03</published>"
        )
    ),
    atom(entry(ATOM_BASICS), root=' xml:lang="zh-Hant"'),
    atom(entry(ATOM_BASICS), root=' xml:lang=""'),
    atom(entry(ATOM_BASICS), feed="<language>ko</language>"),
    atom(entry(ATOM_BASICS), root=' xml:base="https://base.example/"'),
    atom(entry(ATOM_BASICS + "<title>Again</title>")),
    (
        '<?xml version="1.0"?><a:feed xmlns:a="http://www.w3.org/2005/Atom"><a:entry><a:title>P</a:title>'
        '<a:id>tag:x</a:id><a:link href="https://site.example/p"/><a:updated>2018-01-19T00:00:00Z'
        "</a:updated></a:entry></a:feed>"
    ),
    (
        '<?xml version="1.0"?><feed xmlns="http://purl.org/atom/ns#" version="0.3"><entry>'
        '<title>Old</title><link rel="alternate" type="text/html" href="https://site.example/o"/>'
        "<id>o</id><issued>2004-01-01T00:00:00Z</issued><modified>2004-01-02T00:00:00Z</modified>"
        '<content type="text/html" mode="escaped">&lt;p&gt;x&lt;/p&gt;</content></entry></feed>'
    ),
]


@pytest.mark.parametrize("index", range(len(HOSTILE_TEXT)))
def test_hostile_feeds_parse_alike(index: int) -> None:
    text = HOSTILE_TEXT[index]
    assert_same(text.encode("utf-8"), XML_TYPE)
    assert_same(text.encode("utf-8"), {})


CHINESE = "央行：严禁为虚拟货币交易提供服务"


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        # Chinese encodings without any declaration (as_declared_feed decodes them)
        (rss(title=CHINESE, declaration="").encode("gb18030"), {}),
        (rss(title="臺灣金管會禁止虛擬貨幣", declaration="").encode("big5"), {}),
        (rss(title=CHINESE, declaration="").encode("gb18030"), XML_TYPE),
        # declared one way, written another
        (rss(title=CHINESE).encode("gb18030"), XML_TYPE),
        (rss(title=CHINESE).encode("utf-8"), {"content-type": "application/xml; charset=gbk"}),
        (
            rss(title=CHINESE, declaration='<?xml version="1.0" encoding="gb2312"?>').encode("gbk"),
            XML_TYPE,
        ),
        (
            rss(title="Café", declaration='<?xml version="1.0" encoding="iso-8859-1"?>').encode(
                "utf-8"
            ),
            {},
        ),
        (rss(title="“quoted” – Café", declaration="").encode("windows-1252"), {}),
        (rss(title=CHINESE).encode("utf-8"), {"content-type": "text/xml"}),
        (rss(title=CHINESE).encode("utf-8"), {"content-type": "text/html; charset=utf-8"}),
        (b"\xef\xbb\xbf" + rss(title=CHINESE).encode("utf-8"), {}),
        (rss(title=CHINESE, declaration="").encode("utf-16"), {}),
        (
            rss(title=CHINESE, declaration='<?xml version="1.0" encoding="utf-16"?>').encode(
                "utf-16-le"
            ),
            {},
        ),
        (rss(title=CHINESE).encode("utf-8"), {"content-location": "https://loc.example/"}),
        (rss(title=CHINESE).encode("utf-8"), {"content-language": "zh_TW"}),
    ],
)
def test_hostile_encodings_parse_alike(body: bytes, headers: dict[str, str]) -> None:
    assert_same(body, headers)


def test_the_fast_path_answers_for_plain_rss_atom_and_rdf() -> None:
    """Equivalence means nothing if the fast path always steps aside."""
    for text in (
        rss(),
        HOSTILE_TEXT[0],
        atom(entry(ATOM_BASICS + '<link href="https://x.example/"/>')),
    ):
        assert parse_fast(text.encode(), XML_TYPE) is not None
    rdf = next(t for t in HOSTILE_TEXT if "rdf:RDF" in t)
    assert parse_fast(rdf.encode(), XML_TYPE) is not None


ITEM_PARTS = [
    "<title>T &amp; U</title>",
    "<title></title>",
    "<title type='html'>&lt;b&gt;B&lt;/b&gt;</title>",
    "<title><![CDATA[C & D]]></title>",
    "<dc:title>DC</dc:title>",
    "<link>https://site.example/a?x=1&amp;y=2</link>",
    "<link>/rel</link>",
    "<link></link>",
    "<link href='https://site.example/h'/>",
    "<link rel='self' href='https://site.example/s'/>",
    "<link rel='alternate' type='text/html' href='https://site.example/alt'/>",
    "<guid>https://site.example/g</guid>",
    "<guid isPermaLink='false'>g-1</guid>",
    "<id>tag:site.example,2024:x</id>",
    "<description>&lt;p&gt;D&lt;/p&gt;</description>",
    "<description></description>",
    "<summary type='html'>S</summary>",
    "<content:encoded><![CDATA[<p>C</p>]]></content:encoded>",
    "<content type='html'>&lt;i&gt;C&lt;/i&gt;</content>",
    "<pubDate>Fri, 19 Jan 2018 17:30:00 +0800</pubDate>",
    "<pubDate>garbage</pubDate>",
    "<published>2018-01-19T17:30:00Z</published>",
    "<updated>2019-02-03T04:05:06+08:00</updated>",
    "<dc:date>2020-01-01</dc:date>",
    "<author>a@b.example (A)</author>",
    "<author><name>N</name></author>",
    "<category domain='d'>c</category>",
    "<dc:creator>C</dc:creator>",
    "<comments>https://site.example/c</comments>",
    "<enclosure url='https://x.example/e.mp3' length='1' type='audio/mpeg'/>",
    "<media:thumbnail url='https://x.example/t.jpg'/>",
    "<media:title>MT</media:title>",
    "<x:extra>e</x:extra>",
    "<x:extra a='1'/>",
    "<source url='https://o.example/'>O</source>",
    "<!-- c -->",
    "<language>fr</language>",
    "<ttl>9</ttl>",
    "<image><title>i</title></image>",
]
FEED_PARTS = [
    "<language>zh-cn</language>",
    "<dc:language>en_GB</dc:language>",
    "<ttl>15</ttl>",
    "<ttl/>",
    "<image><url>https://x.example/i.png</url><title>i</title></image>",
    "<atom:link rel='self' href='https://site.example/rss'/>",
    "<x:meta>m</x:meta>",
    "<lastBuildDate>Fri, 19 Jan 2018 17:30:00 GMT</lastBuildDate>",
]
NAMESPACES = (
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ' xmlns:media="http://search.yahoo.com/mrss/" xmlns:x="http://example.com/x"'
)


def test_random_feeds_parse_alike() -> None:
    """A seeded fuzz over the shapes above: items of random parts, RSS and Atom."""
    rng = random.Random(1206)
    fast = 0
    for _ in range(400):
        items = "".join(
            "<{0}>{1}</{0}>".format(
                "item" if rng.random() < 0.5 else "entry",
                "".join(rng.choice(ITEM_PARTS) for _ in range(rng.randint(1, 6))),
            )
            for _ in range(rng.randint(0, 3))
        )
        extra = "".join(rng.choice(FEED_PARTS) for _ in range(rng.randint(0, 2)))
        lang = rng.choice(["", ' xml:lang="de"', ' xml:lang=""'])
        if rng.random() < 0.5:
            text = (
                f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"{NAMESPACES}{lang}'
                f' xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t</title>{extra}'
                f"{items.replace('<entry>', '<item>').replace('</entry>', '</item>')}"
                "</channel></rss>"
            )
        else:
            text = (
                f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"'
                f"{NAMESPACES}{lang}><title>t</title>{extra.replace('atom:', '')}"
                f"{items.replace('<item>', '<entry>').replace('</item>', '</entry>')}</feed>"
            )
        fast += assert_same(text.encode(), XML_TYPE)
    assert fast > 100
