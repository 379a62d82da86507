"""positions say whether their form is corrected

A position of an uncorrected form is read from the stored event alone, without its version row.

Revision ID: d1b18368e764
Revises: efddda811897
Create Date: 2026-11-24 22:36:43.564724

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "d1b18368e764"
down_revision: str | Sequence[str] | None = "efddda811897"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "proj_positions", sa.Column("corrected", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.execute(
        "UPDATE proj_positions SET corrected = true WHERE EXISTS (SELECT 1 FROM proj_versions v "
        "WHERE v.seq = proj_positions.seq AND v.vn = proj_positions.vn AND v.corrected)"
    )


def downgrade() -> None:
    with op.batch_alter_table("proj_positions") as batch:
        batch.drop_column("corrected")
