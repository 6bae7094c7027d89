"""JSON-API sources (`kind = "json"`): a list of items in a JSON response, read by config.

Many sources publish no feed but the JSON their own pages load: the CSRC's
`searchList`, the NFRA's static JSON, the flash-news APIs of Jinse, Odaily
and PANews. An `ApiSpec` says where the item list is (a dotted path; `*`
walks every element of a list) and which fields give title, link, date,
summary and body. Some APIs answer with HTML fragments (ChainCatcher) or a
POSTed HTML list (the PBoC's research pages): with `html_items` the value at
`items` (or the whole response) is HTML, each item is an element that
selector picks, and the field specs are selectors inside it.

Fetching goes through `crawler.http.fetch` (size cap, timeouts, user
agent) and a poll returns a `FeedFetch`, so the poller treats these
sources like feeds: conditional GET, unchanged-content skip, health.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import httpx
from parsel import Selector

from crawler import hints
from crawler.challenge import NEEDS_BROWSER, is_challenge
from crawler.feeds import FeedError, html_page
from crawler.http import FetchError, HttpPolicy, fetch
from crawler.schedule import CacheHints
from crawler.spiders.dates import parse_date, zone_for
from crawler.spiders.selectors import select, text_of
from crawler.text import clean_text
from crawler.types import FeedFetch, FetchState, RawStory

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_BRACKETED = re.compile(r"^\s*【([^】]{4,200})】")
TITLE_FROM_SUMMARY = 80  # characters of a flash item's text used as its title when it has none


@dataclass(frozen=True)
class ApiSpec:
    """How to request a JSON API and read its items; see README "JSON-API sources"."""

    title: str
    link: str | None = None  # a path (or selector) giving the item's URL
    link_template: str | None = None  # or a URL built from fields: ".../{docId}.html"
    items: str = ""  # dotted path to the item list ("" = the document itself)
    date: str | None = None
    summary: str | None = None
    body: str | None = None
    method: str = "GET"
    form: Mapping[str, str] = field(default_factory=dict)
    json_body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    html_items: str | None = None  # the items are HTML: this selector picks each one
    discover_url: str | None = None  # a page read first for a value the URL needs
    discover: str | None = None  # selector of that value; fills {discovered} in the URL
    detail_url: str | None = None  # a second request per new item for its body
    detail_body: str | None = None  # where the body is in the detail response


@dataclass(frozen=True)
class ApiItems:
    """What one response held: stories, detail URLs by story URL, and what could not be read."""

    stories: tuple[RawStory, ...]
    details: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def walk(node: Any, path: str) -> list[Any]:
    """Every value at a dotted path; `*` walks all elements, a number indexes a list."""
    values = [node]
    for part in [p for p in path.split(".") if p]:
        found: list[Any] = []
        for value in values:
            if part == "*":
                if isinstance(value, list):
                    found.extend(value)
                elif isinstance(value, dict):
                    found.extend(value.values())
            elif isinstance(value, dict) and part in value:
                found.append(value[part])
            elif isinstance(value, list) and part.lstrip("-").isdigit():
                index = int(part)
                if -len(value) <= index < len(value):
                    found.append(value[index])
        values = found
    return values


def _json_field(item: Any, spec: str | None) -> Any:
    """The first non-empty value of `a.b|c` alternatives."""
    if not spec:
        return None
    for alternative in spec.split("|"):
        for value in walk(item, alternative.strip()):
            if value not in (None, "", [], {}):
                return value
    return None


def _html_field(item: Selector, spec: str | None) -> str | None:
    if not spec:
        return None
    for alternative in spec.split("|"):
        for node in select(item, alternative.strip()):
            text = text_of(node).strip()
            if text:
                return text
    return None


def _date(value: Any, lang: str | None) -> datetime | None:
    """Epoch seconds or milliseconds, or a date as pages write them (Beijing time for zh)."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return parse_date(str(value), zone_for(lang)) if value is not None else None


def _title_from(summary: str) -> str:
    """A flash item's title: its 【bracketed】 head, else its first words."""
    bracketed = _BRACKETED.match(summary)
    if bracketed:
        return bracketed.group(1).strip()
    return summary if len(summary) <= TITLE_FROM_SUMMARY else summary[:TITLE_FROM_SUMMARY] + "…"


