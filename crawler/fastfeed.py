"""Well-formed RSS 2.0, RSS 1.0 and Atom 1.0 read with lxml, as feedparser would read them.

Why: feedparser is pure Python (a SAX handler call per element and per text
piece, then its own bookkeeping) and took about 8 ms of CPU per feed of 50
entries, most of a polling cycle's parsing; lxml builds the same document in
about 0.3 ms. What: the values feedparser gives for the fields crackdown reads
(`crawler.feeds.parse_content`: an entry's title, link, id, summary, content
and dates; the feed's language and RSS `<ttl>`), computed with feedparser's
own pieces (its encoding detection, date parser, URI fixer and cp1252 map)
wherever they apply. A document this module does not fully understand (not
well-formed, a DOCTYPE, xml:base below the root, an element whose feedparser handler could
change those fields, a repeated title or summary...) gets None, and
feedparser parses it as before: the fast path is an optimisation, never a
second opinion. tests/crawler/test_fastfeed.py compares both on every feed
the tests, the demo site and the bench make, and on hostile ones.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from feedparser.api import StrictFeedParser
from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.html import _cp1252
from feedparser.urls import _urljoin
from lxml import etree

# Namespace URIs as feedparser knows them (lower case) -> its prefix for their elements.
_KNOWN = {uri.lower(): prefix for uri, prefix in StrictFeedParser.namespaces.items()}
_CANONICAL = frozenset(_KNOWN.values())
_XML = "{http://www.w3.org/XML/1998/namespace}"
_XML_LANG = _XML + "lang"
_ROOT_PLAIN = frozenset({_XML_LANG, "lang", _XML + "base", "base"})
_RDF_ABOUT = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}about"
_CP1252_RANGE = re.compile("[\x80-\x9f]")
# Attributes that make feedparser resolve links against a base (`xml:base`, `base`): one on
# the root is understood here, any other sends the document to feedparser.
_BASE_ATTRIBUTE = re.compile(rb"base\s*=")  # a literal first: 30 times faster than [\s:]base
_BEFORE_BASE = frozenset((b" ", b"\t", b"\n", b"\r", b":"))
_LINK_QUERY_FIX = re.compile("&([A-Za-z0-9_]+);")

# What an entry's direct children may be; anything else sends the feed to feedparser.
_TITLE = frozenset({"title", "dc:title"})
_PUBLISHED = frozenset({"published", "issued", "pubdate", "dcterms:issued"})
_UPDATED = frozenset({"updated", "modified", "lastbuilddate", "dc:date", "dcterms:modified"})
_CREATED = frozenset({"created", "dcterms:created"})
# Elements that set one of the values read, by the value; each at most once in an entry.
_GROUPS = {
    **dict.fromkeys(_TITLE, "title"),
    **dict.fromkeys(("description", "summary"), "summary"),
    **dict.fromkeys(("content", "content:encoded"), "content"),
    **dict.fromkeys(("guid", "id"), "id"),
    **dict.fromkeys(_PUBLISHED, "published"),
    **dict.fromkeys(_UPDATED, "updated"),
    **dict.fromkeys(_CREATED, "created"),
}
# Elements with a feedparser handler that touches nothing parse_content reads (leaves only).
_INERT = frozenset(
    {
        "author",
        "category",
        "comments",
        "enclosure",
        "source",
        "language",
        "dc:language",
        "dc:creator",
        "dc:subject",
        "media:content",
        "media:thumbnail",
    }
)
_PEOPLE = frozenset({"author", "contributor"})  # Atom: with name, email and uri children
_PERSON_PARTS = frozenset({"name", "email", "uri"})
# Entry keys parse_content reads or feedparser derives them from: a generic element (one
# without a handler) stored under one of these names would change them.
_ENTRY_KEYS = frozenset(
    {"title", "link", "links", "id", "guidislink", "summary", "content", "source"}
    | {
        f"{kind}{suffix}"
        for kind in ("published", "updated", "created")
        for suffix in ("", "_parsed")
    }
)
# Names that change where feedparser stores what follows, wherever they are.
_STRUCTURAL = frozenset(
    {"rss", "channel", "feed", "item", "entry", "language", "dc:language", "ttl"}
)
_FEED_LANGUAGE = frozenset({"language", "dc:language"})
_TEXT_TYPES = frozenset({"text", "html", "text/plain", "text/html"})
_LINK_ATTRIBUTES = frozenset({"href", "rel", "type", "title", "hreflang", "length"})


class Unsupported(Exception):
    """Something feedparser treats in a way this module does not copy: let feedparser parse."""


@dataclass
class FastFeed:
    """The parts of feedparser's result that parse_content reads."""

    entries: list[dict[str, Any]] = field(default_factory=list)
    language: str | None = None
    ttl: str | None = None


