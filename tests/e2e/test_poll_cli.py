"""`crackdown poll` and `crackdown sources` as an operator runs them."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import crackdown


def test_poll_prints_a_line_per_source_then_only_due_ones(world: Path) -> None:
    first = crackdown("--config", str(world), "poll")
    assert first.returncode == 3, first.stderr  # some sources failed
    lines = first.stdout.splitlines()
    by_key = {line.split()[0]: line for line in lines[:-1]}
    assert set(by_key) == {"broken", "ledger-daily", "not-a-feed", "lianwen"}
    assert "HTTP 200" in by_key["ledger-daily"] and "5 new" in by_key["ledger-daily"]
    assert "failed 1x: HTTP 500" in by_key["broken"]
    assert "failed 1x: not a feed" in by_key["not-a-feed"]
    assert lines[-1] == "4 polled, 2 failed: 10 new stories, 6 matched, 0 alerts queued"

    again = crackdown("--config", str(world), "poll")
    assert again.stdout.strip() == "nothing is due (--all polls every source now)"

    forced = crackdown("--config", str(world), "poll", "--source", "ledger-daily")
    assert forced.returncode == 0 and "304" in forced.stdout

    everything = crackdown("--config", str(world), "poll", "--all")
    assert "failed 2x: HTTP 500" in everything.stdout


def test_sources_shows_health_after_a_mixed_run(world: Path) -> None:
    crackdown("--config", str(world), "poll")
    table = crackdown("--config", str(world), "sources").stdout.splitlines()
    rows = {line.split()[0]: line.split() for line in table[2:]}
    # key, url, last success (date time | never), failures, next poll (date time), items, error...
    assert rows["broken"][2:4] == ["never", "1"] and rows["broken"][-2:] == ["HTTP", "500"]
    assert rows["ledger-daily"][2] != "never" and rows["ledger-daily"][4] == "0"
    assert rows["ledger-daily"][7] == "5"  # items seen
    assert table[0].startswith("key") and "next poll" in table[0]


def test_polling_an_unknown_source_is_a_clear_error(world: Path) -> None:
    result = crackdown("--config", str(world), "poll", "--source", "nope")
    assert result.returncode == 2
    assert "no enabled feed source 'nope'" in result.stderr
