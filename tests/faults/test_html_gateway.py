"""The Bot API answers HTML for a while (a gateway's 502 page, a captive portal's 200):
alerts wait and go out once, and the log has one line per failure, never a traceback.

Old code: a 200 page was taken for Telegram refusing each alert, so every queued alert used
up its attempts and failed for good within minutes; a 502 page logged PTB's traceback for
every request.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from crackdown.demo.site import LoopbackSite
from crackdown.standin import BotApiStandIn
from tests.conftest import TOKEN
from tests.e2e.conftest import RELEVANT, serve_sample_feeds, write_config
from tests.e2e.test_lifecycle import running
from tests.faults.gateway import Gateway

USER = 7201
# Two attempts, a 1 s backoff: the old code failed every alert within 2-3 s of the page,
# so OUTAGE seconds of it prove the alerts wait (and the daemon's getMe probe, doubling from
# 1 s, finds Telegram back within a few seconds of its end).
DELIVERY = '[delivery]\ninterval = "1s"\nmax_attempts = 2\nbase_backoff = "1s"\nmax_backoff = "1s"'
OUTAGE = 6


@pytest.mark.parametrize("page", ["html200", "html502"])
def test_alerts_wait_out_a_gateway_answering_html_and_are_sent_once(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, page: str
) -> None:
    serve_sample_feeds(site, empty=True)
    standin.add_user(USER, "Ann")
    standin.send_text(USER, "/start")
    with Gateway(standin.base_url.removesuffix("/bot")) as gateway:
        config = write_config(tmp_path, site, gateway, interval="1s")  # type: ignore[arg-type]
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace('[delivery]\ninterval = "1s"', DELIVERY), encoding="utf-8")
        with running(config, tmp_path / "run.log") as daemon:
            standin.wait_for_messages(1, chat_id=USER, timeout=60)
            gateway.mode = page
            serve_sample_feeds(site)  # the alerts are queued while the page is up
            daemon.wait_for(lambda log: "Invalid server response" in log or "502" in log)
            time.sleep(OUTAGE)
            gateway.mode = "pass"
            standin.wait_for_messages(1 + len(RELEVANT), chat_id=USER, timeout=90)
            code, _ = daemon.stop()
    log = daemon.text()
    assert code == 0, log
    summary = standin.summary()
    assert summary["messages"] == 1 + len(RELEVANT) and summary["duplicates"] == 0, summary
    assert "Traceback" not in log and "Can not load invalid JSON" not in log
    assert TOKEN.split(":")[1] not in log