def parse_fast(content: bytes, headers: Mapping[str, str]) -> FastFeed | None:
    """The feed as feedparser would give it, or None where feedparser must parse it.

    `headers` are the response headers with lower-case names, as feedparser
    is given them.
    """
    if "content-location" in headers:
        return None  # a base URI for relative links: feedparser's job
    result: dict[str, Any] = {}
    data = convert_to_utf8(headers, content, result)
    if result.get("bozo") or not result.get("encoding"):
        return None  # feedparser would warn, or parse loosely
    lowered = data.lower()  # feedparser reads attribute names in lower case
    bases = sum(
        lowered[m.start() - 1 : m.start()] in _BEFORE_BASE
        for m in _BASE_ATTRIBUTE.finditer(lowered)
    )
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except (etree.XMLSyntaxError, ValueError):
        return None
    if len(parser.error_log) or root.getroottree().docinfo.doctype:
        return None
    if any(
        key.rsplit("}", 1)[-1].lower() in ("lang", "base") and key not in _ROOT_PLAIN
        for key in root.attrib
    ):
        return None  # another spelling or namespace that feedparser also reads as lang or base
    base = root.get(_XML + "base", root.get("base"))
    if bases > (base is not None):
        return None  # a base below the root: feedparser's job
    try:
        return _Reader(root, data, headers, base or "").read()
    except Unsupported:
        return None


def _others(element: etree._Element, allowed: frozenset[str] | set[str]) -> bool:
    """Whether the element has an attribute outside `allowed`."""
    attributes = element.attrib
    return bool(attributes) and any(name not in allowed for name in attributes)


def fp_text(text: str | None, base: str | None = None) -> str:
    """An element's text as feedparser's `pop` leaves it (stripped, mis-decoded UTF-8 fixed).

    `base`: a link or permalink id, which feedparser resolves against its base URI first.
    """
    out = (text or "").strip()
    if base is not None and out:
        out = _urljoin(base, out)
    if out.isascii():
        return out
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        out = out.encode("iso-8859-1").decode("utf-8")
    return out.translate(_cp1252) if _CP1252_RANGE.search(out) else out


