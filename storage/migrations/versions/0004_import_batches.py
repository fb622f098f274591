"""import batches: who imported them, and taking one back (undo)

Revision ID: 0004_import_batches
Revises: 0003
Create Date: 2026-12-01

An analyst can take back a whole import (``veilig import undo BATCH``): its incidents are deleted,
the batch row stays as the record of what was imported and when it was undone.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_import_batches"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("import_batches") as batch:
        batch.add_column(sa.Column("imported_by", sa.String(100), nullable=True))
        batch.add_column(sa.Column("undone_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("undone_by", sa.String(100), nullable=True))
        batch.add_column(sa.Column("rows_removed", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("import_batches") as batch:
        batch.drop_column("rows_removed")
        batch.drop_column("undone_by")
        batch.drop_column("undone_at")
        batch.drop_column("imported_by")
