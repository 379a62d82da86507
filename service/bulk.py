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


def chunks(keys: set[K], size: int = 5000) -> list[list[K]]:
    """``keys`` in sorted chunks small enough for one ``IN`` list on every database."""
    ordered = sorted(keys)
    return [ordered[start : start + size] for start in range(0, len(ordered), size)]
