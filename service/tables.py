"""The storage schema, defined once. Alembic migrations create exactly this (a test compares them)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# The append-only log. `position` is global, gapless and strictly increasing; `version` counts within a
# stream. Dates are ISO strings (`occurred`/`reported` are the start of the event's date interval), so they
# sort the same on every database. `hash` chains each row to the previous one.
events = sa.Table(
    "events",
    metadata,
    sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("id", sa.String(36), nullable=False),
    sa.Column("stream", sa.String(128), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("schema_version", sa.Integer, nullable=False),
    sa.Column("occurred", sa.String(10), nullable=False),
    sa.Column("reported", sa.String(10), nullable=False),
    sa.Column("target", sa.String(36), nullable=True),
    sa.Column("recorded_at", sa.String(32), nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.UniqueConstraint("id"),
    sa.UniqueConstraint("stream", "version"),
    sa.Index(None, "type", "position"),
    sa.Index(None, "target"),
)

# Which parties and issues each event concerns, for filtering the log.
event_terms = sa.Table(
    "event_terms",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("term", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, primary_key=True),
)

# Ids defined by events (parties, issues, proposals) and the position that defined them.
definitions = sa.Table(
    "definitions",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("position", sa.BigInteger, nullable=False),
)