def fill_template(template: str, lookup: Any) -> str | None:
    """`{field}` placeholders filled from the item; None when one of them is missing."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        found = lookup(match.group(1))
        if found in (None, ""):
            missing = True
            return ""
        return str(found)

    filled = _PLACEHOLDER.sub(value, template)
    return None if missing else filled


def _items(content: bytes, spec: ApiSpec) -> tuple[list[Any], bool]:
    """The raw items, and whether they are HTML elements (`html_items`)."""
    try:
        document: Any = json.loads(content)
    except (ValueError, RecursionError) as exc:  # RecursionError: [[[[... nested too deep
        if spec.html_items is None:
            raise FeedError(f"not JSON: {html_page(content) or exc}") from None
        document = None  # an HTML page or fragment itself
    if spec.html_items is None:
        return [v for found in walk(document, spec.items) for v in _as_list(found)], False
    if document is None:
        markup = content.decode("utf-8", "replace")
    else:
        found = walk(document, spec.items)
        markup = "".join(v for v in found if isinstance(v, str))
        if not markup:
            raise FeedError(f"no HTML at {spec.items!r}")
    return list(select(Selector(text=markup), spec.html_items)), True


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parse_api(
    content: bytes, *, source_key: str, base_url: str, spec: ApiSpec, lang: str | None = None
) -> ApiItems:
    """Read a response into stories; items without a title or link are problems, not stories.

    Raises FeedError when the response is not what the spec expects at all
    (not JSON, no item list, not one item readable, a JavaScript challenge).
    """
    if is_challenge(content):
        raise FeedError(NEEDS_BROWSER)
    items, html = _items(content, spec)
    if not items:
        raise FeedError(f"no items at {spec.items or 'the top level'!r}")
    stories: list[RawStory] = []
    details: dict[str, str] = {}
    problems: list[str] = []
    for index, item in enumerate(items):

        def lookup(name: str, item: Any = item) -> Any:
            return _html_field(item, name) if html else _json_field(item, name)

        summary = clean_text(str(lookup(spec.summary) or ""))
        title = clean_text(str(lookup(spec.title) or "")) or _title_from(summary)
        link = lookup(spec.link) if spec.link else None
        if not link and spec.link_template:
            link = fill_template(spec.link_template, lookup)
        if not title or not link:
            problems.append(f"item {index}: no {'title' if not title else 'link'}")
            continue
        try:
            url = urljoin(base_url, str(link).strip())
        except ValueError:  # "http://[abc/x", an unreadable host: this item only is lost
            problems.append(f"item {index}: unreadable link")
            continue
        stories.append(
            RawStory(
                source_key=source_key,
                url=url,
                title=title,
                summary=summary if summary != title else "",
                body=clean_text(str(lookup(spec.body) or "")),
                published_at=_date(lookup(spec.date), lang),
                lang=lang,
                guid=url,
            )
        )
        if spec.detail_url:
            detail = fill_template(spec.detail_url, lookup)
            if detail:
                details[url] = urljoin(base_url, detail)
    if not stories:  # not one item as the spec reads them: an error object served with 200?
        raise FeedError(f"no item readable ({problems[0]}{_keys_of(items[0])})")
    return ApiItems(tuple(stories), details, tuple(problems))


def _keys_of(item: Any) -> str:
    """What an unreadable JSON item holds, for the one-line error ("; keys: code, msg")."""
    if isinstance(item, dict):
        keys = [str(key) for key in list(item)[:6]]
        return f"; its keys: {', '.join(keys)}" if keys else "; an empty object"
    for kind, name in ((bool, "true or false"), (str, "string"), (int | float, "number")):
        if isinstance(item, kind):
            return f"; a {name}, not an object"
    if isinstance(item, list):
        return "; a list, not an object"
    return "; null, not an object" if item is None else ""


async def discover_url(
    client: httpx.AsyncClient, url: str, spec: ApiSpec, policy: HttpPolicy
) -> str:
    """The API's URL with {discovered} filled from a page (e.g. the CSRC's channel id)."""
    if not (spec.discover_url and spec.discover):
        return url
    try:
        page = await fetch(client, spec.discover_url, policy)
    except FetchError as exc:
        raise FeedError(f"discovery page: {exc}") from exc
    if page.status >= 400:
        raise FeedError(f"discovery page: HTTP {page.status}")
    if is_challenge(page.content):
        raise FeedError(f"discovery page: {NEEDS_BROWSER}")
    value = _html_field(Selector(text=page.content.decode("utf-8", "replace")), spec.discover)
    if not value:
        raise FeedError(f"discovery page: nothing at {spec.discover!r}")
    return url.replace("{discovered}", value.strip())


async def poll_api(
    client: httpx.AsyncClient,
    *,
    source_key: str,
    url: str,
    state: FetchState,
    policy: HttpPolicy,
    spec: ApiSpec,
    lang: str | None = None,
) -> tuple[FeedFetch, ApiItems]:
    """One request to the API (conditional when it is a GET), read into stories.

    Raises FeedError on any failure, with a message fit for the health record.
    """
    url = await discover_url(client, url, spec, policy)
    headers = dict(spec.headers)
    if spec.method == "GET":
        if state.etag:
            headers["If-None-Match"] = state.etag
        if state.last_modified:
            headers["If-Modified-Since"] = state.last_modified
    try:
        response = await fetch(
            client,
            url,
            policy,
            headers,
            method=spec.method,
            form=dict(spec.form) or None,
            json_body=spec.json_body,
        )
    except FetchError as exc:
        raise FeedError(str(exc)) from exc
    now = datetime.now(UTC)
    cache = hints.from_headers(response.headers, now)
    digest = hashlib.sha256(response.content).hexdigest()
    if response.status == 304 or (response.status < 400 and digest == state.content_hash):
        fetched = FeedFetch(
            response.status, (), state, not_modified=True, hints=cache, moved_to=response.moved_to
        )
        return fetched, ApiItems(())
    if response.status >= 400:
        raise FeedError(
            f"HTTP {response.status}",
            CacheHints(retry_after=hints.retry_after(response.headers, now)),
        )
    found = parse_api(
        response.content, source_key=source_key, base_url=response.url, spec=spec, lang=lang
    )
    new_state = FetchState(
        etag=response.headers.get("etag"),
        last_modified=response.headers.get("last-modified"),
        content_hash=digest,
    )
    warning = (
        f"{len(found.problems)} items unreadable ({found.problems[0]})" if found.problems else None
    )
    fetched = FeedFetch(
        response.status,
        found.stories,
        new_state,
        warning=warning,
        hints=cache,
        moved_to=response.moved_to,
    )
    return fetched, found


async def fetch_detail(
    client: httpx.AsyncClient, url: str, spec: ApiSpec, policy: HttpPolicy
) -> str:
    """An item's body from its detail request (HTML in a JSON field, e.g. the NFRA's docClob)."""
    response = await fetch(client, url, policy, dict(spec.headers))
    if response.status >= 400:
        raise FetchError(f"HTTP {response.status}")
    try:
        document = json.loads(response.content)
    except ValueError as exc:
        raise FetchError(f"detail is not JSON: {exc}") from None
    return clean_text(str(_json_field(document, spec.detail_body or "") or ""))
