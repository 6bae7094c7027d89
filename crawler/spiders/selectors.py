"""Selectors from config: CSS, or XPath when the text starts with '/' or '('.

CSS is what operators copy from a browser's inspector (`ul.list a`); XPath
is there for what CSS cannot say (`//a[contains(text(), "下一页")]`).
Parsel's CSS extensions `::text` and `::attr(name)` work too. Checked when
the config is loaded, so a typo is a config error naming the key, not a
crawl that silently finds nothing.
"""

from __future__ import annotations

from cssselect import SelectorError
from lxml import etree
from parsel import Selector, SelectorList
from parsel.csstranslator import HTMLTranslator

_TRANSLATOR = HTMLTranslator()


def is_xpath(selector: str) -> bool:
    return selector.lstrip().startswith(("/", "("))


def check_selector(selector: str) -> str:
    """The selector, stripped; ValueError naming the problem if it cannot be compiled."""
    text = selector.strip()
    if not text:
        raise ValueError("empty selector")
    try:
        if is_xpath(text):
            etree.XPath(text)
        else:
            _TRANSLATOR.css_to_xpath(text)
    except (SelectorError, etree.XPathError) as exc:
        kind = "XPath" if is_xpath(text) else "CSS selector"
        raise ValueError(f"not a valid {kind}: {text!r} ({exc})") from None
    return text


def select(node: Selector, selector: str) -> SelectorList[Selector]:
    """Apply a config selector to a page or to one element of it (XPath made relative)."""
    if is_xpath(selector):
        text = selector.strip()
        if node.root is not None and not isinstance(node.root, str) and text.startswith("/"):
            # Under an element, "//a" would search the whole page; ".//a" searches below it.
            parent = node.root.getparent() if hasattr(node.root, "getparent") else None
            if parent is not None:
                text = "." + text
        return node.xpath(text)
    return node.css(selector)


def text_of(node: Selector) -> str:
    """An element's text content, or the string an `::attr()`/`::text`/XPath selected."""
    if isinstance(node.root, str):
        return node.root
    return node.xpath("string()").get() or ""


def href_of(node: Selector) -> str | None:
    """The link of an `<a>` element, or of the first `<a>` below it, or an `::attr(href)` value."""
    if isinstance(node.root, str):
        return node.root.strip() or None
    href = node.attrib.get("href") or node.xpath(".//a/@href").get()
    return href.strip() if href else None
