"""The write path's statements, run on the driver's own cursor: rows inserted as plain tuples without
SQLAlchemy's per-row work, statements built with SQLAlchemy Core and compiled once (``DriverQuery``), and
lists of keys cut to fit an ``IN`` list.

Measured on the target machine (SQLite, inside one transaction): a one-row index lookup costs 4 µs on the
driver's cursor, 50 µs through ``exec_driver_sql`` and 70 µs as a Core statement executed by SQLAlchemy,
most of it the execution context each statement builds. An append runs about ten statements, so that
overhead alone capped single-event appends at a few hundred a second. The statements are still written
with Core, and tested through the same append contract on both databases.
"""

from __future__ import annotations

import json
from collections import namedtuple
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from psycopg.pq import PipelineStatus
from sqlalchemy.dialects import postgresql

K = TypeVar("K", int, str)


COPY_FROM_ROWS = 100  # on PostgreSQL, rows from which COPY is faster than an executemany


def insert_rows(conn: sa.Connection, table: sa.Table, columns: list[str], rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) with the driver's own executemany on SQLite,
    and on PostgreSQL with COPY, or for a few rows with an executemany (pipelined by psycopg: one round
    trip, where COPY takes three)."""
    if not rows:
        return
    names = ", ".join(columns)
    cursor = conn.connection.dbapi_connection.cursor()
    if conn.dialect.name == "sqlite" or len(rows) < COPY_FROM_ROWS or _in_pipeline(cursor):
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        marks = ", ".join([mark] * len(columns))
        cursor.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks})", rows)
        return
    with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def insert_missing_rows(conn: sa.Connection, table: sa.Table, rows: list[tuple]) -> None:
    """Insert the ``rows`` (tuples of every column of ``table``) whose primary key is not there yet."""
    if not rows:
        return
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    names = ", ".join(column.name for column in table.c)
    marks = ", ".join([mark] * len(table.c))
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks}) ON CONFLICT DO NOTHING"
    _executemany(conn, sql, rows)


def upsert_rows(conn: sa.Connection, table: sa.Table, columns: list[str], rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``, the table's primary key first), replacing any
    row with the same key, with the driver's own executemany."""
    if not rows:
        return
    key = [column.name for column in table.primary_key]
    assert columns[: len(key)] == key, "the primary key comes first"
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    replace = ", ".join(f"{name} = excluded.{name}" for name in columns[len(key) :])
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {replace}"
    )
    _executemany(conn, sql, rows)


def delete_rows(conn: sa.Connection, table: sa.Table, keys: list[tuple]) -> None:
    """Delete the rows with the primary keys ``keys``, with the driver's own executemany."""
    if not keys:
        return
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    match = " AND ".join(f"{column.name} = {mark}" for column in table.primary_key)
    _executemany(conn, f"DELETE FROM {table.name} WHERE {match}", keys)


def _executemany(conn: sa.Connection, sql: str, rows: list[tuple]) -> None:
    conn.connection.dbapi_connection.cursor().executemany(sql, rows)


class DriverQuery:
    """A Core ``SELECT`` compiled once for each dialect and run on the driver's cursor, inside the
    connection's transaction. Rows come back as named tuples of the statement's columns. A list
    parameter named in ``lists`` (see ``listed``) is passed as one JSON array on SQLite and as one array
    on PostgreSQL."""

    def __init__(self, statements: dict[str, sa.Select], lists: tuple[str, ...] = ()) -> None:
        self._statements = statements
        self._lists = lists
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict, Any]] = {}

    def _compile(self, dialect: sa.Dialect) -> tuple[str, tuple[str, ...] | None, dict, Any]:
        statement = self._statements["sqlite" if dialect.name == "sqlite" else "postgresql"]
        compiled = statement.compile(dialect=dialect)
        row = namedtuple("Row", [column.key for column in statement.selected_columns])  # noqa: PYI024
        order = tuple(compiled.positiontup) if compiled.positiontup else None
        defaults = dict(compiled.params)  # the values of literals (a LIMIT, say) bound as parameters
        found = self._compiled[dialect.name] = (str(compiled), order, defaults, row)
        return found

    def rows(self, conn: sa.Connection, **params: Any) -> list[Any]:
        return self.send(conn, **params)()

    def send(self, conn: sa.Connection, **params: Any) -> Callable[[], list[Any]]:
        """Run the query and return what reads its rows. In a psycopg pipeline (see
        ``service.storage.log``), queries sent before the first of them is read travel together: one round
        trip for all of them."""
        found = self._compiled.get(conn.dialect.name) or self._compile(conn.dialect)
        sql, order, defaults, row = found
        if conn.dialect.name == "sqlite":
            params = {k: json.dumps(v) if k in self._lists else v for k, v in params.items()}
        params = defaults | params
        args: Any = tuple(params[name] for name in order) if order is not None else params
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.execute(sql, args)
        return lambda: [row(*values) for values in cursor.fetchall()]


# A NamedTuple row made as ``new_row(RowType, values)``, where one is made for every event or position
# appended and read back by its fields: the type's own ``__new__`` is a Python function that costs two to
# three times as much.
#
# The rows that are only inserted (``EventRow``, ``TermRow``, ``StanceRow``, ``VersionRow``, ``StandRow``)
# are built as plain tuples in the order their NamedTuple declares, which a test holds equal to the table's
# columns. A tuple subclass costs the write path three ways: the constructor is called through
# ``tuple.__new__``'s wrapper, sqlite3 binds its values through a Python-level ``__getitem__`` (it reads
# exact tuples directly), and the garbage collector can never untrack it, so every collection goes over
# the rows of the transaction again. Measured with callgrind on the import of 20k events: 9% of all the
# instructions executed.
new_row = tuple.__new__


def listed(column: sa.ColumnElement, name: str, is_sqlite: bool) -> sa.ColumnElement[bool]:
    """``column`` is one of the list bound as ``name`` (a ``DriverQuery`` list), whatever its length."""
    if is_sqlite:
        values = sa.select(sa.column("value", sa.String)).select_from(sa.func.json_each(sa.bindparam(name)))
        return column.in_(values.scalar_subquery())
    return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(sa.String)))


def chunks(keys: set[K], size: int = 5000) -> list[list[K]]:
    """``keys`` in sorted chunks small enough for one ``IN`` list on every database."""
    ordered = sorted(keys)
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]


def run(conn: sa.Connection, sql: str, params: tuple = ()) -> None:
    """Run one statement of the driver's own dialect on its cursor (see the module's docstring)."""
    conn.connection.dbapi_connection.cursor().execute(sql, params)


def _in_pipeline(cursor: Any) -> bool:
    """Whether a PostgreSQL cursor's connection is in pipeline mode, where COPY cannot run."""
    return cursor.connection.info.pipeline_status != PipelineStatus.OFF
