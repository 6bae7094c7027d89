"""Telegram away (not listening, 502, the token rejected): the daemon polls and stores anyway.

Alerts wait in the outbox and go out, with command replies, as soon as the
Bot API answers again, without a restart; each failure is one log line,
never a traceback, and no byte of any output holds the token.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from crackdown.demo.site import LoopbackSite, Page
from crackdown.standin import BotApiStandIn, Outage
from tests.conftest import TOKEN
from tests.e2e.conftest import (
    RELEVANT,
    cli_env,
    crackdown,
    serve_sample_feeds,
    write_config,
)
from tests.e2e.test_lifecycle import running

USER = 8401
SECRET_HALF = TOKEN.partition(":")[2]
LATE_NEWS = "Shenzhen police shut down illegal bitcoin OTC exchange, freeze bank accounts"


def _count(database_url: str, sql: str) -> int:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return int(connection.execute(text(sql)).scalar_one())
    finally:
        engine.dispose()


def _pending_alerts(database_url: str) -> int:
    return _count(database_url, "SELECT count(*) FROM deliveries WHERE status = 'pending'")


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def _add_late_news(site: LoopbackSite) -> None:
    """A new relevant item at the top of the English feed."""
    page = site.pages["/ledger-daily.xml"]
    item = (
        f"<item><title>{LATE_NEWS}</title>"
        "<link>https://ledger-daily.example/2018/02/shenzhen-otc</link>"
        "<guid>ld-2018-0201-shenzhen</guid>"
        "<pubDate>Thu, 01 Feb 2018 08:00:00 +0000</pubDate>"
        "<description>Police in Shenzhen shut down an illegal bitcoin OTC exchange.</description>"
        "</item>"
    )
    body = page.body.replace(b"<language>en</language>", b"<language>en</language>" + item.encode())
    site.pages["/ledger-daily.xml"] = Page(body)


def _assert_clean(output: str) -> None:
    assert TOKEN not in output
    assert SECRET_HALF not in output
    assert "Traceback" not in output, output


def test_the_daemon_stores_while_telegram_is_away_and_delivers_when_it_answers(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str
) -> None:
    serve_sample_feeds(site, empty=True)
    config = write_config(tmp_path, site, standin, database_url=database_url, interval="1s")
    standin.add_user(USER, "Ann")
    standin.send_text(USER, "/start")
    assert crackdown("--config", str(config), "run", "--once").returncode == 0  # subscribed
    port = standin.port
    standin.stop()  # nothing listens on the Bot API port now
    serve_sample_feeds(site)

    log = tmp_path / "run.log"
    env = {"CRACKDOWN_DELIVERY__SHUTDOWN_GRACE": "2s", "CRACKDOWN_LOGGING__LEVEL": "DEBUG"}
    with running(config, log, **env) as daemon:
        daemon.wait_for(lambda text: "telegram unreachable" in text)
        # Stories are polled, stored and queued meanwhile.
        _wait(lambda: _pending_alerts(database_url) >= len(RELEVANT), 60, "alerts queued")
        assert daemon.process.poll() is None

        with BotApiStandIn(TOKEN, port=port, bot_username="crackdown_test_bot") as back:
            back.add_user(USER, "Ann")
            alerts = back.wait_for_messages(len(RELEVANT), chat_id=USER, timeout=60)
            for title in RELEVANT:
                assert sum(title in m.plain_text for m in alerts) == 1, title
            back.send_text(USER, "/help")  # commands are read without a restart
            back.wait_for_messages(len(RELEVANT) + 1, chat_id=USER, timeout=30)

            # Mid-run: every method answers 502 for a while.
            outage = Outage()
            back.state.interceptors.insert(0, outage)
            _wait(lambda: outage.refused >= 3, 30, "the daemon met the outage")
            before = daemon.text()
            _add_late_news(site)
            back.send_text(USER, "/help")
            _wait(lambda: _pending_alerts(database_url) >= 1, 30, "late news queued")
            time.sleep(5)
            during = daemon.text()[len(before) :]
            failures = [line for line in during.splitlines() if "telegram unreachable" in line]
            assert failures, during
            assert len(during.splitlines()) < 40, during  # a line per failure, not a traceback
            back.state.interceptors.remove(outage)
            texts = back.wait_for_messages(len(RELEVANT) + 3, chat_id=USER, timeout=60)
            assert any(LATE_NEWS in m.plain_text for m in texts)

            # SIGTERM during an outage still stops within delivery.shutdown_grace.
            seen = daemon.text().count("alerts stay queued")
            back.state.interceptors.insert(0, Outage())
            back.send_text(USER, "/help")
            daemon.wait_for(lambda text: text.count("alerts stay queued") >= seen + 2, timeout=30)
            code, took = daemon.stop()
    assert code == 0, daemon.text()
    assert took < 2 + 3, f"stopping took {took:.1f}s"
    _assert_clean(daemon.text())


def test_sigterm_while_telegram_never_answered_stops_at_once(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str
) -> None:
    serve_sample_feeds(site)
    config = write_config(tmp_path, site, standin, database_url=database_url)
    standin.stop()
    with running(config, tmp_path / "run.log", CRACKDOWN_DELIVERY__SHUTDOWN_GRACE="1s") as daemon:
        daemon.wait_for(lambda text: "crackdown running" in text and "unreachable" in text)
        code, took = daemon.stop()
    assert code == 0, daemon.text()
    assert took < 1 + 3, f"stopping took {took:.1f}s"
    _assert_clean(daemon.text())


def test_run_once_without_telegram_stores_and_exits_1_with_one_line(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str
) -> None:
    serve_sample_feeds(site)
    config = write_config(tmp_path, site, standin, database_url=database_url)
    standin.stop()
    result = crackdown("--config", str(config), "--log-level", "ERROR", "run", "--once")
    assert result.returncode == 1
    assert "10 stories, 6 matched, alerts queued: telegram unreachable" in result.stdout
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("crackdown: telegram unreachable ("), result.stderr
    _assert_clean(result.stdout + result.stderr)
    assert _count(database_url, "SELECT count(*) FROM stories") == 10


@pytest.mark.parametrize("path", ["/bot", "/no-such-api"], ids=["401", "404"])
def test_a_rejected_token_is_one_line_and_never_printed(
    tmp_path: Path, site: LoopbackSite, database_url: str, path: str
) -> None:
    serve_sample_feeds(site)
    with BotApiStandIn("777:ANOTHER-BOTS-TOKEN") as other:  # answers 401 to our token
        config = write_config(tmp_path, site, other, database_url=database_url)
        base = other.base_url.removesuffix("/bot") + path
        config.write_text(config.read_text().replace(other.base_url, base))
        once = crackdown("--config", str(config), "--log-level", "DEBUG", "run", "--once")
        assert once.returncode == 1
        assert "crackdown: telegram rejected the bot token (401/404)" in once.stderr
        _assert_clean(once.stdout + once.stderr)

        out, err = tmp_path / "daemon.out", tmp_path / "daemon.err"
        with out.open("wb") as stdout, err.open("wb") as stderr:
            daemon = subprocess.Popen(
                [sys.executable, "-m", "crackdown", "--config", str(config), "run"],
                env=cli_env(CRACKDOWN_LOGGING__LEVEL="DEBUG"),
                stdout=stdout,
                stderr=stderr,
            )
            try:
                _wait(lambda: b"polling and storing go on" in err.read_bytes(), 30, "the error")
                _wait(lambda: _count(database_url, "SELECT count(*) FROM stories") == 10, 30, "")
                daemon.send_signal(signal.SIGTERM)
                assert daemon.wait(timeout=30) == 0
            finally:
                if daemon.poll() is None:
                    daemon.kill()
                    daemon.wait()
    logged = err.read_bytes()
    assert b"telegram rejected the bot token (401/404)" in logged
    for output in (out.read_bytes(), logged):  # every byte, whatever its encoding
        assert TOKEN.encode() not in output
        assert SECRET_HALF.encode() not in output
        assert b"Traceback" not in output


def test_a_token_revoked_mid_run_is_one_line_and_the_daemon_goes_on(
    tmp_path: Path, site: LoopbackSite, standin: BotApiStandIn, database_url: str
) -> None:
    serve_sample_feeds(site, empty=True)
    config = write_config(tmp_path, site, standin, database_url=database_url, interval="1s")
    with running(config, tmp_path / "run.log", CRACKDOWN_LOGGING__LEVEL="DEBUG") as daemon:
        daemon.wait_for(lambda text: "telegram connected" in text)
        standin.token = "777:REVOKED-IN-BOTFATHER"  # our token now gets 401
        serve_sample_feeds(site)
        daemon.wait_for(lambda text: "telegram rejected the bot token" in text)
        _wait(lambda: _count(database_url, "SELECT count(*) FROM stories") == 10, 30, "stored")
        code, took = daemon.stop()
    assert code == 0, daemon.text()
    assert took < 10
    _assert_clean(daemon.text())
