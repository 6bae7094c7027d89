"""A scheduled job meets the database locked past the busy timeout (a backup, an operator's
`sqlite3` shell): one line in the log, and the job runs again at its next time.

Seen under load in CI: the polling job's claim waited out the 5 s busy timeout and the
scheduler's wrapper logged the whole traceback ("job poll_due failed"), once a run for as
long as the lock lasted. Here the housekeeping job (its prune writes) meets the lock.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from crackdown.app import open_app
from crackdown.config import build_config
from crackdown.daemon import Daemon
from tests.faults.sqlite_lock import write_lock_held


def test_a_job_under_a_long_lock_logs_one_line_and_runs_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "c.db"
    app = open_app(build_config({"storage": {"url": f"sqlite:///{path}"}}, {}))
    daemon = Daemon(app)
    job = daemon._job("housekeeping", daemon.housekeeping)
    try:
        with write_lock_held(str(path)), caplog.at_level(logging.INFO, logger="crackdown.daemon"):
            asyncio.run(job())
        asyncio.run(job())  # the lock gone: the next run does its work
    finally:
        app.db.dispose()
    records = [r for r in caplog.records if r.name == "crackdown.daemon"]
    assert [r.getMessage() for r in records] == [
        "job housekeeping failed: database is locked; it runs again at its next time"
    ]
    assert records[0].exc_info is None  # the old code: the whole traceback
    assert daemon.metrics.job_errors.labels(job="housekeeping")._value.get() == 1
