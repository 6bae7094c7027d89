"""The daemon under systemd: READY, the watchdog fed by the scheduler, metrics on IPv6,
process and build metrics, and journald's own timestamps."""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path

from crackdown.demo.site import LoopbackSite
from crackdown.standin import BotApiStandIn
from tests.conftest import sqlite_only
from tests.e2e.conftest import serve_sample_feeds, write_config
from tests.e2e.test_lifecycle import running


def _free_port_v6() -> int:
    with socket.socket(socket.AF_INET6) as probe:
        probe.bind(("::1", 0))
        return int(probe.getsockname()[1])


@sqlite_only
def test_under_systemd_the_daemon_says_ready_feeds_the_watchdog_and_serves_metrics_on_ipv6(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str
) -> None:
    serve_sample_feeds(site)
    config = write_config(tmp_path, site, standin, database_url=database_url, interval="1s")
    notify_path = tmp_path / "notify.sock"
    port = _free_port_v6()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        notify.bind(str(notify_path))
        notify.settimeout(60)
        with running(
            config,
            tmp_path / "run.log",
            CRACKDOWN_METRICS__LISTEN=f"[::1]:{port}",
            NOTIFY_SOCKET=str(notify_path),
            WATCHDOG_USEC="400000",
        ) as daemon:
            said: list[str] = []
            while "WATCHDOG=1" not in said or "READY=1" not in said:
                said.append(notify.recv(256).decode())
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:  # the first poll's success, then scrape
                with urllib.request.urlopen(f"http://[::1]:{port}/metrics", timeout=10) as answer:
                    exposition = answer.read().decode()
                if "crackdown_last_poll_success_timestamp_seconds" in exposition:
                    break
                time.sleep(0.3)
            code, _ = daemon.stop()
            while "STOPPING=1" not in said:
                said.append(notify.recv(256).decode())
    assert code == 0
    assert said.index("READY=1") < said.index("STOPPING=1")
    stamp = next(
        line
        for line in exposition.splitlines()
        if line.startswith("crackdown_last_poll_success_timestamp_seconds ")
    )
    assert abs(float(stamp.split()[1]) - time.time()) < 120  # a Unix time, not an age
    assert (
        "process_resident_memory_bytes" in exposition and "process_cpu_seconds_total" in exposition
    )
    assert 'crackdown_build_info{python="' in exposition and 'version="' in exposition
    assert "crackdown_last_poll_success_seconds " not in exposition
