"""Run the real CLI as a subprocess against loopback peers, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest

from crackdown.demo.site import LoopbackSite, Page
from crackdown.standin import BotApiStandIn
from tests.conftest import TOKEN

RELEVANT = [
    "Alipay to cut off accounts used for bitcoin OTC trading",
    "WeChat Pay to freeze accounts that settle crypto OTC deals",
    "PBoC bans ICOs, calls token sales illegal fundraising",
    "支付宝：将关停用于比特币场外交易的账户",
    "央行等七部门：全面叫停ICO代币发行融资",
    "微信支付：严禁利用微信支付从事虚拟货币交易",
]
IRRELEVANT = [
    "Bitcoin price climbs above $11,000 as traders pile in",
    "Alipay launches tap-to-pay for travellers in Europe",
    "比特币价格突破8万元人民币",
    "支付宝推出境外游新功能",
]


EMPTY_FEED = b'<rss version="2.0"><channel><title>empty</title></channel></rss>'


def serve_sample_feeds(site: LoopbackSite, *, empty: bool = False) -> None:
    """The demo's two feeds (or empty ones), a feed that errors and a page that is not a feed."""
    data = resources.files("crackdown.demo").joinpath("data")
    for name in ("ledger-daily.xml", "lianwen.xml"):
        site.pages[f"/{name}"] = Page(EMPTY_FEED if empty else data.joinpath(name).read_bytes())
    site.pages["/broken.xml"] = Page(b"upstream exploded", "text/plain", 500)
    site.pages["/not-a-feed.html"] = Page(b"<html><body>hello", "text/html")


def write_config(
    tmp_path: Path,
    site: LoopbackSite,
    standin: BotApiStandIn,
    interval: str = "10m",
    database_url: str | None = None,
) -> Path:
    """config.toml for the sample feeds; the database is `database_url` (else a SQLite file)."""
    path = tmp_path / "config.toml"
    url = database_url or f"sqlite:///{tmp_path / 'crackdown.db'}"
    path.write_text(
        f"""
[storage]
url = "{url}"
[telegram]
api_base_url = "{standin.base_url}"
poll_timeout = "1s"
[delivery]
interval = "1s"
[polling]
tick = "1s"
min_interval = "{interval}"
jitter = 0
[[sources]]
key = "broken"
interval = "{interval}"
url = "{site.url("/broken.xml")}"
[[sources]]
key = "ledger-daily"
interval = "{interval}"
url = "{site.url("/ledger-daily.xml")}"
lang = "en"
[[sources]]
key = "not-a-feed"
interval = "{interval}"
url = "{site.url("/not-a-feed.html")}"
[[sources]]
key = "lianwen"
interval = "{interval}"
url = "{site.url("/lianwen.xml")}"
lang = "zh"
""",
        encoding="utf-8",
    )
    return path


def cli_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRACKDOWN_")}
    env.update({"CRACKDOWN_TELEGRAM_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}, **extra)
    return env


def crackdown(
    *args: str, env: dict[str, str] | None = None, timeout: float = 90
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crackdown", *args],
        env=env or cli_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def world(tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str) -> Path:
    """The sample feeds served, and a config for them on SQLite and on PostgreSQL."""
    serve_sample_feeds(site)
    return write_config(tmp_path, site, standin, database_url=database_url)
