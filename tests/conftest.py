"""Shared fixtures: real loopback peers, and a real database per test: SQLite and PostgreSQL.

Every test that takes `db` (or `database_url`) runs twice: on a SQLite file,
and on a fresh PostgreSQL database when `CRACKDOWN_TEST_PG_URL` names a
server we may create databases on (`.ci/run` starts a throwaway one with
`.ci/postgres.sh`; so can you: see README, "PostgreSQL"). Without it the
PostgreSQL variants are left out, with one line saying why; with it, a
server that cannot be reached fails them, so CI never passes by skipping.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from crackdown.demo.site import LoopbackSite
from crackdown.standin import BotApiStandIn
from crawler.learned import LearnedVeto, VetoWeights
from crawler.matcher import Matcher
from storage.db import Database, normalise_url
from tests.forward_proxy import ForwardProxy

DATA = Path(__file__).parent / "data"
# As the CLI does: PTB's RetryAfter carries a timedelta, without a deprecation warning.
os.environ.setdefault("PTB_TIMEDELTA", "1")
TOKEN = "424242:TEST-TOKEN-aaaaBBBBccccDDDD"
PG_URL = os.environ.get("CRACKDOWN_TEST_PG_URL", "")
NO_PG = (
    "the PostgreSQL variants need CRACKDOWN_TEST_PG_URL "
    "(bash .ci/postgres.sh run -- pytest starts a throwaway server and sets it)"
)
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
# For the few tests about one backend only: `@sqlite_only` / `@postgresql_only`.
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
postgresql_only = pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgresql)], indirect=True
)


_PG_LEFT_OUT = pytest.StashKey[int]()


DEFAULT_TOPIC = "china-crypto-enforcement"  # the topic the learned veto serves


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "postgresql: runs on the PostgreSQL test server")


def pytest_report_header(config: pytest.Config) -> str:
    shown = make_url(PG_URL).render_as_string(hide_password=True) if PG_URL else "not set"
    return f"PostgreSQL for the tests (CRACKDOWN_TEST_PG_URL): {shown}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without a server, leave the PostgreSQL variants out, said once rather than per test.

    (A skip per test would print a line each in `-ra`'s summary: hundreds.)
    """
    if PG_URL:
        return
    left_out = [item for item in items if item.get_closest_marker("postgresql")]
    if left_out:
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]
        config.hook.pytest_deselected(items=left_out)
    config.stash[_PG_LEFT_OUT] = len(left_out)


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    left_out = config.stash.get(_PG_LEFT_OUT, 0)
    if left_out:
        terminalreporter.write_line(f"{left_out} tests not run (deselected): {NO_PG}", yellow=True)


