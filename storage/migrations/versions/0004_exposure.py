"""exposure: the imported 100 m grid of dwellings or inhabitants (CBS vierkantstatistieken)

Revision ID: 0004_exposure
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_exposure"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "exposure_cells",
        sa.Column("x", sa.Integer(), primary_key=True),
        sa.Column("y", sa.Integer(), primary_key=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.CheckConstraint("value >= 0", name="exposure_value_not_negative"),
        sa.CheckConstraint("kind IN ('dwellings', 'inhabitants')", name="exposure_kind_known"),
    )


def downgrade() -> None:
    op.drop_table("exposure_cells")
