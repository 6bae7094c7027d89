"""Rows straight to the DB-API driver: one executemany a table, bound as SQLAlchemy binds them.

Why: a polling cycle stores thousands of rows in a few tables. Through Core,
compiling the INSERT, filling each row's defaults and binding its
parameters cost more than the database's inserting them (bench/feeds.py);
the driver's executemany does the same work in C (psycopg 3 pipelines it).
The rows are the same: each column's value goes through its type's own
bind processor for the dialect (UTC times, JSON), and a column left out
gets the model's Python default, as Core's INSERT fills it. Errors are
SQLAlchemy's (`exec_driver_sql` wraps them): a duplicate is an
IntegrityError, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Connection, Table

from storage.models import UTCDateTime

_Getter = Callable[[Mapping[str, Any]], Any]
_PLANS: dict[tuple[object, ...], tuple[str, list[_Getter | _Default | _Given]]] = {}


class _Default:
    """A column's callable Python default, bound: made once a statement, not once a row.

    Why: an outbox of thousands of rows called `utcnow` and formatted its time
    twice a row; the rows of one INSERT are made at one instant anyway.
    """

    def __init__(self, make: Callable[[Any], Any], process: Callable[[Any], Any]) -> None:
        self.make, self.process = make, process

    def getter(self) -> _Getter:
        value = self.process(self.make(None))  # SQLAlchemy's wrapper takes a context; ours not
        return lambda row: value


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    expressions: Mapping[str, str] | None = None,
    suffix: str = "",
) -> None:
    """INSERT `rows` (column key -> value; every row the same keys) with one executemany.

    `expressions` gives columns an SQL expression instead of a value (the
    same for every row); `suffix` follows the VALUES list ("ON CONFLICT DO NOTHING").
    """
    if not rows:
        return
    statement, plan = _plan(connection, table, frozenset(rows[0]), expressions or {}, suffix)
    getters = [get.getter() if isinstance(get, (_Default, _Given)) else get for get in plan]
    params = [tuple([get(row) for get in getters]) for row in rows]
    connection.exec_driver_sql(statement, params if len(params) > 1 else params[0])


def bind(connection: Connection, column: Column[Any]) -> Callable[[Any], Any]:
    """The function that turns a Python value into what the driver gets for `column`."""
    dialect = connection.dialect
    if dialect.name == "sqlite" and isinstance(column.type, UTCDateTime):
        return sqlite_utc_text
    processor = column.type.dialect_impl(dialect).bind_processor(dialect)
    return processor or _same


def sqlite_utc_text(value: datetime | None) -> str | None:
    """`UTCDateTime`'s bound value on SQLite, as SQLAlchemy makes it, in one C call.

    Why: SQLAlchemy's processor (UTC, naive, then SQLite's "%(year)04d-...%(microsecond)06d"
    format from a dict of seven fields) was a tenth of a first cycle's storing thread
    (bench/README.md, session 10); `isoformat` gives the same text
    (tests/storage/test_rows.py compares them).
    """
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(" ", "microseconds")[:26]  # without its "+00:00"


def mark(connection: Connection) -> str:
    """The driver's parameter mark ("?" for sqlite3, "%s" for psycopg)."""
    return "?" if connection.dialect.paramstyle == "qmark" else "%s"


def _plan(
    connection: Connection,
    table: Table,
    keys: frozenset[str],
    expressions: Mapping[str, str],
    suffix: str,
) -> tuple[str, list[_Getter | _Default | _Given]]:
    dialect = connection.dialect
    cache_key = (table.name, dialect.name, keys, tuple(sorted(expressions.items())), suffix)
    plan = _PLANS.get(cache_key)
    if plan is not None:
        return plan
    columns = [
        column
        for column in table.columns
        if column.key in keys
        or column.key in expressions
        or (column.default is not None and not column.primary_key)
    ]
    unknown = (keys | set(expressions)) - {column.key for column in columns}
    if unknown:
        raise KeyError(f"{table.name} has no column {sorted(unknown)}")
    valued = [column for column in columns if column.key not in expressions]
    getters = [_getter(connection, column, column.key in keys) for column in valued]
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(column.name) for column in columns)
    marks = ", ".join(expressions.get(column.key, mark(connection)) for column in columns)
    statement = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks}){suffix}"
    _PLANS[cache_key] = (statement, getters)
    return statement, getters


def _getter(
    connection: Connection, column: Column[Any], given: bool
) -> _Getter | _Default | _Given:
    """A row's value for `column`, bound: the row's own, or the column's Python default."""
    process = bind(connection, column)
    key = column.key
    if given:
        return _Given(process, key)
    default: Any = column.default
    if default.is_scalar:
        value = process(default.arg)
        return lambda row: value
    if default.is_callable:
        return _Default(default.arg, process)
    raise TypeError(f"{column}: only scalar and callable defaults are filled here")


class _Given:
    """A row's own value for a column, bound; a new getter for each statement.

    Why: a poll's stories share one `fetched_at` object and their sources one
    `seen_at`, and their match rows are mostly empty lists; binding each
    again (a time's text, a JSON text) was most of binding them. Within one
    statement's rows the last value's bound form is kept, by identity (an
    empty list as any empty list): nothing changes a row while its statement
    is bound, and no getter outlives its statement or is shared by threads.
    """

    def __init__(self, process: Callable[[Any], Any], key: str) -> None:
        self.process, self.key = process, key

    def getter(self) -> _Getter:
        process, key = self.process, self.key
        last: tuple[Any, Any] = (object(), None)

        def get(row: Mapping[str, Any]) -> Any:
            nonlocal last
            value = row[key]
            if value.__class__ is list and not value:
                value = _EMPTY
            if value is last[0]:
                return last[1]
            bound = process(value)
            last = (value, bound)
            return bound

        return get


_EMPTY: list[Any] = []  # every empty list value, for `_Given`'s identity check; never changed


def _same(value: Any) -> Any:
    return value
