"""SIGHUP at a bad moment: one line, the running config kept, a later SIGHUP applies.

- Another process holds SQLite's write lock past the busy timeout (a backup, an operator's
  `sqlite3` shell). Old code: the reload's source sync raised "database is locked" out of
  the signal handler; asyncio logged "Exception in callback" with the whole traceback, and
  the log never said whether the new config was in force (it was not).
- The same lock, seen from the event loop. Old code: the reload's sync ran in the signal
  handler, on the loop, so sending and commands stood still for the busy timeout (5 s).
- The file is empty, caught mid-save by an editor that truncates first. Old code: valid
  TOML, so "config reloaded: 0 sources": polling stopped until the next reload.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path

import pytest

from crackdown.app import open_app
from crackdown.config import Config, build_config, load_config
from crackdown.daemon import Daemon
from tests.faults.sqlite_lock import write_lock_held


async def sighup(daemon: Daemon, caplog: pytest.LogCaptureFixture) -> float:
    """Send SIGHUP to this process, as an operator does; the longest the loop stood still
    (seconds) until the daemon said how the reload went."""
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, daemon.reload)
    said = len([r for r in caplog.records if r.name == "crackdown.daemon"])
    longest = 0.0
    started = last = time.monotonic()
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        while len([r for r in caplog.records if r.name == "crackdown.daemon"]) == said:
            await asyncio.sleep(0.02)
            now = time.monotonic()
            longest, last = max(longest, now - last), now
            assert now - started < 60, "no word on the reload"
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
    return longest


def config_of(path: Path, *keys: str) -> Config:
    sources = [{"key": key, "url": f"http://127.0.0.1:9/{key}.xml"} for key in keys]
    return build_config({"storage": {"url": f"sqlite:///{path}"}, "sources": sources}, {})


def test_a_reload_under_a_long_lock_is_one_line_and_keeps_the_running_config(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.db"
    app = open_app(config_of(path, "old"))
    edited = config_of(path, "old", "new")
    daemon = Daemon(app, lambda: edited)
    try:
        with write_lock_held(str(path)), caplog.at_level(logging.INFO, logger="crackdown.daemon"):
            stalled = asyncio.run(sighup(daemon, caplog))
        assert [s.key for s in app.config.sources] == ["old"]
        with caplog.at_level(logging.INFO, logger="crackdown.daemon"):
            asyncio.run(sighup(daemon, caplog))  # the lock gone: the same edit applies
        assert [s.key for s in app.config.sources] == ["old", "new"]
    finally:
        app.db.dispose()
    records = [r for r in caplog.records if r.name == "crackdown.daemon"]
    said = [r.getMessage() for r in records]
    assert len(said) == 2 and said[1].startswith("config reloaded: 2 sources"), said
    assert said[0] == (
        "config reload failed, the running config is kept: database is locked; send SIGHUP again"
    )
    assert records[0].exc_info is None  # the old code: a traceback out of the signal handler
    # The old code waited out SQLite's 5 s busy timeout on the event loop: no alert was sent.
    assert stalled < 2.5, f"the event loop stood still for {stalled:.1f}s"


def test_an_empty_config_file_is_rejected_and_polling_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.db"
    app = open_app(config_of(path, "old"))
    file = tmp_path / "config.toml"
    file.write_text("", encoding="utf-8")
    daemon = Daemon(app, lambda: load_config(file, {}))
    try:
        with caplog.at_level(logging.INFO, logger="crackdown.daemon"):
            asyncio.run(sighup(daemon, caplog))
    finally:
        app.db.dispose()
    assert [s.key for s in app.config.sources] == ["old"] and app.feeds()
    said = [r.getMessage() for r in caplog.records if r.name == "crackdown.daemon"]
    assert said == [
        "config reload rejected, the running config is kept: the new config has no sources"
        " (an empty or half-saved file?); to stop polling, set enabled = false on each source"
    ]
