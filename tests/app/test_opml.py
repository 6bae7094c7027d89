"""`crackdown sources import` / `export`: OPML in and out of the config file."""

from __future__ import annotations

from pathlib import Path

import pytest

from crackdown.cli import main
from crackdown.config import load_config

OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>reader export</title></head><body>
  <outline text="Crypto (EN)">
    <outline type="rss" text="CoinDesk" title="CoinDesk" xmlUrl="https://www.coindesk.com/arc/outboundfeeds/rss/"/>
    <outline type="rss" text="The Block" xmlUrl="https://www.theblock.co/rss.xml"/>
  </outline>
  <outline text="中文">
    <outline type="rss" text="巴比特" xmlUrl="https://www.8btc.com/feed"/>
    <outline type="rss" text="CoinDesk" xmlUrl="https://www.coindesk.com/feed-two"/>
  </outline>
  <outline text="a folder with no feed"/>
</body></opml>"""

EXISTING = """# my crackdown config
[storage]
url = "sqlite:///{db}"

[[sources]]
key = "the-block"
url = "https://www.theblock.co/rss.xml"   # already here
"""


def cli(capsys: pytest.CaptureFixture[str], config: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), *argv], {})
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    config = tmp_path / "config.toml"
    config.write_text(EXISTING.format(db=tmp_path / "db.sqlite"), "utf-8")
    opml = tmp_path / "feeds.opml"
    opml.write_text(OPML, "utf-8")
    return config, opml


def test_import_adds_new_feeds_keeps_the_file_and_skips_known_ones(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path]
) -> None:
    config, opml = files
    code, out, _ = cli(capsys, config, "sources", "import", str(opml), "--interval", "15m")
    assert code == 0
    assert out.splitlines()[-1].startswith("3 added, 1 skipped")
    text = config.read_text("utf-8")
    assert text.startswith("# my crackdown config") and "# already here" in text
    loaded = load_config(config, {})
    assert [(s.key, s.interval) for s in loaded.sources] == [
        ("the-block", 600),
        ("coindesk", 900),
        ("www-8btc-com", 900),  # a Chinese title has no Latin slug: the host names it
        ("coindesk-2", 900),
    ]
    again = cli(capsys, config, "sources", "import", str(opml))[1]
    assert again.splitlines()[-1].startswith("0 added, 4 skipped")


def test_export_then_import_round_trips(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path], tmp_path: Path
) -> None:
    config, opml = files
    cli(capsys, config, "sources", "import", str(opml))
    code, exported, _ = cli(capsys, config, "sources", "export")
    assert code == 0 and exported.startswith('<?xml version="1.0"')
    fresh = tmp_path / "fresh.toml"
    (tmp_path / "out.opml").write_text(exported, "utf-8")
    cli(capsys, fresh, "sources", "import", str(tmp_path / "out.opml"))
    assert [s.url for s in load_config(fresh, {}).sources] == [
        s.url for s in load_config(config, {}).sources
    ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<opml><body><outline", "not valid XML"),
        ("<rss version='2.0'/>", "not an OPML document"),
        ("<opml><body><outline text='empty folder'/></body></opml>", "no feeds in it"),
    ],
)
def test_bad_opml_is_one_line_and_the_config_is_untouched(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path], content: str, message: str
) -> None:
    config, opml = files
    before = config.read_text("utf-8")
    opml.write_text(content, "utf-8")
    code, _, err = cli(capsys, config, "sources", "import", str(opml))
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert config.read_text("utf-8") == before


def test_a_feed_url_that_would_not_validate_is_not_written(
    capsys: pytest.CaptureFixture[str], files: tuple[Path, Path]
) -> None:
    config, opml = files
    before = config.read_text("utf-8")
    opml.write_text("<opml><body><outline xmlUrl='ftp://old.example/feed'/></body></opml>", "utf-8")
    code, _, err = cli(capsys, config, "sources", "import", str(opml))
    assert code == 2 and "importing would break the config" in err and "not a URL" in err
    assert config.read_text("utf-8") == before
