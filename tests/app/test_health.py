"""/healthz's verdict: a poll that never completes fails it, even while other jobs run."""

from __future__ import annotations

import time

from crackdown.runtime.metrics import POLL_JOB, Heartbeat, health
from storage.db import Database


def test_health_fails_when_polling_has_not_completed_for_too_long(db: Database) -> None:
    heartbeat = Heartbeat(started=time.monotonic() - 100)
    heartbeat.beat("deliver")  # delivery keeps running while a poll is stuck
    ok, checks = health(db, heartbeat, stale_after=300, poll_stale_after=60)
    assert not ok and checks["polling"] == "stalled" and checks["scheduler"] == "ok"

    heartbeat.beat(POLL_JOB)
    ok, checks = health(db, heartbeat, stale_after=300, poll_stale_after=60)
    assert ok and checks["polling"] == "ok"
