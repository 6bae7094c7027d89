"""`crackdown status`: what an operator sees after a delivery run with a blocked chat."""

from __future__ import annotations

import json
from pathlib import Path

from crackdown.standin import BotApiStandIn
from storage import subscribers
from storage.db import Database
from tests.e2e.conftest import RELEVANT, crackdown


def test_status_counts_deliveries_and_shows_a_chats_ledger(
    world: Path, database_url: str, standin: BotApiStandIn
) -> None:
    standin.add_user(6001, "Ann")
    standin.add_user(6002, "Bob")
    standin.block(6002)
    db = Database(database_url)
    db.upgrade()
    with db.session() as session:
        for chat in (6001, 6002):
            subscribers.subscribe(session, chat, topic="china-crypto-enforcement")
    db.dispose()
    run = crackdown("--config", str(world), "run", "--once")
    assert run.returncode == 0, run.stderr

    status = crackdown("--config", str(world), "status")
    assert status.returncode == 0, status.stderr
    counters = {
        line.split()[0]: line.split()[1]
        for line in status.stdout.splitlines()
        if len(line.split()) > 1 and not line.startswith(("counter", "-"))
    }
    assert counters["sent"] == str(len(RELEVANT))
    assert counters["skipped"] == str(len(RELEVANT))  # Bob blocked us: his alerts are skipped
    assert counters["pending"] == "0" and counters["429s"] == "0"
    assert "Chats: 1 active, 1 inactive" in status.stdout
    assert "Sources: 4 configured, 2 failing (broken, not-a-feed)" in status.stdout

    ledger = crackdown("--config", str(world), "status", "--chat", "6002", "--json")
    entries = json.loads(ledger.stdout)
    assert len(entries) == len(RELEVANT)
    assert {e["status"] for e in entries} == {"skipped"}
    assert all("blocked by the user" in e["reason"] for e in entries)
    table = crackdown("--config", str(world), "status", "--chat", "6001").stdout
    assert table.startswith("Deliveries to chat 6001") and table.count(" sent ") == len(RELEVANT)
