"""foundation: incidents, import batches, buurt statistics, meta

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "import_batches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("filename", sa.String(500), nullable=False),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("rows_in_file", sa.Integer(), nullable=False),
        sa.Column("rows_inserted", sa.Integer(), nullable=False),
        sa.Column("rows_skipped_existing", sa.Integer(), nullable=False),
        sa.Column("rows_invalid", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("source", sa.String(100), nullable=False),
        sa.Column("ext_id", sa.String(200), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("x", sa.Float(), nullable=False),
        sa.Column("y", sa.Float(), nullable=False),
        sa.Column("buurt", sa.String(10), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("batch_id", sa.Integer(), sa.ForeignKey("import_batches.id"), nullable=False),
        sa.UniqueConstraint("source", "ext_id", name="uq_incidents_source_ext_id"),
    )
    op.create_index("ix_incidents_category_time", "incidents", ["category", "occurred_at"])
    op.create_index("ix_incidents_buurt", "incidents", ["buurt"])
    op.create_table(
        "buurt_stats",
        sa.Column("statcode", sa.String(10), primary_key=True),
        sa.Column("statnaam", sa.String(200), nullable=True),
        sa.Column("inhabitants", sa.Integer(), nullable=True),
        sa.Column("dwellings", sa.Integer(), nullable=True),
        sa.Column("year", sa.Integer(), nullable=True),
    )
    op.create_table(
        "meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.String(500), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("meta")
    op.drop_table("buurt_stats")
    op.drop_index("ix_incidents_buurt", "incidents")
    op.drop_index("ix_incidents_category_time", "incidents")
    op.drop_table("incidents")
    op.drop_table("import_batches")