class PgServer:
    """The PostgreSQL server of CRACKDOWN_TEST_PG_URL: a migrated template, a database per test.

    Why a template: migrating from scratch takes longer than copying a
    migrated database, and the template's creation is itself the proof that
    every migration runs on PostgreSQL. Tests get `CREATE DATABASE ...
    TEMPLATE`, dropped afterwards WITH (FORCE), which also ends connections
    a killed daemon left behind.
    """

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.admin: Engine = create_engine(
            self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool
        )
        self.prefix = f"crackdown_test_{os.getpid()}"
        self.template = f"{self.prefix}_template"
        self._names = itertools.count(1)
        self._strategy = ""

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def execute(self, statement: str) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(statement))

    def create_template(self) -> None:
        with self.admin.connect() as connection:
            version = int(connection.execute(text("SHOW server_version_num")).scalar_one())
        # PostgreSQL 15 copies a database through the WAL by default: 5x slower for our
        # small template than copying its files, which is safe for a test server.
        self._strategy = " STRATEGY FILE_COPY" if version >= 150000 else ""
        self.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
        self.execute(f'CREATE DATABASE "{self.template}"')
        database = Database(self.url_for(self.template))
        try:
            database.upgrade()
        finally:
            database.dispose()  # a template must have no connections when copied

    def create_database(self) -> str:
        """A new database holding the migrated schema and no rows."""
        name = f"{self.prefix}_{next(self._names)}"
        self.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"{self._strategy}')
        return name

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        self.drop_database(self.template)
        self.admin.dispose()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    if not PG_URL:
        pytest.skip(NO_PG)
    if make_url(PG_URL).get_backend_name() != "postgresql":
        raise ValueError(f"CRACKDOWN_TEST_PG_URL is not a PostgreSQL URL: {PG_URL}")
    server = PgServer(PG_URL)
    server.create_template()  # an unreachable server fails here, loudly
    yield server
    server.close()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A storage URL for a database of its own: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'crackdown.db'}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = server.create_database()
    yield server.url_for(name)
    server.drop_database(name)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """In-process CLI calls configure logging; put it back for the next test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def site() -> Iterator[LoopbackSite]:
    with LoopbackSite() as server:
        yield server


@pytest.fixture
def standin() -> Iterator[BotApiStandIn]:
    with BotApiStandIn(TOKEN, bot_username="crackdown_test_bot") as server:
        yield server


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per test process, copied for each test's `db`.

    Why: migrating a new SQLite file takes 1.5-4 s of fsync-bound wall time
    (0.15 s of CPU), paid by every test that takes `db`; a copy takes
    milliseconds. Its creation still proves every migration runs on SQLite,
    and tests of the migrations or of a CLI meeting a new file use their own
    (`database_url` alone is still an empty path).
    """
    path = tmp_path_factory.mktemp("sqlite-template") / "crackdown.db"
    database = Database(f"sqlite:///{path}")
    try:
        database.upgrade()
    finally:
        database.dispose()  # closes the last connection, so the WAL is folded into the file
    assert not path.with_name(path.name + "-wal").exists(), "template copied with its WAL unmerged"
    return path


@pytest.fixture
def db(database_url: str, request: pytest.FixtureRequest) -> Iterator[Database]:
    """The database at `database_url`, migrated (on PostgreSQL it already is: the template;
    on SQLite it is a copy of `sqlite_template`, and upgrade() then finds it at head)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        shutil.copyfile(request.getfixturevalue("sqlite_template"), url.database)
    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@pytest.fixture
def without_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy variables of the machine running the tests (the proxy tests set their own)."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture
def proxy() -> Iterator[ForwardProxy]:
    """A forward HTTP proxy on loopback that records what it proxied."""
    with ForwardProxy() as server:
        yield server


@pytest.fixture(scope="module")
def veto(matcher: Matcher) -> LearnedVeto:
    """The product decides with the rule and then the learned veto (crawler/learned.py).

    Needs a `matcher` fixture in the test's module (the built-in watchlist's)."""
    layer = LearnedVeto.for_matcher(matcher, DEFAULT_TOPIC)
    assert layer is not None, "the learned veto switched itself off: retrain it"
    return layer


# The shipped veto is chosen to lose no true alert out of sample, so it vetoes almost nothing
# a test can write; tests of the veto's path (drop the topic, the workers' copy, the CLI, the
# daemon) use its weights with this threshold, through $CRACKDOWN_VETO_WEIGHTS.
STRICT_VETO_THRESHOLD = 0.7


@pytest.fixture(scope="session")
def strict_veto_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped weights with a stricter threshold, in a file (for $CRACKDOWN_VETO_WEIGHTS)."""
    weights = dataclasses.replace(VetoWeights.load(), threshold=STRICT_VETO_THRESHOLD)
    path = tmp_path_factory.mktemp("veto") / "learned-veto.json"
    path.write_text(weights.as_json(), "utf-8")
    return path


@pytest.fixture
def strict_veto(matcher: Matcher, strict_veto_weights: Path) -> LearnedVeto:
    """The learned veto with the stricter threshold (needs a module `matcher` fixture)."""
    layer = LearnedVeto.for_matcher(matcher, DEFAULT_TOPIC, VetoWeights.load(strict_veto_weights))
    assert layer is not None
    return layer
