"""A command that arrives while another process locks the SQLite file gets an answer.

The update is consumed when it is read, so the old code's failed handler (a
traceback in the log) left the user's /start unanswered and undone, silently.
"""

from __future__ import annotations

from pathlib import Path

from crackdown.demo.site import LoopbackSite
from crackdown.standin import BotApiStandIn
from tests.conftest import sqlite_only
from tests.e2e.conftest import serve_sample_feeds, write_config
from tests.e2e.test_lifecycle import running
from tests.faults.sqlite_lock import write_lock_held

ANN, BOB = 7101, 7102


@sqlite_only
def test_a_command_during_a_long_write_lock_is_answered_and_works_when_sent_again(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str
) -> None:
    serve_sample_feeds(site, empty=True)
    config = write_config(tmp_path, site, standin, database_url=database_url)
    standin.add_user(ANN, "Ann")
    standin.add_user(BOB, "Bob")
    standin.send_text(ANN, "/start")
    with running(config, tmp_path / "run.log") as daemon:
        standin.wait_for_messages(1, chat_id=ANN, timeout=60)
        database = database_url.removeprefix("sqlite:///")
        with write_lock_held(database) as locker:
            standin.send_text(BOB, "/start")
            (busy,) = standin.wait_for_messages(1, chat_id=BOB, timeout=40)
            assert "database is busy" in busy.plain_text
            # Held past the reply, however late it comes; ended here rather than waited out.
            assert locker.poll() is None, "the lock ended before the reply"
        standin.send_text(BOB, "/start")
        standin.wait_for_messages(2, chat_id=BOB, timeout=30)
        assert standin.sent_messages(BOB)[1].plain_text.startswith("Subscribed")
        code, _ = daemon.stop()
    assert code == 0, daemon.text()
    log = daemon.text()
    assert "/start in chat 7102 not done: database error (database is locked)" in log
    assert "Traceback" not in log
