"""Spider sources and `[crawl]` in the config: what is accepted, and errors that name the key."""

from __future__ import annotations

import tomllib
import typing
from pathlib import Path
from typing import Any

import pytest

from crackdown.config import Config, ConfigError, SourceConfig, build_config
from crackdown.runtime.crawling import crawl_settings, spider_spec
from crawler.spiders import SPIDER_NAMES
from crawler.spiders.run import SPIDERS


def config(source: dict[str, Any] | None = None, **sections: Any) -> Config:
    document: dict[str, Any] = dict(sections)
    if source is not None:
        document["sources"] = [{"key": "pbc-notices", **source}]
    return build_config(document, {})


def error(source: dict[str, Any] | None = None, **sections: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        config(source, **sections)
    return str(caught.value)


SPIDER = {"kind": "spider", "url": "https://www.example.gov.cn/tzgg/index.html", "links": "ul a"}


def test_a_spider_source_as_the_issue_writes_it() -> None:
    source = {
        **SPIDER,
        "links": "ul.list a",
        "next_page": "a.next",
        "max_pages": 5,
        "interval": "30m",
        "lang": "zh",
    }
    loaded = config(source)
    spec = spider_spec(loaded.sources[0], loaded.crawl)
    assert spec.start_urls == ("https://www.example.gov.cn/tzgg/index.html",)
    assert spec.allowed_domains == ("www.example.gov.cn",)  # default: the start URLs' hosts
    assert (spec.links, spec.next_page, spec.max_pages) == ("ul.list a", "a.next", 5)
    assert spec.max_articles == loaded.crawl.max_articles and spec.robots
    assert loaded.sources[0].interval == 1800


def test_urls_alone_give_the_start_urls_and_limits_default_from_crawl() -> None:
    loaded = config(
        {
            "kind": "spider",
            "spider": "gov-notices",
            "urls": ["https://a.example.gov.cn/1/", "https://b.example.gov.cn/2/"],
            "allowed_domains": ["example.gov.cn"],
        },
        crawl={"max_pages": 2, "delay": "0", "per_domain": 1},
    )
    source = loaded.sources[0]
    assert source.url == "https://a.example.gov.cn/1/"
    spec = spider_spec(source, loaded.crawl)
    assert spec.start_urls == ("https://a.example.gov.cn/1/", "https://b.example.gov.cn/2/")
    assert spec.allowed_domains == ("example.gov.cn",) and spec.max_pages == 2
    settings = crawl_settings(loaded)
    assert (settings.delay, settings.per_domain, settings.cache_dir) == (0.0, 1, None)
    assert settings.user_agent == loaded.http.user_agent
    assert settings.max_bytes == loaded.http.max_bytes


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({**SPIDER, "links": None}, 'sources[0]: links: required for spider = "listing"'),
        ({**SPIDER, "links": "ul.list a["}, "sources[0].links: not a valid CSS selector"),
        ({**SPIDER, "date": "//span[@class='d'"}, "sources[0].date: not a valid XPath"),
        ({**SPIDER, "spider": "pbc"}, "sources[0].spider: Input should be 'listing'"),
        ({**SPIDER, "max_pages": 0}, "sources[0].max_pages"),
        ({**SPIDER, "allowed_domains": ["https://x.example/"]}, "is not a host name"),
        ({**SPIDER, "full_text": True}, 'full_text: only for kind = "feed"'),
        ({"url": "https://x.example/feed", "links": "a"}, 'links: only for kind = "spider"'),
        ({"kind": "spider", "spider": "gov-notices"}, "sources[0].url: Field required"),
        ({**SPIDER, "render": "js"}, "scrapy-playwright"),
        ({"url": "https://x.example/f", "render": "browser"}, 'render: only for kind = "spider"'),
    ],
)
def test_mistakes_are_one_line_naming_the_key(source: dict[str, Any], message: str) -> None:
    source = {k: v for k, v in source.items() if v is not None}
    assert message in error(source)


def test_pages_that_need_javascript_point_at_the_browser_route() -> None:
    message = error({**SPIDER, "render": "js"})
    assert message.startswith("sources[0]: render: 'js' is not supported")
    assert 'render = "browser"' in message and "pip install 'crackdown[browser]'" in message
    loaded = build_config({"sources": [{**SPIDER, "key": "b", "render": "browser"}]}, {})
    assert spider_spec(loaded.sources[0], loaded.crawl).render == "browser"
    assert crawl_settings(loaded).browser == "/usr/bin/chromium"


@pytest.mark.parametrize(
    ("crawl", "message"),
    [
        ({"per_domain": 3}, "crawl.per_domain: Input should be less than or equal to 2"),
        ({"delay": "soon"}, "crawl.delay: not a duration"),
        ({"batch_timeout": "0s"}, "crawl.batch_timeout: must be positive"),
        ({"max_articles": 0}, "crawl.max_articles"),
        ({"surprise": 1}, "crawl.surprise: unknown key"),
    ],
)
def test_the_crawl_section_is_validated(crawl: dict[str, Any], message: str) -> None:
    assert message in error(crawl=crawl)


def test_every_spider_name_the_config_accepts_is_a_spider_the_child_can_run() -> None:
    accepted = typing.get_args(SourceConfig.model_fields["spider"].annotation)
    assert set(accepted) == set(SPIDER_NAMES) == set(SPIDERS)


def test_the_example_config_shows_a_valid_spider_and_crawl_section() -> None:
    text = (Path(__file__).parents[2] / "config.example.toml").read_text("utf-8")
    marker = text.index("# A spider: a site with no feed.")
    block = text[text.index("# [[sources]]", marker) :]
    lines = [line[2:] if line.startswith("# ") else "" for line in block.splitlines()]
    loaded = build_config(tomllib.loads("\n".join(lines)), {})
    (source,) = loaded.sources
    assert (source.kind, source.links, source.next_page) == ("spider", "ul.list a", "a.next")
    example = build_config(tomllib.loads(text), {})
    assert example.crawl.batch_timeout == 600 and example.crawl.per_domain == 2