class _Reader:
    def __init__(
        self, root: etree._Element, data: bytes, headers: Mapping[str, str], base: str
    ) -> None:
        self.root = root
        self.base = _urljoin("", base)  # feedparser's base URI, given on the root if at all
        self.headers = headers
        self._names: dict[str, str] = {}
        self._check_namespaces(data)

    def _check_namespaces(self, data: bytes) -> None:
        """All declarations on the root, each unknown URI under one prefix, no prefix reused.

        feedparser names an element by its namespace's usual prefix, or, for a
        namespace it does not know, by the document's prefix; then looks the
        name up among its handlers. Declarations elsewhere could rebind a prefix.
        """
        declared = self.root.nsmap
        if data.count(b"xmlns") != len(declared):
            raise Unsupported("namespace declarations below the root")
        unknown: dict[str, str | None] = {}
        for prefix, uri in declared.items():
            low = uri.lower()
            if prefix is not None and (prefix != prefix.lower() or ":" in prefix):
                raise Unsupported("upper-case prefix")
            if "backend.userland.com/rss" in low:
                raise Unsupported("userland namespace")
            canonical = _KNOWN.get(low)
            if canonical is None:
                if uri in unknown or (prefix is not None and prefix in _CANONICAL):
                    raise Unsupported("unknown namespace under a known prefix, or twice")
                unknown[uri] = prefix
            elif prefix is not None and prefix in _CANONICAL and prefix != canonical:
                raise Unsupported("a usual prefix bound to another namespace")
        self._unknown = unknown

    def name(self, tag: str) -> str:
        """feedparser's name for an element: `prefix:local` or `local`, lower case."""
        cached = self._names.get(tag)
        if cached is not None:
            return cached
        if tag[0] == "{":
            uri, local = tag[1:].split("}", 1)
            prefix = _KNOWN.get(uri.lower())
            if prefix is None:
                prefix = self._unknown.get(uri) or ""
        else:
            prefix, local = "", tag
        name = f"{prefix}:{local}".lower() if prefix else local.lower()
        self._names[tag] = name
        return name

    @staticmethod
    def key(name: str) -> str:
        return name.replace(":", "_", 1)

    def elements(self, parent: etree._Element) -> Iterator[tuple[str, etree._Element]]:
        for child in parent:
            if isinstance(child.tag, str):  # not a comment or processing instruction
                yield self.name(child.tag), child

    def read(self) -> FastFeed:
        feed = FastFeed()
        content_language = self.headers.get("content-language")
        if content_language:
            feed.language = content_language.replace("_", "-")
        root_name = self.name(self.root.tag)
        if root_name in ("rss", "feed"):
            lang = self.root.get(_XML_LANG, self.root.get("lang"))
            if lang:
                feed.language = lang.replace("_", "-")
        if root_name == "rss":
            for name, child in self.elements(self.root):
                if name == "channel":
                    self._channel(child, feed)
                else:
                    self._no_structure(child)
        elif root_name == "feed":
            self._channel(self.root, feed, entry_name="entry", check_self=False)
        elif root_name == "rdf:rdf":
            for name, child in self.elements(self.root):
                if name == "item":
                    feed.entries.append(self._entry(child))
                elif name == "channel":
                    self._channel(child, feed, entry_name=None)
                else:
                    self._no_structure(child)
        else:
            raise Unsupported(f"root element {root_name}")
        return feed

    def _channel(
        self,
        channel: etree._Element,
        feed: FastFeed,
        *,
        entry_name: str | None = "item",
        check_self: bool = True,
    ) -> None:
        if check_self and _others(channel, {_XML_LANG, _RDF_ABOUT}):
            raise Unsupported("attributes on the channel")  # CDF's lastmod and href, and others
        for name, child in self.elements(channel):
            if name == entry_name:
                feed.entries.append(self._entry(child))
            elif name in _FEED_LANGUAGE:
                feed.language = self._leaf_text(child, attributes=False)
            elif name == "ttl":
                feed.ttl = self._leaf_text(child, attributes=False)
            else:
                self._no_structure(child)

    def _no_structure(self, element: etree._Element) -> None:
        """Nothing below that starts an entry, a feed, or sets the feed's language or ttl."""
        for descendant in element.iter():
            if isinstance(descendant.tag, str) and self.name(descendant.tag) in _STRUCTURAL:
                raise Unsupported(f"{self.name(descendant.tag)} out of place")

    @staticmethod
    def _leaf_text(element: etree._Element, *, attributes: bool = True) -> str:
        if len(element) or (not attributes and _others(element, {_XML_LANG})):
            raise Unsupported("markup or attributes in a text element")
        return fp_text(element.text)

    def _text_element(self, element: etree._Element) -> str:
        """A title, summary or content: text (escaped HTML is text) of a known type."""
        extra = _others(element, {_XML_LANG, "type"})
        kind = element.get("type")
        if extra or (kind is not None and kind.lower() not in _TEXT_TYPES):
            raise Unsupported("a content type or attribute feedparser treats specially")
        return self._leaf_text(element)

    def _entry(self, item: etree._Element) -> dict[str, Any]:
        entry: dict[str, Any] = {}
        if _others(item, {_XML_LANG, _RDF_ABOUT}):
            raise Unsupported("attributes on an item")  # CDF's lastmod and href, and others
        about = item.get(_RDF_ABOUT)
        if about:
            entry["id"] = about
        seen: set[str] = set()
        for name, child in self.elements(item):
            group = _GROUPS.get(name)
            if group is not None:
                if group in seen:
                    raise Unsupported(f"{group} twice")
                seen.add(group)
            if group == "title":
                entry["title"] = self._text_element(child)
            elif group == "summary":
                entry["summary"] = self._text_element(child)
            elif group == "content":
                value = self._text_element(child)
                entry["content"] = [{"value": value}]
                entry.setdefault("summary", value)
            elif group == "id":
                self._guid(child, entry)
            elif group is not None:  # a date
                entry[f"{group}_raw"] = self._leaf_text(child, attributes=False)
            elif name == "link":
                self._link(child, entry)
            elif name in _PEOPLE and len(child):
                for part_name, part in self.elements(child):
                    if part_name not in _PERSON_PARTS or len(part):
                        raise Unsupported(f"{part_name} in {name}")
            elif name in _INERT:
                if len(child):
                    raise Unsupported(f"markup in {name}")
            else:
                self._generic(name, child)
        return entry

    def _generic(self, name: str, element: etree._Element) -> None:
        """An element feedparser has no handler for: stored under its name, out of our way."""
        key = self.key(name)
        if (
            len(element)
            or key in _ENTRY_KEYS
            or hasattr(StrictFeedParser, "_start_" + key)
            or hasattr(StrictFeedParser, "_end_" + key)
        ):
            raise Unsupported(f"{name} in an entry")

    def _link(self, element: etree._Element, entry: dict[str, Any]) -> None:
        attributes = element.attrib
        if not attributes:  # RSS: the text is the link
            if len(element):
                raise Unsupported("markup in a link")
            link = fp_text(element.text, self.base)
            link = _LINK_QUERY_FIX.sub(r"&\g<1>", link.replace("&amp;", "&"))
            entry["link"] = link
            return
        href = attributes.get("href")
        if len(element) or not href or _others(element, _LINK_ATTRIBUTES):
            raise Unsupported("a link feedparser reads otherwise")
        rel = attributes.get("rel", "alternate").lower()
        kind = attributes.get("type")
        if kind is None:
            kind = "application/atom+xml" if rel == "self" else "text/html"
        kind = kind.lower()
        kind = {"html": "text/html", "xhtml": "application/xhtml+xml"}.get(kind, kind)
        if rel == "alternate" and kind in ("text/html", "application/xhtml+xml"):
            entry["link"] = _urljoin(self.base, href)

    def _guid(self, element: etree._Element, entry: dict[str, Any]) -> None:
        if _others(element, {_XML_LANG, "isPermaLink", "ispermalink"}):
            raise Unsupported("attributes on a guid")
        marks = [v for k, v in element.attrib.items() if k.lower() == "ispermalink"]
        if len(marks) > 1:
            raise Unsupported("isPermaLink twice")
        is_link = (marks[0] if marks else "true") == "true"
        if len(element):
            raise Unsupported("markup in an id")
        value = fp_text(element.text, self.base if is_link else None)
        entry["id"] = value
        if is_link:
            entry.setdefault("link", value)


def entry_time_tuple(entry: Mapping[str, Any]) -> Any:
    """The first of published, updated and created that feedparser's date parser reads."""
    for kind in ("published", "updated", "created"):
        raw = entry.get(f"{kind}_raw")
        if raw is not None:
            parsed = _parse_date(raw)
            if parsed:
                return parsed
    return None
