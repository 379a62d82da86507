"""latest position lookups read only the index on postgresql

The index behind "latest position per cell" carries the columns the lookup checks and returns, so
PostgreSQL answers it with an index-only scan. SQLite has no INCLUDE; its index is unchanged.

Revision ID: 5f2d68cc6be7
Revises: d1b18368e764
Create Date: 2026-11-24 22:58:51.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "5f2d68cc6be7"
down_revision: str | Sequence[str] | None = "d1b18368e764"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_proj_positions_party_issue_occurred_seq_idx"
COLUMNS = ["party", "issue", "occurred", "seq", "idx"]


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(INDEX, table_name="proj_positions")
        op.create_index(
            INDEX,
            "proj_positions",
            COLUMNS,
            postgresql_include=["pos_from", "pos_to", "known_from", "known_to", "vn", "corrected"],
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(INDEX, table_name="proj_positions")
        op.create_index(INDEX, "proj_positions", COLUMNS)
