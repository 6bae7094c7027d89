"""The database goes away while the daemon runs: jobs fail and log, then it recovers alone."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from crackdown.demo.site import LoopbackSite
from crackdown.standin import BotApiStandIn
from tests.conftest import postgresql_only
from tests.e2e.conftest import RELEVANT, serve_sample_feeds, write_config
from tests.e2e.test_lifecycle import running

USER = 8301


@postgresql_only
def test_the_daemon_rides_out_a_database_outage_and_loses_nothing(
    tmp_path: Path,
    site: LoopbackSite,
    standin: BotApiStandIn,
    database_url: str,
    request: pytest.FixtureRequest,
) -> None:
    server = request.getfixturevalue("pg_server")
    name = make_url(database_url).database
    serve_sample_feeds(site, empty=True)
    config = write_config(tmp_path, site, standin, database_url=database_url, interval="1s")
    standin.add_user(USER, "Ann")
    standin.send_text(USER, "/start")
    with running(config, tmp_path / "run.log") as daemon:
        standin.wait_for_messages(1, chat_id=USER, timeout=60)
        server.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        server.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        )
        serve_sample_feeds(site)  # news arrives while the database is away
        daemon.wait_for(lambda log: "job poll_due failed" in log, timeout=30)
        time.sleep(3)
        assert daemon.process.poll() is None, daemon.text()
        server.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

        standin.wait_for_messages(1 + len(RELEVANT), chat_id=USER, timeout=90)
        texts = [m.plain_text for m in standin.sent_messages(USER)]
        for title in RELEVANT:
            assert sum(title in t for t in texts) == 1, title
        code, _ = daemon.stop()
    assert code == 0, daemon.text()
