"""`crackdown run --once` as a subprocess: feed server -> filter -> SQLite -> stand-in."""

from __future__ import annotations

from pathlib import Path

from crackdown.standin import BotApiStandIn
from tests.conftest import TOKEN
from tests.e2e.conftest import IRRELEVANT, RELEVANT, crackdown

SUBSCRIBER, BYSTANDER = 5001, 5002


def alert_texts(standin: BotApiStandIn, chat_id: int) -> list[str]:
    return [m.plain_text for m in standin.sent_messages(chat_id)]


def test_a_subscriber_gets_each_relevant_story_once_and_nothing_else(
    world: Path, standin: BotApiStandIn
) -> None:
    standin.add_user(SUBSCRIBER, "Ann")
    standin.add_user(BYSTANDER, "Bob")
    standin.send_text(SUBSCRIBER, "/start")

    first = crackdown("--config", str(world), "--log-level", "DEBUG", "run", "--once")
    assert first.returncode == 0, first.stderr
    assert "10 stories, 6 matched, 6 alerts sent" in first.stdout

    texts = alert_texts(standin, SUBSCRIBER)
    assert texts[0].startswith("Subscribed")  # the reply to /start
    alerts = texts[1:]
    for title in RELEVANT:
        assert sum(title in alert for alert in alerts) == 1, title
    for title in IRRELEVANT:
        assert not any(title in alert for alert in alerts), title
    assert len(alerts) == len(RELEVANT)
    assert standin.sent_messages(BYSTANDER) == []
    assert standin.pending_updates() == 0, "handled commands must be confirmed"

    # Broken sources are logged and the others went on.
    assert "source broken: poll failed" in first.stderr and "HTTP 500" in first.stderr
    assert "source not-a-feed: poll failed" in first.stderr
    assert "2 sources failed" in first.stdout

    # The token never reaches a log line, even at DEBUG.
    assert TOKEN not in first.stderr and TOKEN not in first.stdout
    assert TOKEN.split(":")[1] not in first.stderr

    second = crackdown("--config", str(world), "run", "--once")
    assert second.returncode == 0, second.stderr
    assert "0 stories, 0 matched, 0 alerts sent" in second.stdout
    assert len(alert_texts(standin, SUBSCRIBER)) == 1 + len(RELEVANT)


def test_stop_ends_alerts(world: Path, standin: BotApiStandIn) -> None:
    standin.add_user(SUBSCRIBER, "Ann", language_code="zh-hans")
    standin.send_text(SUBSCRIBER, "/start")
    standin.send_text(SUBSCRIBER, "/stop")
    result = crackdown("--config", str(world), "run", "--once")
    assert result.returncode == 0, result.stderr
    texts = alert_texts(standin, SUBSCRIBER)
    assert (
        texts == [texts[0], texts[1]]
        and texts[0].startswith("订阅成功")
        and texts[1].startswith("已取消订阅")
    )


def test_without_a_token_stories_are_stored_and_alerts_wait(
    world: Path, standin: BotApiStandIn
) -> None:
    from tests.e2e.conftest import cli_env

    env = cli_env()
    del env["CRACKDOWN_TELEGRAM_TOKEN"]
    result = crackdown("--config", str(world), "run", "--once", env=env)
    assert result.returncode == 0, result.stderr
    assert "10 stories, 6 matched, no bot token: alerts queued" in result.stdout
    assert standin.request_log == []
