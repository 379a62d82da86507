"""write tokens managed from the command line, kept as SHA-256 digests

`python -m service token create|list|revoke` keeps its tokens here: the digest of each (never the token),
its label, when it was created, when it expires (if ever) and when it was last used. Tokens from the
environment and the generated token file are not stored here and keep working as before.

Revision ID: e2057e411951
Revises: c4e8a1f0b3d7
Create Date: 2026-12-03 09:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "e2057e411951"
down_revision: str | Sequence[str] | None = "c4e8a1f0b3d7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "write_tokens",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.String(length=32), nullable=True),
        sa.Column("last_used_at", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("digest", name=op.f("pk_write_tokens")),
        sa.UniqueConstraint("label", name=op.f("uq_write_tokens_label")),
    )


def downgrade() -> None:
    op.drop_table("write_tokens")
