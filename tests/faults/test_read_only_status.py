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
from sqlalchemy import text
from sqlalchemy.engine import make_url

from crackdown.app import open_app
from crackdown.cli import main
from crackdown.config import build_config
from storage import subscribers
from storage.sources import list_sources
from tests.conftest import PgServer
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


@pytest.mark.postgresql
@pytest.mark.parametrize("refused", ["select only", "read-only transactions"])
def test_status_reads_a_postgresql_database_its_role_may_not_write(
    pg_server: PgServer, refused: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A monitoring role granted SELECT only, or one whose transactions are read-only (as on
    a standby). Old code registered the configured sources first: "database error: ...
    permission denied for table sources" (or "cannot execute INSERT in a read-only
    transaction"), exit status 1, as soon as the config named a source the database had
    not seen."""
    name = pg_server.create_database()
    role = f"{pg_server.prefix}_reader"
    owner_url = pg_server.url_for(name)
    source = {"key": "pboc", "url": "http://127.0.0.1:9/pboc.xml"}
    app = open_app(build_config({"storage": {"url": owner_url}, "sources": [source]}, {}))
    with app.db.session() as session:
        subscribers.subscribe(session, 7001, topic="china-crypto-enforcement")
    pg_server.execute(f'DROP ROLE IF EXISTS "{role}"')
    pg_server.execute(f'CREATE ROLE "{role}" LOGIN')
    if refused == "select only":
        with app.db.session() as session:
            session.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"'))
    else:
        pg_server.execute(f'ALTER ROLE "{role}" SET default_transaction_read_only = on')
        with app.db.session() as session:
            session.execute(text(f'GRANT ALL ON ALL TABLES IN SCHEMA public TO "{role}"'))
            session.execute(text(f'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO "{role}"'))
    reader_url = make_url(owner_url).set(username=role, password=None)
    shown = reader_url.render_as_string(hide_password=False)
    config = tmp_path / "config.toml"
    config.write_text(  # a second source the database has not seen: status registers none
        f'[storage]\nurl = "{shown}"\n[[sources]]\nkey = "pboc"\n'
        'url = "http://127.0.0.1:9/pboc.xml"\n[[sources]]\nkey = "csrc"\n'
        'url = "http://127.0.0.1:9/csrc.xml"\n',
        encoding="utf-8",
    )
    try:
        report = status(config, capsys)
        with app.db.session() as session:
            registered = [row.key for row in list_sources(session)]
    finally:
        app.db.dispose()
        pg_server.drop_database(name)
        pg_server.execute(f'DROP ROLE IF EXISTS "{role}"')
    assert report["chats"] == {"active": 1, "inactive": 0}
    assert report["sources"] == {"total": 1, "failing": [], "paused": []}
    assert report["database"]["read_only"] is True  # type: ignore[index]
    assert registered == ["pboc"]


@pytest.mark.postgresql
def test_a_postgresql_database_read_only_and_unmigrated_is_one_line(
    pg_server: PgServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Read as it is, a database must be of the current schema: it cannot be migrated."""
    name = f"{pg_server.prefix}_empty"
    pg_server.execute(f'CREATE DATABASE "{name}"')  # no tables at all
    pg_server.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    url = make_url(pg_server.url_for(name))
    config = tmp_path / "config.toml"
    config.write_text(f'[storage]\nurl = "{url.render_as_string(False)}"\n', encoding="utf-8")
    try:
        code = main(["--config", str(config), "status"], environ={})
    finally:
        pg_server.drop_database(name)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(
        f"crackdown: config error: storage.url: {url.render_as_string(True)} is read-only and"
        " its schema is not current (empty, not "
    ), err
    assert err.count("\n") == 1
