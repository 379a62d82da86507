"""names that say what they hold: `positions` becomes `stances`, `stored` becomes `as_logged`, `vn` becomes
`form_no`; and the daily stands record the rendering they were made with

"Position" meant two things: a place in the log (`seq`, `pos_from`) and a party's stance on an issue (a row
of `positions`). The rows are now `stances`; their `stored` mark (written with the event, as the log holds
it) is `as_logged`; `vn` (which of an event's forms) is `form_no`, in `proj_versions` too. Indexes are
renamed to match the naming convention. Nothing is rebuilt: the rows stay as they are.

`proj_stands_rendering` holds one row: the version of the rendering (events.stand_json.RENDERING) that
made the JSON of `proj_stands`. A database whose stands were made by another rendering has them rendered
again at `migrate` and at `serve`, rather than served stale. It starts at 0, which no rendering has, so
the first `migrate` to this revision renders them once.

Revision ID: 4b7e1d9c2a60
Revises: a7c3e9b2d415
Create Date: 2026-12-02 01:00:00.000000

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "4b7e1d9c2a60"
down_revision: str | Sequence[str] | None = "a7c3e9b2d415"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the columns of every index of the renamed table (the first also covers others on PostgreSQL, and
# names them by number there: its INCLUDE list follows the column renames by itself)
_INDEXES = [
    ("party", "issue", "occurred", "seq", "idx"),
    ("party", "occurred", "seq", "idx"),
    ("occurred", "seq", "idx"),
    ("seq",),
]


def _index_name(table: str, columns: Sequence[str]) -> str:
    return f"ix_{table}_{'_'.join(columns)}"


def _rename(old_table: str, new_table: str, old: dict[str, str]) -> None:
    """Rename the table, its columns (``old``: old name -> new name) and its indexes. SQLite renames a
    table and its columns in place but not an index, so there the indexes are built again."""
    bind = op.get_bind()
    is_sqlite = bind.dialect.name == "sqlite"
    op.rename_table(old_table, new_table)
    for before, after in old.items():
        op.execute(f'ALTER TABLE {new_table} RENAME COLUMN "{before}" TO "{after}"')
    for columns in _INDEXES:
        before, after = _index_name(old_table, columns), _index_name(new_table, columns)
        if is_sqlite:
            op.execute(f"DROP INDEX {before}")
            op.create_index(after, new_table, list(columns))
        else:
            op.execute(f"ALTER INDEX {before} RENAME TO {after}")
    if not is_sqlite:
        op.execute(f"ALTER TABLE {new_table} RENAME CONSTRAINT pk_{old_table} TO pk_{new_table}")
        op.execute(f"ALTER SEQUENCE {old_table}_id_seq RENAME TO {new_table}_id_seq")


def upgrade() -> None:
    _rename("positions", "stances", {"stored": "as_logged", "vn": "form_no"})
    op.execute('ALTER TABLE proj_versions RENAME COLUMN "vn" TO "form_no"')
    rendering = op.create_table(
        "proj_stands_rendering",
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint("version", name=op.f("pk_proj_stands_rendering")),
    )
    op.bulk_insert(rendering, [{"version": 0}])


def downgrade() -> None:
    op.drop_table("proj_stands_rendering")
    op.execute('ALTER TABLE proj_versions RENAME COLUMN "form_no" TO "vn"')
    _rename("stances", "positions", {"as_logged": "stored", "form_no": "vn"})
