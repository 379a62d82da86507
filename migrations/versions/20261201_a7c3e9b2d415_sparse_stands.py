"""daily stands kept per cell and day changed, not per day and every cell

`proj_stands` held, for every day on which any position was taken, every cell's stand: days x cells rows,
and a column copied for each day new to the log, so an append into the past or a large vocabulary cost
more than what it changed. It now holds a row only for the days on which a cell has a position that
counts, keyed by cell first (see service.projection.stands); `proj_days` goes, and `proj_stands_removed` says
when a row was last removed. All three are projections, filled by the rebuild run after the last
migration.

Revision ID: a7c3e9b2d415
Revises: 8d41c7e2a9f3
Create Date: 2026-12-01 22:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "a7c3e9b2d415"
down_revision: str | Sequence[str] | None = "8d41c7e2a9f3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def key(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
    op.drop_table("proj_stands")
    op.drop_table("proj_days")
    op.create_table(
        "proj_stands",
        sa.Column("party", key(64), nullable=False),
        sa.Column("issue", key(64), nullable=False),
        sa.Column("day", key(10), nullable=False),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("pos_from", sa.BigInteger(), nullable=False),
        sa.Column("known_from", key(10), nullable=False),
        sa.Column("json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("party", "issue", "day", name=op.f("pk_proj_stands")),
    )
    removed = op.create_table(
        "proj_stands_removed",
        sa.Column("at", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("at", name=op.f("pk_proj_stands_removed")),
    )
    # What a row held before this migration is not known: answers at earlier positions take the general
    # path (its one row says every row may have been removed at the head).
    head = op.get_bind().scalar(sa.text("SELECT coalesce(max(position), 0) FROM events"))
    op.bulk_insert(removed, [{"at": head}])
    # Filled from the log after the last migration (see env.py).
    op.get_context().config.attributes["rebuild_projections"] = True


def downgrade() -> None:
    op.drop_table("proj_stands_removed")
    op.drop_table("proj_stands")
    op.create_table(
        "proj_days",
        sa.Column("day", key(10), nullable=False),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_proj_days")),
    )
    op.create_table(
        "proj_stands",
        sa.Column("day", key(10), nullable=False),
        sa.Column("party", key(64), nullable=False),
        sa.Column("issue", key(64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("pos_from", sa.BigInteger(), nullable=False),
        sa.Column("known_from", key(10), nullable=False),
        sa.Column("json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("day", "party", "issue", name=op.f("pk_proj_stands")),
    )
    # empty: `python -m service rebuild`, run by the code of that revision, fills them again
