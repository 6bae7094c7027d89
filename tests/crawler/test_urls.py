import pytest

from crawler.urls import canonical_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://Example.COM/a?utm_source=x&id=3#frag", "https://example.com/a?id=3"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://news.example/x?spm=a.b.c&from=timeline&p=2", "https://news.example/x?p=2"),
        ("https://news.example/x?UTM_Campaign=1", "https://news.example/x"),
        ("https://news.example/x?a=1&b=", "https://news.example/x?a=1&b="),
        ("https://www.reuters.com/world/china/story/amp/", "https://reuters.com/world/china/story"),
        ("https://m.8btc.com/article/123", "https://8btc.com/article/123"),
        ("https://amp.example.com/a.amp?amp=1", "https://example.com/a"),
        ("https://news.example/a?outputType=amp&id=9", "https://news.example/a?id=9"),
        ("https://m.cn/", "https://m.cn/"),  # never strip a host down to one label
        ("https://example.com/amp", "https://example.com/amp"),  # a page called "amp" stays
    ],
)
def test_canonical_url_drops_what_does_not_identify_the_story(url: str, expected: str) -> None:
    assert canonical_url(url) == expected


def test_variants_of_one_story_share_a_key() -> None:
    variants = [
        "https://news.example/2018/alipay?utm_source=rss",
        "https://NEWS.example/2018/alipay#comments",
        "https://news.example:443/2018/alipay?fbclid=abc",
        "https://m.news.example/2018/alipay",
        "https://www.news.example/2018/alipay/amp/",
    ]
    assert len({canonical_url(v) for v in variants}) == 1


@pytest.mark.parametrize(
    "variants",
    [
        ["https://news.example/a?b=2&a=1", "https://news.example/a?a=1&b=2"],  # query order
        ["https://news.example/%e6%96%b0%e9%97%bb", "https://news.example/%E6%96%B0%E9%97%BB"],
        ["https://news.example/%7Euser/a", "https://news.example/~user/a"],
        [
            "https://news.example/新闻?q=中文",
            "https://news.example/%E6%96%B0%E9%97%BB?q=%E4%B8%AD%E6%96%87",
        ],
        ["https://news.example/a?q=a+b", "https://news.example/a?q=a%20b"],
    ],
)
def test_encodings_of_one_url_share_a_key(variants: list[str]) -> None:
    assert len({canonical_url(v) for v in variants}) == 1


def test_an_unreadable_url_is_its_own_key() -> None:
    assert canonical_url(" https://news.example:99999/a ") == "https://news.example:99999/a"
