"""Telegram calls an alert "message is too long" that we measured within its limit.

Telegram documents only "4096 characters after entities parsing" and counts its own way;
the stand-in is set to count lower here to play such a Telegram. Old code: any 400 but
"can't parse entities" failed the row for good, so the reader never saw the alert (a log
line said so). Now the part goes out in halves; the chat's next alert still follows.
"""

from __future__ import annotations

from dataclasses import replace

from bot.pacing import Limits
from crackdown.standin import BotApiStandIn
from storage import outbox
from storage.db import Database
from tests.bot.test_delivery import FAST, drain, queue_notice, texts

# Telegram's one message a second to a chat would make this a test of patience.
QUICK = replace(FAST, limits=Limits(private_per_second=100.0))
LONG = "\n\n".join(f"<b>Item {i}</b>: " + "ban " * 90 for i in range(8))  # ~3,000 characters


def test_a_part_telegram_calls_too_long_is_sent_in_pieces_and_the_next_alert_follows(
    db: Database, standin: BotApiStandIn
) -> None:
    standin.add_user(1, "reader")
    standin.state.max_text_length = 1000
    queue_notice(db, LONG, [1])
    queue_notice(db, "Source <b>back</b>", [1])
    report = drain(db, standin, QUICK)
    assert (report.sent, report.failed) == (2, 0)
    sent = texts(standin, 1)
    assert len(sent) >= 4 and all(len(text) <= 1000 for text in sent)
    assert "".join(sent[:-1]).count("Item ") == 8 and sent[-1] == "Source back"
    assert all(m.parse_mode == "HTML" for m in standin.sent_messages(1))  # still bold
    with db.session() as session:
        assert outbox.counts(session).sent == 2


def test_plain_text_telegram_calls_too_long_is_sent_in_pieces_too(
    db: Database, standin: BotApiStandIn
) -> None:
    standin.add_user(1, "reader")
    standin.state.max_text_length = 1000
    queue_notice(db, "<b>Source <i>down</b> " + "word " * 500, [1])  # unparsable: plain text
    report = drain(db, standin, QUICK)
    assert (report.sent, report.failed, report.plain_text_fallbacks) == (1, 0, 1)
    sent = standin.sent_messages(1)
    assert len(sent) >= 3 and all(m.parse_mode is None for m in sent)
    assert " ".join(m.plain_text for m in sent).split().count("word") == 500


def test_a_short_text_telegram_calls_too_long_fails_alone(
    db: Database, standin: BotApiStandIn
) -> None:
    standin.add_user(1, "reader")
    standin.inject_faults().fail_next(1, 400, "Bad Request: message is too long")
    queue_notice(db, "Source <b>down</b>", [1])
    queue_notice(db, "Source <b>back</b>", [1])
    report = drain(db, standin, QUICK)
    assert (report.sent, report.failed) == (1, 1) and texts(standin, 1) == ["Source back"]
