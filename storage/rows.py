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
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Connection, Table

from storage.models import UTCDateTime


class _Default:
    """A column's callable Python default, bound: made once a statement, not once a row.

    Why: an outbox of thousands of rows called `utcnow` and formatted its time
    twice a row; the rows of one INSERT are made at one instant anyway.
    """

    def __init__(self, make: Callable[[Any], Any], process: Callable[[Any], Any]) -> None:
        self.make, self.process = make, process

    def value(self) -> Any:
        return self.process(self.make(None))  # SQLAlchemy's wrapper takes a context; ours not


class _Constant:
    """A column's scalar default, bound once."""

    def __init__(self, value: Any) -> None:
        self.bound = value

    def value(self) -> Any:
        return self.bound


class _Plan:
    """One table's INSERT for rows of given keys: the statement, and how to bind a row.

    The row's own columns come first, picked by one `itemgetter` (C); only
    those whose type binds them (times, JSON) are processed in Python; the
    defaults follow, one value a statement. Why: per cell, a getter call was
    most of binding a first cycle's 200,000 rows (bench/feeds.py).
    """

    def __init__(
        self,
        statement: str,
        keys: tuple[str, ...],
        processed: list[tuple[int, _Given]],
        defaults: list[_Default | _Constant],
    ) -> None:
        self.statement, self.keys, self.processed, self.defaults = (
            statement,
            keys,
            processed,
            defaults,
        )
        if len(keys) == 1:
            (key,) = keys
            self.pick: Callable[[Mapping[str, Any]], tuple[Any, ...]] = lambda row: (row[key],)
        else:
            self.pick = itemgetter(*keys)

    def params(self, rows: Sequence[Mapping[str, Any]]) -> list[tuple[Any, ...]]:
        pick = self.pick
        tail = tuple(default.value() for default in self.defaults)
        if not self.processed:
            return [pick(row) + tail for row in rows] if tail else [pick(row) for row in rows]
        binders = [(index, given.binder()) for index, given in self.processed]
        params = []
        for row in rows:
            values = list(pick(row))
            for index, binder in binders:
                values[index] = binder(values[index])
            params.append((*values, *tail))
        return params


_PLANS: dict[tuple[object, ...], _Plan] = {}


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
    plan = _plan(connection, table, frozenset(rows[0]), expressions or {}, suffix)
    params = plan.params(rows)
    connection.exec_driver_sql(plan.statement, params if len(params) > 1 else params[0])


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
) -> _Plan:
    dialect = connection.dialect
    cache_key = (table.name, dialect.name, keys, tuple(sorted(expressions.items())), suffix)
    plan = _PLANS.get(cache_key)
    if plan is not None:
        return plan
    unknown = (keys | set(expressions)) - {column.key for column in table.columns}
    if unknown:
        raise KeyError(f"{table.name} has no column {sorted(unknown)}")
    given = [column for column in table.columns if column.key in keys]
    defaulted = [
        column
        for column in table.columns
        if column.key not in keys
        and column.key not in expressions
        and column.default is not None
        and not column.primary_key
    ]
    computed = [column for column in table.columns if column.key in expressions]
    processed: list[tuple[int, _Given]] = []
    for index, column in enumerate(given):
        process = bind(connection, column)
        if process is not _same:
            processed.append((index, _Given(process)))
    defaults = [_default(connection, column) for column in defaulted]
    quote = dialect.identifier_preparer.quote
    columns = [*given, *defaulted, *computed]
    names = ", ".join(quote(column.name) for column in columns)
    marks = ", ".join(expressions.get(column.key, mark(connection)) for column in columns)
    statement = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks}){suffix}"
    plan = _PLANS[cache_key] = _Plan(
        statement, tuple(column.key for column in given), processed, defaults
    )
    return plan


def _default(connection: Connection, column: Column[Any]) -> _Default | _Constant:
    """The column's Python default, bound as Core's INSERT would fill it."""
    process = bind(connection, column)
    default: Any = column.default
    if default.is_scalar:
        return _Constant(process(default.arg))
    if default.is_callable:
        return _Default(default.arg, process)
    raise TypeError(f"{column}: only scalar and callable defaults are filled here")


class _Given:
    """How a row's own value for a column is bound; a new binder for each statement.

    Why: a poll's stories share one `fetched_at` object and their sources one
    `seen_at`, and their match rows are mostly empty lists; binding each
    again (a time's text, a JSON text) was most of binding them. Within one
    statement's rows the last value's bound form is kept, by identity (an
    empty list as any empty list): nothing changes a row while its statement
    is bound, and no binder outlives its statement or is shared by threads.
    """

    def __init__(self, process: Callable[[Any], Any]) -> None:
        self.process = process

    def binder(self) -> Callable[[Any], Any]:
        process = self.process
        last: tuple[Any, Any] = (object(), None)

        def bound(value: Any) -> Any:
            nonlocal last
            if value.__class__ is list and not value:
                value = _EMPTY
            if value is last[0]:
                return last[1]
            made = process(value)
            last = (value, made)
            return made

        return bound


_EMPTY: list[Any] = []  # every empty list value, for `_Given`'s identity check; never changed


def _same(value: Any) -> Any:
    return value
