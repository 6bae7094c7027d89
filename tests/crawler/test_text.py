import pytest

from crawler.text import clean_text


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ("<p>Alipay <b>bans</b> OTC</p>", "Alipay bans OTC"),
        ("Tom &amp; Jerry &lt;3", "Tom & Jerry <3"),
        ("<script>alert(1)</script>Title", "Title"),
        ("line<br>break", "line break"),
        ("  spaced \n\t out  ", "spaced out"),
        ("<p>unclosed <b>tag", "unclosed tag"),
        ("", ""),
        (None, ""),
    ],
)
def test_clean_text(markup: str | None, expected: str) -> None:
    assert clean_text(markup) == expected
