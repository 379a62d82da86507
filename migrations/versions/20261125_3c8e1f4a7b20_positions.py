"""positions as stored are written once, with their events; rebuild derives only what fixes change

`positions` replaces `proj_positions`. It holds each position every event takes as stored (`stored`),
filled here from the stored events, and the positions of the forms of events that some retraction or
correction reaches, whose stored positions are marked `fixed`: those, with the marks, are derived by the
rebuild run after the last migration.

Revision ID: 3c8e1f4a7b20
Revises: 5f2d68cc6be7
Create Date: 2026-11-25 02:40:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "3c8e1f4a7b20"
down_revision: str | Sequence[str] | None = "5f2d68cc6be7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREVER_POSITION = 2**63 - 1
FOREVER_ISO = "9999-12-31"
COMMON = ["party", "issue", "occurred", "seq", "idx", "pos_from", "pos_to", "known_from", "known_to"]
COMMON += ["stance", "vn", "corrected"]


def key(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def columns() -> list[sa.Column]:
    return [
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("party", key(64), nullable=False),
        sa.Column("issue", key(64), nullable=False),
        sa.Column("occurred", key(10), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("pos_from", sa.BigInteger(), nullable=False),
        sa.Column("pos_to", sa.BigInteger(), nullable=False),
        sa.Column("known_from", key(10), nullable=False),
        sa.Column("known_to", key(10), nullable=False),
        sa.Column("stance", key(16), nullable=False),
        sa.Column("vn", sa.Integer(), nullable=False),
    ]


def create_indexes(table: str, include: list[str]) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f(f"ix_{table}_party_issue_occurred_seq_idx"),
            ["party", "issue", "occurred", "seq", "idx"],
            unique=False,
            postgresql_include=include,
        )
        batch_op.create_index(
            batch_op.f(f"ix_{table}_party_occurred_seq_idx"),
            ["party", "occurred", "seq", "idx"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f(f"ix_{table}_occurred_seq_idx"), ["occurred", "seq", "idx"], unique=False
        )
        batch_op.create_index(batch_op.f(f"ix_{table}_seq"), ["seq"], unique=False)


def upgrade() -> None:
    op.create_table(
        "positions",
        *columns(),
        sa.Column("corrected", sa.Boolean(), nullable=False),
        sa.Column("stored", sa.Boolean(), nullable=False),
        sa.Column("fixed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions")),
    )
    target = f"INSERT INTO positions ({', '.join(COMMON)}, stored, fixed) "
    rectangle = f"events.position, {FOREVER_POSITION}, events.reported, '{FOREVER_ISO}'"  # open on both axes
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            target + "SELECT json_extract(p.value, '$.party'), json_extract(p.value, '$.issue'), "
            f"events.occurred, events.position, p.key, {rectangle}, json_extract(p.value, '$.stance'), "
            "0, false, true, false FROM events, json_each(events.data, '$.positions') AS p "
            "WHERE events.target IS NULL"
        )
    else:
        op.execute(
            target
            + f"SELECT p.party, p.issue, events.occurred, events.position, p.idx - 1, {rectangle}, p.stance, "
            "0, false, true, false FROM events CROSS JOIN LATERAL ROWS FROM "
            "(json_to_recordset(events.data::json -> 'positions') AS (party text, issue text, stance text)) "
            "WITH ORDINALITY AS p(party, issue, stance, idx) WHERE events.target IS NULL"
        )
    create_indexes("positions", ["pos_from", "pos_to", "known_from", "known_to", "vn", "corrected", "fixed"])
    drop_indexes("proj_positions")
    op.drop_table("proj_positions")
    # Derive the forms of fixed events, and the marks, after the last migration (see env.py).
    op.get_context().config.attributes["rebuild_projections"] = True


def drop_indexes(table: str) -> None:
    with op.batch_alter_table(table, schema=None) as batch_op:
        for name in ("seq", "occurred_seq_idx", "party_occurred_seq_idx", "party_issue_occurred_seq_idx"):
            batch_op.drop_index(batch_op.f(f"ix_{table}_{name}"))


def downgrade() -> None:
    # The earlier table holds every position that counts somewhere: all but the stored ones a fix reaches.
    op.create_table(
        "proj_positions",
        *columns(),
        sa.Column("corrected", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proj_positions")),
    )
    listed = ", ".join(COMMON)
    op.execute(f"INSERT INTO proj_positions ({listed}) SELECT {listed} FROM positions WHERE NOT fixed")
    create_indexes("proj_positions", ["pos_from", "pos_to", "known_from", "known_to", "vn", "corrected"])
    drop_indexes("positions")
    op.drop_table("positions")
