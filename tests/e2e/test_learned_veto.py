"""The learned veto through the daemon's cycle: a real loopback feed, the stand-in, SQLite.

A story the topic rule matches but whose evidence is foreign-led (Chinese miners moving
to Paraguay, a foreign police raid) is vetoed: the subscriber gets the Chinese
enforcement story and not that one. With `[filter] learned_veto` off, both alert.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from crackdown.demo.site import LoopbackSite, Page
from crackdown.standin import BotApiStandIn
from tests.e2e.conftest import cli_env, crackdown

SUBSCRIBER = 7001
KEPT = ("Alipay to cut off accounts used for bitcoin OTC trading", "")
VETOED = (  # as tests/app/test_learned_veto.py's: the rule alerts, the stricter veto drops it
    "China's miners chase cheap power in Paraguay",
    "Paraguay's state utility signed deals with mining companies founded by Chinese"
    " entrepreneurs. Police raided illegal farms near the Itaipu dam in Paraguay.",
)


def feed(items: list[tuple[str, str]]) -> bytes:
    entries = "".join(
        f"<item><title>{escape(title)}</title><link>https://news.example/{n}</link>"
        f"<description>{escape(text)}</description></item>"
        for n, (title, text) in enumerate(items)
    )
    return f'<rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'.encode()


def write_config(tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f"""
[storage]
url = "sqlite:///{tmp_path / "crackdown.db"}"
[telegram]
api_base_url = "{standin.base_url}"
poll_timeout = "1s"
[delivery]
interval = "1s"
[[sources]]
key = "wire"
url = "{site.url("/wire.xml")}"
lang = "en"
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("veto", ["on", "off"])
def test_a_vetoed_story_does_not_alert_and_alerts_with_the_layer_off(
    tmp_path: Path,
    site: LoopbackSite,
    standin: BotApiStandIn,
    veto: str,
    strict_veto_weights: Path,
) -> None:
    site.pages["/wire.xml"] = Page(feed([KEPT, VETOED]))
    config = write_config(tmp_path, site, standin)
    standin.add_user(SUBSCRIBER, "Ann")
    standin.send_text(SUBSCRIBER, "/start")
    env = cli_env(  # the shipped weights, stricter (tests/conftest.py): the path, not the model
        CRACKDOWN_FILTER__LEARNED_VETO="true" if veto == "on" else "false",
        CRACKDOWN_VETO_WEIGHTS=str(strict_veto_weights),
    )
    result = crackdown("--config", str(config), "run", "--once", env=env)
    assert result.returncode == 0, result.stderr
    alerts = [m.plain_text for m in standin.sent_messages(SUBSCRIBER)][1:]
    assert sum(KEPT[0] in text for text in alerts) == 1, alerts
    vetoed = sum(VETOED[0] in text for text in alerts)
    if veto == "on":
        assert vetoed == 0, alerts
        assert "2 stories, 1 matched, 1 alerts sent" in result.stdout, result.stdout
    else:
        assert vetoed == 1, alerts
        assert "2 stories, 2 matched, 2 alerts sent" in result.stdout, result.stdout
    assert "learned veto off" not in result.stderr
