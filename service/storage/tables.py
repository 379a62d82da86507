"""The storage schema, defined once. Alembic migrations create exactly this (a test compares them)."""

from __future__ import annotations

import sqlalchemy as sa


def Key(length: int) -> sa.types.TypeEngine:  # noqa: N802 - reads as a column type
    """A short ASCII key (id, ISO date). On PostgreSQL compared bytewise ("C"): the projections sort and
    index millions of them, and a linguistic collation makes that several times slower for no benefit."""
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


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

# Write tokens managed from the command line (service.storage.tokens), each kept as the SHA-256 digest of
# the token, never the token itself. Times are ISO UTC strings (``2027-01-31T00:00:00Z``), so they compare
# as text the same on every database.
write_tokens = sa.Table(
    "write_tokens",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),  # looked up by this on every managed-token write
    sa.Column("label", sa.String(64), nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=True),
    sa.Column("last_used_at", sa.String(32), nullable=True),  # written at most once a minute per token
    sa.UniqueConstraint("label"),
)

# -- projections: derived from the log, rebuilt by `python -m service rebuild` ---------------------------
# (and the rows of `stances` that are not `as_logged`, with their `fixed` marks)
#
# Each event that is not a retraction or correction has one row in `proj_versions` per form it takes,
# with the rectangle of log positions [pos_from, pos_to) and knowledge dates [known_from, known_to) where
# that form holds (see events.timeaxes.versions). An event never retracted or corrected has one row, open
# to the end on both axes. `data` holds the corrected event when the form differs from the stored one.
proj_versions = sa.Table(
    "proj_versions",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),  # the event's own log position
    sa.Column("form_no", sa.Integer, primary_key=True, autoincrement=False),  # which of its forms: 0, 1, ...
    sa.Column("type", Key(64), nullable=False),
    sa.Column("occurred", Key(10), nullable=False),
    sa.Column("pos_from", sa.BigInteger, nullable=False),
    sa.Column("pos_to", sa.BigInteger, nullable=False),
    sa.Column("known_from", Key(10), nullable=False),
    sa.Column("known_to", Key(10), nullable=False),
    sa.Column("retracted", sa.Boolean, nullable=False),
    sa.Column("corrected", sa.Boolean, nullable=False),
    sa.Column("data", sa.Text, nullable=True),
    sa.Index(None, "occurred", "seq"),
    sa.Index(None, "type", "occurred", "seq"),
)

# Every stance that counts somewhere on the time axes (one party's stance on one issue, as an event's
# `positions` take it), keyed for "latest stance per party and issue as of a date". Two kinds of rows share
# the table, so that a cell's latest stance is one index lookup:
#
# - `as_logged`: each stance an event takes, as the log holds it, written in the transaction that appends
#   the event, and never rewritten. It counts from the event's log position and reported date on, unless
#   `fixed`: then some retraction or correction reaches the event (directly or through others), and the
#   rows of its forms count instead.
# - the rest: the stances of the forms of fixed events, each over its own rectangle of log positions
#   [pos_from, pos_to) and knowledge dates [known_from, known_to). These, and the `fixed` marks, are
#   projections: the projector rewrites them on each fix, and `rebuild` derives them from the log.
stances = sa.Table(
    "stances",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("party", Key(64), nullable=False),
    sa.Column("issue", Key(64), nullable=False),
    sa.Column("occurred", Key(10), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),  # the event's log position
    sa.Column("idx", sa.Integer, nullable=False),  # its place in the event's list of positions
    sa.Column("pos_from", sa.BigInteger, nullable=False),
    sa.Column("pos_to", sa.BigInteger, nullable=False),
    sa.Column("known_from", Key(10), nullable=False),
    sa.Column("known_to", Key(10), nullable=False),
    sa.Column("stance", Key(16), nullable=False),
    sa.Column("form_no", sa.Integer, nullable=False),  # with seq: the proj_versions row
    # whether that form is a corrected one: if not, the event as logged is the form, and the log alone has it
    sa.Column("corrected", sa.Boolean, nullable=False),
    sa.Column("as_logged", sa.Boolean, nullable=False),
    sa.Column("fixed", sa.Boolean, nullable=False),
    # The latest stance in a cell, looked up once per cell and answer. On PostgreSQL the index carries
    # what the lookup checks and returns, so it never reads the table (an index-only scan).
    sa.Index(
        None,
        "party",
        "issue",
        "occurred",
        "seq",
        "idx",
        postgresql_include=["pos_from", "pos_to", "known_from", "known_to", "form_no", "corrected", "fixed"],
    ),
    sa.Index(None, "party", "occurred", "seq", "idx"),
    sa.Index(None, "occurred", "seq", "idx"),
    sa.Index(None, "seq"),
)

# Every (party, issue) pair that some stance has named: the cells of the matrix.
proj_cells = sa.Table(
    "proj_cells",
    metadata,
    sa.Column("party", Key(64), primary_key=True),
    sa.Column("issue", Key(64), primary_key=True),
)

# Every cell's stand as of the end of each day on which it has a stance that counts, as known now
# (service.projection.stands): rendered as ``/state`` shows it, with the stance row it shows (``seq``,
# ``idx``, and the corner of its form's rectangle), and the log position at which the row was last written.
proj_stands = sa.Table(
    "proj_stands",
    metadata,
    sa.Column("party", Key(64), primary_key=True),
    sa.Column("issue", Key(64), primary_key=True),
    sa.Column("day", Key(10), primary_key=True),
    sa.Column("changed_at", sa.BigInteger, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("idx", sa.Integer, nullable=False),
    sa.Column("pos_from", sa.BigInteger, nullable=False),
    sa.Column("known_from", Key(10), nullable=False),
    sa.Column("json", sa.Text, nullable=False),
)

# One row: the log position of the last append (or rebuild) that removed a row of ``proj_stands``. An answer
# at an earlier position cannot tell from the rows what it would have read, and takes the general path.
proj_stands_removed = sa.Table(
    "proj_stands_removed",
    metadata,
    sa.Column("at", sa.BigInteger, primary_key=True, autoincrement=False),
)

# One row: the version of the rendering (events.stand_json.RENDERING) that made the JSON of `proj_stands`.
# Another version at `migrate` or `serve` has them rendered again (service.projection.rebuild).
proj_stands_rendering = sa.Table(
    "proj_stands_rendering",
    metadata,
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
)

PROJECTION_TABLES = (proj_versions, proj_cells, proj_stands)  # and part of `stances`
