"""systemd's side: the notify socket, the watchdog's interval and staleness, journald's lines."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from crackdown.logs import text_format, under_journald
from crackdown.runtime import systemd
from crackdown.runtime.metrics import Heartbeat


def test_notify_reaches_an_abstract_socket_and_is_a_no_op_outside_systemd() -> None:
    name = f"crackdown-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind("\0" + name)
        listener.settimeout(5)
        assert systemd.notify("READY=1", {"NOTIFY_SOCKET": "@" + name})
        assert listener.recv(64) == b"READY=1"
    assert not systemd.notify("READY=1", {})


def test_the_watchdog_is_fed_at_half_its_period_and_only_for_this_process() -> None:
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    mine = {"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}
    assert systemd.watchdog_interval(mine) == 15.0
    assert systemd.watchdog_interval({**mine, "WATCHDOG_PID": "1"}) is None
    assert systemd.watchdog_interval({}) is None


def test_the_heartbeat_goes_stale_when_no_job_finishes() -> None:
    heartbeat = Heartbeat(started=time.monotonic() - 100)
    assert heartbeat.stalled(60)  # nothing finished since the start, 100 s ago
    heartbeat.beat("deliver")
    assert not heartbeat.stalled(60)
    heartbeat.last["deliver"] -= 100
    assert heartbeat.stalled(60)


def test_under_journald_log_lines_carry_no_timestamp_of_their_own(
    capfd: pytest.CaptureFixture[str],
) -> None:
    stat = os.fstat(sys.stderr.fileno())
    assert under_journald({"JOURNAL_STREAM": f"{stat.st_dev}:{stat.st_ino}"})
    assert not under_journald({"JOURNAL_STREAM": "1:2"})  # a stream of some other process
    assert not under_journald({})
    assert "asctime" not in text_format(journald=True)
    assert "asctime" in text_format(journald=False)


def test_the_unit_waits_for_ready_has_a_watchdog_and_does_not_restart_on_a_config_error() -> None:
    unit = (Path(__file__).resolve().parents[2] / "deploy" / "crackdown.service").read_text()
    settings = dict(
        line.split("=", 1) for line in unit.splitlines() if "=" in line and not line.startswith("#")
    )
    assert settings["Type"] == "notify" and settings["NotifyAccess"] == "main"
    assert settings["WatchdogSec"].endswith("s")
    assert settings["RestartPreventExitStatus"] == "2"
