"""The README's first command: `crackdown demo` works offline and is idempotent."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import IRRELEVANT, cli_env, crackdown


def test_demo_prints_alerts_and_a_rerun_sends_nothing(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    env = cli_env()
    del env["CRACKDOWN_TELEGRAM_TOKEN"]  # the demo needs nothing from the environment
    first = crackdown("demo", "--db", str(db), env=env)
    assert first.returncode == 0, first.stderr
    assert "支付宝" in first.stdout and "Alipay to cut off accounts" in first.stdout
    assert str(db) in first.stdout
    for title in [*IRRELEVANT, "Ethereum developers schedule"]:
        assert title not in first.stdout
    assert first.stdout.rstrip().endswith("12 stories, 7 matched, 6 alerts sent")
    # Two outlets' reports of Alipay's OTC ban are one event: one alert, listing both.
    alipay = first.stdout.split("Alipay to cut off accounts")[1].split("── message")[0]
    assert "Also reported by: coinwire" in alipay
    assert "Alipay to shut down accounts" not in first.stdout  # no second alert

    second = crackdown("demo", "--db", str(db), env=env)
    assert second.returncode == 0, second.stderr
    assert second.stdout.rstrip().endswith("0 stories, 0 matched, 0 alerts sent")
    assert "Alipay to cut off" not in second.stdout
