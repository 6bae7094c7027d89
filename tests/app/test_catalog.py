"""The source catalogue: every entry read from a fixture with its real response's structure.

Fixtures (tests/data/catalog, built by its build.py from the published
shapes in SOURCES.md) are served by one loopback server per entry, with
the entry's URLs rewritten to it (tests/app/catalog_site.py).
"""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import select

from crackdown.app import App, open_app
from crackdown.commands.catalog import load_catalog
from crackdown.commands.sources_check import check_sources
from crackdown.config import ConfigError, build_config
from crawler.challenge import NEEDS_BROWSER
from crawler.extract import fetch_article
from crawler.http import FetchError, HttpPolicy, make_client
from storage.models import StoryRow
from storage.sources import list_sources
from tests.app.catalog_site import FIXTURES, CatalogSite, catalog_site

ENTRIES = load_catalog()
POLLED = [e for e in ENTRIES if e.kind != "spider"]
MISSION = {  # who the issue says the catalogue must cover: a key prefix each
    "pboc",
    "csrc",
    "nfra",
    "cac",
    "mps",
    "spp",
    "spc",
    "safe",
    "sfc",
    "hkma",
    "hk-gov",
    "blockbeats",
    "jinse",
    "odaily",
    "panews",
    "chaincatcher",
    "wu-blockchain",
    "coindesk",
    "cointelegraph",
    "cointelegraph-cn",
    "decrypt",
    "theblock",
    "scmp",
}


@pytest.fixture(scope="module")
def site() -> CatalogSite:
    with catalog_site(ENTRIES) as running:
        yield running


def test_the_catalogue_covers_the_mission_with_documented_entries() -> None:
    assert len(ENTRIES) >= 30
    keys = [e.key for e in ENTRIES]
    missing = [p for p in MISSION if not any(k.startswith(p) for k in keys)]
    assert not missing
    assert {e.kind for e in ENTRIES} == {"feed", "json", "spider"}
    for entry in ENTRIES:
        assert entry.name_en and entry.name_zh and entry.publishes and entry.why, entry.key
        assert entry.region in ("mainland", "hk", "media", "intl")
        assert (FIXTURES / entry.key).is_dir(), f"no fixture for {entry.key}"
    assert "8btc" not in " ".join(e.url for e in ENTRIES)


def test_every_polled_entry_yields_titled_linked_dated_items(site: CatalogSite) -> None:
    config = build_config({"sources": [site.rewrite(e) for e in POLLED]}, {})
    results = asyncio.run(check_sources(config, config.sources, App.http_policy(config)))
    for result in results:
        assert result.ok, result.line()
        assert result.items == result.titled == result.linked == result.dated >= 3, result.line()
    # ChainCatcher and the PBoC's research lists are read by POSTing a form.
    posts = {key: body for key, method, _path, body in site.requests if method == "POST"}
    assert posts["chaincatcher"] == b"page=1&categoryid=3"
    assert posts["pboc-policy-research"] == b"page=1"
    # The CSRC's API URL comes from its column page; the NFRA's bodies from a detail request.
    paths = [path for key, _m, path, _b in site.requests if key == "csrc-news"]
    assert paths[0].endswith("common_xq_list.shtml")
    assert paths[1].startswith("/searchList/ad5b1d4e1bd94ca3b0e26a2ed7a0cd15?_isAgg=true")
    assert any("SelectByDocId" in p for k, _m, p, _b in site.requests if k == "nfra-news")


def test_a_json_source_goes_through_the_poller_with_bodies_and_health(
    tmp_path: Path, site: CatalogSite
) -> None:
    nfra = next(e for e in ENTRIES if e.key == "nfra-penalties")
    document = {
        "storage": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
        "polling": {"jitter": 0},
        "sources": [site.rewrite(nfra)],
    }
    app = open_app(build_config(document, {}))

    async def poll(due: bool = False) -> tuple[int, str]:
        async with make_client(app.policy) as client:
            poller = app.poller(client)
            report = await poller.poll(poller.due(app.feeds()) if due else app.feeds())
        return report.stories, report.results[0].status

    try:
        assert [s.key for s in app.feeds()] == ["nfra-penalties"]
        assert asyncio.run(poll(due=True)) == (3, "HTTP 200")  # claimed as the daemon does
        assert asyncio.run(poll()) == (0, "unchanged")
        with app.db.session() as session:
            (record,) = list_sources(session)
            bodies = session.scalars(select(StoryRow.body)).all()
        assert record.consecutive_failures == 0 and record.last_polled_at is not None
        assert len(bodies) == 3 and all("虚拟货币" in b or "违法犯罪" in b for b in bodies)
    finally:
        app.db.dispose()


