"""every cell's stand as of each day, rendered: /state as of a date in one read

`proj_days` and `proj_stands` (see service.projection.stands) are projections, filled by the rebuild run
after the last migration.

Revision ID: 8d41c7e2a9f3
Revises: 3c8e1f4a7b20
Create Date: 2026-11-25 07:30:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "8d41c7e2a9f3"
down_revision: str | Sequence[str] | None = "3c8e1f4a7b20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def key(length: int) -> sa.types.TypeEngine:
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def upgrade() -> None:
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
    # Filled from the log after the last migration (see env.py).
    op.get_context().config.attributes["rebuild_projections"] = True


def downgrade() -> None:
    op.drop_table("proj_stands")
    op.drop_table("proj_days")
