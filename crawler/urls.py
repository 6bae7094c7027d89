"""Canonical URLs: one story, one key, whichever link variant a source used."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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


def canonical_url(url: str) -> str:
    """The key a story is known by, whichever variant of its link a source used.

    Drops tracking parameters, the fragment, the default port and AMP
    markers; lower-cases the host and folds www./m./mobile./wap./amp.
    variants onto the bare site. The scheme is kept (http and https may be
    different documents on old sites). Used as a key, never shown: alerts
    link the URL the source gave.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = _site_host((parts.hostname or "").lower())
    port = parts.port
    netloc = host if port is None or DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _is_tracking(k) and (k.lower(), v.lower()) not in AMP_PARAMS
        ]
    )
    return urlunsplit((scheme, netloc, _article_path(parts.path), query, ""))
