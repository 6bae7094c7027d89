"""The demo: sample feeds and a Telegram stand-in on loopback, one real cycle."""

from __future__ import annotations

import asyncio
import os
from importlib import resources
from pathlib import Path
from typing import TextIO

from crackdown.app import open_app
from crackdown.config import TOKEN_ENV, build_config
from crackdown.daemon import run_once
from crackdown.demo.render import render
from crackdown.demo.site import LoopbackSite, Page
from crackdown.standin import BotApiStandIn

DEMO_TOKEN = "100000:DEMO-TOKEN-NOT-SECRET"
DEMO_USER = 7001
FEEDS = (
    ("ledger-daily", "ledger-daily.xml", "en"),
    ("lianwen", "lianwen.xml", "zh"),
    ("coinwire", "coinwire.xml", "en"),  # a second report of one event: one alert lists both
)


def default_db_path(environ: dict[str, str] | None = None) -> Path:
    """$XDG_DATA_HOME/crackdown/demo.db (~/.local/share/crackdown/demo.db)."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "crackdown" / "demo.db"


def _remove_database(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def run_demo(db_path: Path, out: TextIO, *, fresh: bool = False, color: bool = False) -> int:
    """Run one full cycle against bundled feeds and print what the subscriber got."""
    if fresh:
        _remove_database(db_path)
    data = resources.files("crackdown.demo").joinpath("data")
    pages = {f"/{name}": Page(data.joinpath(name).read_bytes()) for _, name, _ in FEEDS}
    with (
        LoopbackSite(pages) as site,
        BotApiStandIn(DEMO_TOKEN, bot_username="crackdown_demo_bot") as standin,
    ):
        document = {
            "storage": {"url": f"sqlite:///{db_path}"},
            "telegram": {"api_base_url": standin.base_url, "poll_timeout": 1},
            "sources": [
                {"key": key, "url": site.url(f"/{name}"), "lang": lang} for key, name, lang in FEEDS
            ],
        }
        app = open_app(build_config(document, {TOKEN_ENV: DEMO_TOKEN}))
        out.write(
            f"crackdown demo: offline, every peer on 127.0.0.1\n"
            f"  sample feeds   {site.base_url}/ ({len(FEEDS)} feeds)\n"
            f"  Telegram       stand-in Bot API at {standin.base_url}\n"
            f"  database       {db_path}  (--fresh starts over)\n\n"
        )
        standin.add_user(DEMO_USER, "Mei", "en", username="mei")
        standin.send_text(DEMO_USER, "/start")
        out.write("Mei (chat 7001) sends: /start\n\n")
        try:
            report = asyncio.run(run_once(app))
        finally:
            app.db.dispose()
        for number, message in enumerate(standin.sent_messages(DEMO_USER), 1):
            out.write(f"── message {number} to Mei " + "─" * 40 + "\n")
            out.write(render(message.text, color=color) + "\n\n")
    out.write(report.summary() + "\n")
    return 0
