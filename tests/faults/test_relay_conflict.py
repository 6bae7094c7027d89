"""Command reading through a Bot API relay that answers 200 whatever Telegram said, when
Telegram answers getUpdates with 409 Conflict (a second copy of the bot polled once).

Old code: PTB read the relayed `{"ok":false,"error_code":409,...}` as success, raised a
KeyError on the missing "result", and the KeyError ended the reading task: the daemon ran
on, sending alerts, and never answered a command again until restarted.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

from crackdown.demo.site import LoopbackSite
from crackdown.standin import BotApiStandIn
from tests.conftest import TOKEN
from tests.e2e.conftest import serve_sample_feeds, write_config
from tests.e2e.test_lifecycle import running
from tests.faults.gateway import Gateway

USER = 7401


def second_copy_polls(standin: BotApiStandIn) -> None:
    """What another copy of the bot does: one getUpdates, ending the daemon's long poll."""
    url = f"{standin.base_url}{TOKEN}/getUpdates"
    request = urllib.request.Request(url, data=json.dumps({"timeout": 0}).encode())
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert json.loads(answer.read())["ok"] is True


def test_a_relayed_conflict_is_one_line_and_commands_are_still_answered(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn
) -> None:
    serve_sample_feeds(site, empty=True)
    standin.add_user(USER, "Ann")
    with Gateway(standin.base_url.removesuffix("/bot")) as gateway:
        gateway.mode = "flatten"
        config = write_config(tmp_path, site, gateway)  # type: ignore[arg-type]
        with running(config, tmp_path / "run.log") as daemon:
            standin.send_text(USER, "/help")
            standin.wait_for_messages(1, chat_id=USER, timeout=60)
            deadline = time.monotonic() + 30
            while "Conflict" not in daemon.text() and time.monotonic() < deadline:
                second_copy_polls(standin)
                time.sleep(0.3)
            standin.send_text(USER, "/help")
            standin.wait_for_messages(2, chat_id=USER, timeout=30)
            code, _ = daemon.stop()
    log = daemon.text()
    assert code == 0, log
    assert "reading commands: Conflict" in log and "terminated by other getUpdates" in log, log
    assert "Traceback" not in log and "unexpected" not in log, log
