"""`crackdown status` on a database crackdown may not write: an operator's health check
(a monitoring user, a read-only mount, a `mode=ro` URI, a copy of a backup) reads it.

Old code: status opened the database as the daemon does, to migrate it and register the
configured sources, so each of these was "config error: storage.url: ... is not readable
and writable" (or "... mode=ro opens ... read-only"), exit status 2 and nothing reported.
Now it reads the file as it is and says so; the file is left byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crackdown.app import open_app
from crackdown.cli import main
from crackdown.config import build_config
from storage import subscribers
from tests.faults.test_unusable_database import digest, read_only


def make_database(tmp_path: Path) -> tuple[Path, Path]:
    """A daemon's database with one subscriber and one source, and a config naming it."""
    path = tmp_path / "data" / "crackdown.db"
    source = {"key": "pboc", "url": "http://127.0.0.1:9/pboc.xml"}
    app = open_app(build_config({"storage": {"url": f"sqlite:///{path}"}, "sources": [source]}, {}))
    with app.db.session() as session:
        subscribers.subscribe(session, 7001, topic="china-crypto-enforcement")
    app.db.dispose()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{path}"\n[[sources]]\nkey = "pboc"\n'
        'url = "http://127.0.0.1:9/pboc.xml"\n',
        encoding="utf-8",
    )
    return path, config


def status(config: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code = main(["--config", str(config), "status", "--json"], environ={})
    out, err = capsys.readouterr()
    assert code == 0 and err == "", err
    report: dict[str, object] = json.loads(out)
    return report


@pytest.mark.parametrize("locked", ["file", "folder"])
def test_status_reads_a_database_it_may_not_write(
    tmp_path: Path, locked: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path, config = make_database(tmp_path)
    for leftover in path.parent.glob("*.db-*"):  # as after a clean stop: no -wal, no -shm
        leftover.unlink()
    before = digest(path)
    with read_only(path if locked == "file" else path.parent):
        report = status(config, capsys)
    assert report["chats"] == {"active": 1, "inactive": 0}
    assert report["sources"] == {"total": 1, "failing": [], "paused": []}
    assert report["database"] == {
        "url": f"sqlite:///{path}",
        "bytes": report["database"]["bytes"],  # type: ignore[index]
        "read_only": True,
    }
    assert digest(path) == before


def test_status_reads_through_a_mode_ro_uri(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, config = make_database(tmp_path)
    uri = f"sqlite:///file:{path}?mode=ro&uri=true"
    config.write_text(config.read_text().replace(f"sqlite:///{path}", uri), encoding="utf-8")
    before = digest(path)
    report = status(config, capsys)
    assert report["chats"] == {"active": 1, "inactive": 0}
    assert report["database"]["read_only"] is True  # type: ignore[index]
    assert digest(path) == before


def test_a_read_only_database_of_an_older_schema_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, config = make_database(tmp_path)
    path.write_bytes(b"")  # no tables at all: nothing status could read
    with read_only(path):
        code = main(["--config", str(config), "status"], environ={})
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(
        f"crackdown: config error: storage.url: {path} is read-only and its schema is not"
        " current (empty, not "
    ), err
    assert err.count("\n") == 1
