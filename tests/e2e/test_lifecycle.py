"""The daemon's life: one per SQLite file, graceful SIGTERM, SIGHUP reload, metrics, JSON logs."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from crackdown.demo.site import LoopbackSite
from crackdown.standin import BotApiStandIn
from tests.conftest import TOKEN, sqlite_only
from tests.e2e.conftest import RELEVANT, cli_env, crackdown, serve_sample_feeds, write_config

USERS = list(range(8101, 8121))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Daemon:
    """`crackdown run` as a subprocess, its log in a file the test can wait on."""

    def __init__(self, config: Path, log: Path, **env: str) -> None:
        self.log = log
        self._log_file = log.open("a", encoding="utf-8")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crackdown", "--config", str(config), "run"],
            env=cli_env(**env),
            stdout=subprocess.DEVNULL,
            stderr=self._log_file,
            text=True,
        )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self.text()):
                return self.text()
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"daemon log never showed it:\n{self.text()}")

    def stop(self, timeout: float = 30) -> tuple[int, float]:
        started = time.monotonic()
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=timeout)
        self._log_file.close()
        return code, time.monotonic() - started


@contextmanager
def running(config: Path, log: Path, **env: str) -> Iterator[Daemon]:
    daemon = Daemon(config, log, **env)
    try:
        yield daemon
    finally:
        if daemon.process.poll() is None:
            daemon.process.kill()
            daemon.process.wait()


def _subscribe_everyone(standin: BotApiStandIn) -> None:
    for user in USERS:
        standin.add_user(user, f"user{user}")
        standin.send_text(user, "/start")


@sqlite_only
def test_a_second_daemon_on_the_same_sqlite_file_exits_with_a_clear_message(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str
) -> None:
    serve_sample_feeds(site)
    config = write_config(tmp_path, site, standin, database_url=database_url)
    with running(config, tmp_path / "first.log") as first:
        first.wait_for(lambda log: "crackdown running" in log)
        second = crackdown("--config", str(config), "run", "--once")
        assert second.returncode == 1
        assert f"another crackdown daemon (pid {first.process.pid}) is running" in second.stderr
        code, _ = first.stop()
    assert code == 0
    # The lock went with the first daemon, even though its lock file stays.
    assert crackdown("--config", str(config), "run", "--once").returncode == 0


def test_sigterm_lets_sends_in_flight_finish_and_nothing_is_lost_or_repeated(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str
) -> None:
    serve_sample_feeds(site, empty=True)  # stories appear once everyone has subscribed
    config = write_config(tmp_path, site, standin, database_url=database_url, interval="1s")
    _subscribe_everyone(standin)
    slow = lambda method, _params: time.sleep(1.0) if method == "sendMessage" else None  # noqa: E731
    with running(config, tmp_path / "run1.log") as daemon:
        standin.wait_for_messages(len(USERS), timeout=60)  # the welcomes
        standin.state.interceptors.append(slow)
        serve_sample_feeds(site)
        standin.wait_for_messages(len(USERS) + 1, timeout=60)  # the first alert is through
        code, took = daemon.stop()
    assert code == 0, daemon.text()
    assert took < 10, f"graceful stop took {took:.1f}s"
    assert "cancelled" not in daemon.text()  # every send in flight finished in the grace time
    standin.state.interceptors.remove(slow)
    delivered_before = len(standin.sent_messages())

    with running(config, tmp_path / "run2.log") as again:
        standin.wait_for_messages(len(USERS) * (1 + len(RELEVANT)), timeout=90)
        again.stop()
    assert len(standin.sent_messages()) > delivered_before
    for user in USERS:
        texts = [m.plain_text for m in standin.sent_messages(user)]
        for title in RELEVANT:
            assert sum(title in t for t in texts) == 1, (user, title)
    assert standin.summary()["duplicates"] == 0


def test_past_the_shutdown_deadline_sends_are_cancelled_and_sent_at_the_next_start(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str
) -> None:
    serve_sample_feeds(site, empty=True)
    config = write_config(tmp_path, site, standin, database_url=database_url, interval="1s")
    _subscribe_everyone(standin)
    hang = lambda method, _params: time.sleep(6) if method == "sendMessage" else None  # noqa: E731
    with running(config, tmp_path / "run1.log", CRACKDOWN_DELIVERY__SHUTDOWN_GRACE="1s") as daemon:
        standin.wait_for_messages(len(USERS), timeout=60)  # the welcomes
        standin.state.interceptors.append(hang)
        serve_sample_feeds(site)
        time.sleep(3.0)  # polled and queued; the first sends are stuck for 6 s each
        code, took = daemon.stop()
    assert code == 0, daemon.text()
    assert took < 6, f"stop took {took:.1f}s with a 1s grace"
    assert "were cancelled; their alerts are sent at the next start" in daemon.text()
    standin.state.interceptors.remove(hang)

    def everyone_has_everything() -> bool:
        return all(
            all(
                any(title in m.plain_text for m in standin.sent_messages(user))
                for title in RELEVANT
            )
            for user in USERS
        )

    with running(config, tmp_path / "run2.log") as again:
        deadline = time.monotonic() + 90
        while not everyone_has_everything() and time.monotonic() < deadline:
            time.sleep(0.2)
        again.stop()
    assert everyone_has_everything()  # nothing lost; a send cut off mid-request may repeat
    assert standin.summary()["duplicates"] <= 8  # at most the sends that were in flight


def test_sighup_reloads_sources_and_keeps_the_running_config_when_the_new_one_is_wrong(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str
) -> None:
    serve_sample_feeds(site)
    config = write_config(tmp_path, site, standin, database_url=database_url, interval="1s")
    full = config.read_text(encoding="utf-8")
    only_ledger = full[: full.index('[[sources]]\nkey = "lianwen"')]
    config.write_text(only_ledger, encoding="utf-8")
    user = USERS[0]
    standin.add_user(user, "Ann")
    standin.send_text(user, "/start")
    chinese = [t for t in RELEVANT if not t.isascii()]
    port = _free_port()
    metrics = f"http://127.0.0.1:{port}"
    with running(
        config,
        tmp_path / "run.log",
        CRACKDOWN_METRICS__LISTEN=f"127.0.0.1:{port}",
        CRACKDOWN_LOGGING__FORMAT="json",
    ) as daemon:
        english = len([t for t in RELEVANT if t.isascii()])
        standin.wait_for_messages(1 + english, chat_id=user, timeout=60)
        assert not any(c in m.plain_text for m in standin.sent_messages(user) for c in chinese)

        config.write_text(full, encoding="utf-8")  # lianwen added
        daemon.process.send_signal(signal.SIGHUP)
        standin.wait_for_messages(1 + len(RELEVANT), chat_id=user, timeout=60)
        daemon.wait_for(lambda log: "config reloaded: 4 sources" in log)

        config.write_text(full.replace('key = "lianwen"', 'key = "Bad Key!"'), encoding="utf-8")
        daemon.process.send_signal(signal.SIGHUP)
        log = daemon.wait_for(lambda log: "config reload rejected" in log)
        assert "sources[3].key" in log

        with urllib.request.urlopen(f"{metrics}/healthz", timeout=10) as answer:
            health = json.loads(answer.read())
        assert answer.status == 200 and health["database"] == "ok", health
        assert health["scheduler"] == "ok" and health["last_poll_success_age_s"] is not None
        with urllib.request.urlopen(f"{metrics}/metrics", timeout=10) as answer:
            exposition = answer.read().decode()
        assert 'crackdown_polls_total{outcome="ok",source="lianwen"}' in exposition
        assert 'crackdown_polls_total{outcome="error",source="broken"}' in exposition
        assert "crackdown_deliveries_total" in exposition
        assert 'crackdown_outbox_backlog{status="pending"}' in exposition
        assert "crackdown_database_bytes" in exposition
        code, _ = daemon.stop()
    assert code == 0
    lines = [json.loads(line) for line in daemon.text().splitlines() if line.strip()]
    assert {"ts", "level", "logger", "message"} <= set(lines[0])
    assert any(line["level"] == "ERROR" and "reload rejected" in line["message"] for line in lines)
    assert TOKEN not in daemon.text()


@pytest.mark.parametrize("listen", ["nonsense", "127.0.0.1:99999"])
def test_a_bad_metrics_address_is_a_config_error(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, listen: str
) -> None:
    config = write_config(tmp_path, site, standin)
    result = crackdown(
        "--config", str(config), "run", env=cli_env(CRACKDOWN_METRICS__LISTEN=listen)
    )
    assert result.returncode == 2 and "metrics.listen" in result.stderr
