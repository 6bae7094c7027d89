"""A reply Telegram refuses (the user blocked the bot right after a command; the chat is
gone): one line in the log, no traceback, and the bot goes on serving others."""

from __future__ import annotations

from pathlib import Path

from crackdown.demo.site import LoopbackSite
from crackdown.standin import BotApiStandIn
from tests.e2e.conftest import serve_sample_feeds, write_config
from tests.e2e.test_lifecycle import running

ANN, BOB = 7301, 7302


def test_a_refused_reply_is_one_line_and_others_are_served(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn
) -> None:
    serve_sample_feeds(site, empty=True)
    config = write_config(tmp_path, site, standin)
    standin.add_user(ANN, "Ann")
    standin.add_user(BOB, "Bob")
    faults = standin.inject_faults()
    faults.fail_next(ANN, 403, "Forbidden: bot was blocked by the user")
    faults.fail_next(ANN, 400, "Bad Request: chat not found")
    standin.send_text(ANN, "/help")
    standin.send_text(ANN, "/help")
    standin.send_text(BOB, "/help")
    with running(config, tmp_path / "run.log") as daemon:
        standin.wait_for_messages(1, chat_id=BOB, timeout=60)
        daemon.wait_for(lambda log: "no reply (BadRequest): Chat not found" in log)
        code, _ = daemon.stop()
    log = daemon.text()
    assert code == 0, log
    assert "Traceback" not in log and "handler failed" not in log, log
    assert "no reply (Forbidden): Forbidden: bot was blocked by the user" in log
