"""`crackdown run` as a daemon: commands served live, alerts delivered, SIGTERM stops it."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from crackdown.demo.site import LoopbackSite
from crackdown.standin import BotApiStandIn
from tests.e2e.conftest import RELEVANT, cli_env, serve_sample_feeds, write_config

USER = 6001


def test_daemon_serves_start_delivers_and_stops_cleanly(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str
) -> None:
    serve_sample_feeds(site, empty=True)  # stories appear only after Ann subscribed
    world = write_config(tmp_path, site, standin, interval="1s", database_url=database_url)
    standin.add_user(USER, "Ann")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "crackdown", "--config", str(world), "run"],
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    err = ""
    try:
        standin.send_text(USER, "/start")
        standin.wait_for_messages(1, chat_id=USER, timeout=30)
        serve_sample_feeds(site)
        messages = standin.wait_for_messages(1 + len(RELEVANT), chat_id=USER, timeout=40)
        assert messages[0].plain_text.startswith("Subscribed")
        standin.send_text(USER, "/help")
        standin.wait_for_messages(2 + len(RELEVANT), chat_id=USER, timeout=20)
    except TimeoutError as exc:
        daemon.send_signal(signal.SIGTERM)
        raise AssertionError(f"{exc}; daemon log:\n{daemon.communicate(timeout=30)[1]}") from exc
    finally:
        if daemon.returncode is None:
            daemon.send_signal(signal.SIGTERM)
            _out, err = daemon.communicate(timeout=30)
    assert daemon.returncode == 0, err
    assert "stopped" in err
    alerts = [m.plain_text for m in standin.sent_messages(USER)]
    for title in RELEVANT:
        assert sum(title in text for text in alerts) == 1, title
    # The command menu is published in both languages.
    languages = {language for _scope, language in standin.commands}
    assert {"", "zh"} <= languages
