"""Canonical URLs: one story, one key, whichever link variant a source used."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from w3lib.url import canonicalize_url as w3lib_canonical

# Query parameters that say who sent the reader, not what they read.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "spm",
        "from",
        "ref",
        "ref_src",
        "share_token",
        "scene",
        "srcid",
        "wfr",
    }
)
TRACKING_PREFIXES = ("utm_",)
DEFAULT_PORTS = {"http": 80, "https": 443}
# Host prefixes of the same site's mobile, AMP and bare-domain variants.
VARIANT_HOST_PREFIXES = ("www.", "m.", "mobile.", "wap.", "amp.")
AMP_PARAMS = {("amp", "1"), ("amp", "true"), ("amp", ""), ("outputtype", "amp")}
WEB_SCHEMES = ("http", "https")
# `#{source key}-{24 hex digits}`: crawler.feeds' key for an item without a link.
ITEM_KEY = re.compile(r"[A-Za-z0-9_.-]+-[0-9a-f]{24}")


def is_web_url(url: str) -> bool:
    """True for an http(s) URL with a host: the only links worth passing on to a reader.

    `javascript:`, `data:`, `tg://resolve?...` and the like run code or act
    inside the reader's client instead of opening a page.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in WEB_SCHEMES and bool(parts.netloc)


def without_password(url: str) -> str:
    """`url` to show: a password in it (`https://user:secret@host/feed`) as `***`."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    if not password:
        return url
    userinfo, _, host = parts.netloc.rpartition("@")
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


def _is_tracking(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def _site_host(host: str) -> str:
    """example.com for www./m./mobile./wap./amp.example.com (never below two labels)."""
    for prefix in VARIANT_HOST_PREFIXES:
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix) :]
    return host


def _article_path(path: str) -> str:
    """/news/story for /news/story/amp, /news/story/amp/ and /news/story.amp."""
    for suffix in ("/amp/", "/amp", ".amp"):
        if path.endswith(suffix) and len(path) > len(suffix):
            return path[: -len(suffix)]
    return path or "/"


def _kept(pair: str) -> bool:
    name, _, value = pair.partition("=")
    name, value = unquote_plus(name).lower(), unquote_plus(value).lower()
    return not _is_tracking(name) and (name, value) not in AMP_PARAMS


def canonical_url(url: str) -> str:
    """The key a story is known by, whichever variant of its link a source used.

    w3lib's canonical form first (as Scrapy's fingerprints): query sorted,
    percent-escapes in one case and only where needed (%7E is ~, %e6 is
    %E6), an IRI percent-encoded as UTF-8, an IDN host in punycode. Then our
    folding: tracking parameters, the fragment, the default port and AMP
    markers dropped; the host lower-cased and www./m./mobile./wap./amp.
    variants folded onto the bare site. The scheme is kept (http and https
    may be different documents on old sites). Used as a key, never shown:
    alerts link the URL the source gave. Changing this needs a migration
    that recomputes stored keys (storage/migrations, 0014).
    """
    item_key = _item_key(url)
    try:
        parts = urlsplit(w3lib_canonical(url.strip()))
        port = parts.port
    except ValueError:  # an unreadable port or host: the text itself is the best key
        return url.strip()
    scheme = parts.scheme.lower()
    host = _site_host((parts.hostname or "").lower())
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    query = "&".join(pair for pair in parts.query.split("&") if pair and _kept(pair))
    return urlunsplit((scheme, netloc, _article_path(parts.path), query, item_key))


def _item_key(url: str) -> str:
    """The fragment `crawler.feeds` gives a feed item that has no link of its own: its key.

    Dropped like any fragment, every link-less item of a feed had the feed's URL for a key:
    one story stored, each later one taken for it, for good.
    """
    fragment = url.rpartition("#")[2] if "#" in url else ""
    return fragment if ITEM_KEY.fullmatch(fragment) else ""
