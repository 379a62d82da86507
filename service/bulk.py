"""Writing many rows at once: plain tuples inserted without SQLAlchemy's per-row work, and lists of keys cut
to fit an ``IN`` list."""

from __future__ import annotations

from typing import TypeVar

import sqlalchemy as sa

K = TypeVar("K", int, str)


def insert_rows(conn: sa.Connection, table: sa.Table, columns: list[str], rows: list[tuple]) -> None:
    """Insert ``rows`` (tuples in the order of ``columns``) with the driver's own executemany on SQLite,
    and with COPY on PostgreSQL."""
    if not rows:
        return
    names = ", ".join(columns)
    if conn.dialect.name == "sqlite":
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})"
        conn.exec_driver_sql(sql, rows)
        return
    cursor = conn.connection.dbapi_connection.cursor()
    with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


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
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(sql, rows)
        return
    conn.connection.dbapi_connection.cursor().executemany(sql, rows)


def chunks(keys: set[K], size: int = 5000) -> list[list[K]]:
    """``keys`` in sorted chunks small enough for one ``IN`` list on every database."""
    ordered = sorted(keys)
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]
