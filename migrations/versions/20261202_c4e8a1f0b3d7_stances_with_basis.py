"""every stance says its basis: render the projections again from the log

No table changes. Events are stored as JSON and the older schema's are upcast on read (each position of
version 1 gets the basis "reported", see events.codec), but two projections hold JSON rendered before:
the daily stands (each a Stand, which now carries its basis) and the corrected forms in `proj_versions`
(events encoded by the schema of their day, which the current decoder would refuse). Both are rendered
again from the log, by the rebuild run after the last migration, with every logged stance written again
(`rebuild --rerender`).

Revision ID: c4e8a1f0b3d7
Revises: 4b7e1d9c2a60
Create Date: 2026-12-02 01:00:00.000000

"""

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = "c4e8a1f0b3d7"
down_revision: str | Sequence[str] | None = "4b7e1d9c2a60"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rendered again from the log after the last migration (see env.py).
    op.get_context().config.attributes["rebuild_projections"] = "rerender"


def downgrade() -> None:
    # No table to change back. Events stored from this revision on (schema version 2) carry a basis,
    # which older code refuses to decode: going back past it means restoring a backup taken before.
    pass
