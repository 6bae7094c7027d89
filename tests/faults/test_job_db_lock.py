"""A scheduled job meets the database locked past the busy timeout (a backup, an operator's
`sqlite3` shell): one line in the log, and the job runs again at its next time.

Seen under load in CI: a job's claim waited out the 5 s busy timeout and the scheduler's
wrapper logged the whole traceback ("job poll_due failed"), once a run for as long as the
lock lasted. Here Telegram is away (a gateway's 502 page) while the alerts are queued, and
answers again under the lock, so the polling and delivery jobs both meet it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crackdown.demo.site import LoopbackSite
from crackdown.standin import BotApiStandIn
from tests.conftest import sqlite_only
from tests.e2e.conftest import RELEVANT, serve_sample_feeds, write_config
from tests.e2e.test_lifecycle import running
from tests.faults.gateway import Gateway
from tests.faults.test_delivery_db_lock import LOCKER

USER = 7301
FEEDS = ("ledger-daily", "lianwen")


@sqlite_only
def test_the_delivery_job_under_a_long_lock_logs_one_line_and_sends_each_alert_once(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str
) -> None:
    serve_sample_feeds(site, empty=True)
    standin.add_user(USER, "Ann")
    standin.send_text(USER, "/start")
    with Gateway(standin.base_url.removesuffix("/bot")) as gateway:
        config = write_config(tmp_path, site, gateway, interval="1s", database_url=database_url)  # type: ignore[arg-type]
        with running(config, tmp_path / "run.log") as daemon:
            standin.wait_for_messages(1, chat_id=USER, timeout=60)
            gateway.mode = "html502"
            serve_sample_feeds(site)  # the alerts are queued while Telegram is away
            daemon.wait_for(lambda log: all(f"{key}: HTTP 200, 5 items" in log for key in FEEDS))
            database = database_url.removeprefix("sqlite:///")
            with subprocess.Popen(
                [sys.executable, "-c", LOCKER, database, "60"], stdout=subprocess.PIPE, text=True
            ) as locker:
                assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"
                gateway.mode = "pass"  # Telegram answers: the next delivery run claims, locked
                daemon.wait_for(lambda log: "database is locked" in log, 60)
                locker.kill()
                locker.wait(timeout=30)
            standin.wait_for_messages(1 + len(RELEVANT), chat_id=USER, timeout=60)
            code, _ = daemon.stop()
    log = daemon.text()
    assert code == 0, log
    assert "Traceback" not in log, log
    summary = standin.summary()
    assert summary["messages"] == 1 + len(RELEVANT) and summary["duplicates"] == 0, summary