def test_a_challenge_page_is_a_failure_that_needs_a_browser_never_a_story(
    tmp_path: Path, site: CatalogSite
) -> None:
    """A feed or JSON source answered with the PBoC's WZWS page records why, and stores nothing."""
    pboc = next(e for e in ENTRIES if e.key == "pboc-news")
    challenge = site.base(pboc.key) + "/goutongjiaoliu/113456/113469/index.html"
    document = {
        "storage": {"url": f"sqlite:///{tmp_path / 'db.sqlite'}"},
        "sources": [
            {"key": "as-feed", "url": challenge},
            {
                "key": "as-json",
                "kind": "json",
                "url": challenge,
                "api": {"items": "data", "title": "title", "link": "url"},
            },
        ],
    }
    app = open_app(build_config(document, {}))

    async def poll() -> list[str | None]:
        async with make_client(app.policy) as client:
            report = await app.poller(client).poll(app.feeds())
        assert report.stories == 0
        return [r.error for r in report.results]

    try:
        assert asyncio.run(poll()) == [NEEDS_BROWSER, NEEDS_BROWSER]
        with app.db.session() as session:
            assert {r.last_error for r in list_sources(session)} == {NEEDS_BROWSER}
    finally:
        app.db.dispose()


@pytest.mark.parametrize(
    ("api", "message"),
    [
        (
            {"title": "t", "link": "u", "form": {"a": 1}},
            'form / json_body: only with method = "POST"',
        ),
        ({"title": "t"}, "link or link_template: one is required"),
        ({"title": "t", "link": "u", "method": "PUT"}, "sources[0].api.method"),
        ({"title": "t", "link": "u", "html_items": "li[", "items": ""}, "not a valid CSS"),
        ({"title": "t", "link": "u", "detail_body": "data.x"}, "detail_body: needs detail_url"),
        ({"title": "t", "link": "u", "discover": "meta"}, "discover_url and discover"),
        ({"title": "t", "link": "u", "items": "data rows"}, "not a dotted path"),
        ({"title": "t", "link": "u", "nonsense": 1}, "sources[0].api.nonsense: unknown key"),
    ],
)
def test_json_source_config_errors_name_the_key(api: dict[str, object], message: str) -> None:
    source = {"key": "x", "kind": "json", "url": "https://a.example/api", "api": api}
    with pytest.raises(ConfigError, match=r"sources\[0\]") as caught:
        build_config({"sources": [source]}, {})
    assert message in str(caught.value)


def test_api_only_with_kind_json() -> None:
    with pytest.raises(ConfigError, match='api: required for kind = "json"'):
        build_config({"sources": [{"key": "x", "kind": "json", "url": "https://a.b/"}]}, {})
    feed = {"key": "x", "url": "https://a.b/", "api": {"title": "t", "link": "u"}}
    with pytest.raises(ConfigError, match="and only for it"):
        build_config({"sources": [feed]}, {})


def test_a_broken_catalogue_entry_is_an_error_naming_its_key(tmp_path: Path) -> None:
    text = (FIXTURES.parents[2] / "crawler" / "data" / "catalog.toml").read_text("utf-8")
    broken = text.replace('url = "https://decrypt.co/feed"', 'url = "decrypt.co/feed"')
    path = tmp_path / "catalog.toml"
    path.write_text(broken, "utf-8")
    with pytest.raises(ConfigError, match=r"catalog entry 'decrypt': source\.url: not a URL"):
        load_catalog(path)
    tomllib.loads(text)  # (the shipped one parses and validates: ENTRIES above)
    unrendered = text.replace('"zh"\nrender = "browser"\n', '"zh"\n', 1)
    path.write_text(unrendered, "utf-8")
    with pytest.raises(ConfigError, match=r"'pboc-news': needs = \"browser\" goes with render"):
        load_catalog(path)


def test_the_json_example_in_config_example_validates_when_uncommented() -> None:
    text = (FIXTURES.parents[2] / "config.example.toml").read_text("utf-8")
    marker = text.index("# A JSON API:")
    block = text[text.index("# [[sources]]", marker) : text.index("# A spider:")]
    lines = [line[2:] if line.startswith("# ") else "" for line in block.splitlines()]
    (source,) = build_config(tomllib.loads("\n".join(lines)), {}).sources
    assert source.kind == "json" and source.api is not None
    assert source.api.items == "list.*.lives"


def test_a_challenge_page_is_no_article_text(site: CatalogSite) -> None:
    """full_text = true: a linked page that is a challenge leaves the story its summary."""

    async def read() -> None:
        async with make_client(HttpPolicy(allow_private_networks=True)) as client:
            await fetch_article(client, site.base("pboc-news") + "/a/index.html", HttpPolicy())

    with pytest.raises(FetchError, match="needs render = browser"):
        asyncio.run(read())


def test_sources_check_names_parse_problems(site: CatalogSite) -> None:
    """A wrong path or a missing field is what `sources check` prints, per source."""
    odaily = next(e for e in ENTRIES if e.key == "odaily-flash")
    nfra = next(e for e in ENTRIES if e.key == "nfra-news")
    wrong_items = site.rewrite(odaily)
    wrong_items["api"] = {**wrong_items["api"], "items": "data.list"}
    no_dates = site.rewrite(nfra, key="nfra-undated")
    no_dates["api"] = {**no_dates["api"], "date": "releaseDate", "detail_body": "data.clob"}
    config = build_config({"sources": [wrong_items, no_dates]}, {})
    first, second = asyncio.run(check_sources(config, config.sources, App.http_policy(config)))
    assert first.problems == ["no items at 'data.list'"] and not first.ok
    assert "0 items" in first.line() and "no items at 'data.list'" in first.line()
    assert second.items == 3 and second.dated == 0
    assert "no item has a date" in second.problems
    assert any("no body at 'data.clob'" in p for p in second.problems)
