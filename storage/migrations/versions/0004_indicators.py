"""indicators: the Programma 5 register (seeded from the 2026 budget) and the police open data

Revision ID: 0004_indicators
Revises: 0003
Create Date: 2026-12-01
"""

from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from veilig.storage.migrations.append_only import create_append_only, drop_append_only

revision = "0004_indicators"
down_revision = "0003"
branch_labels = None
depends_on = None

APPEND_ONLY = ("indicator_values", "police_counts", "police_imports")


def upgrade() -> None:
    indicators = op.create_table(
        "indicators",
        sa.Column("code", sa.String(60), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("goal", sa.String(10), nullable=False),
        sa.Column("source", sa.String(50), nullable=False),
        sa.Column("unit", sa.String(50), nullable=False),
        sa.Column("direction", sa.String(20), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("baseline", sa.String(40), nullable=True),
        sa.Column("computed_key", sa.String(40), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("seed_source", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("direction IN ('lower', 'higher', 'ge_previous', 'gt')", name="direction_known"),
    )
    values = op.create_table(
        "indicator_values",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("indicator_code", sa.String(60), sa.ForeignKey("indicators.code"), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.CheckConstraint("kind IN ('realisation', 'norm')", name="kind_known"),
        sa.CheckConstraint("year BETWEEN 1990 AND 2100", name="year_range"),
    )
    op.create_index("ix_indicator_values_key", "indicator_values", ["indicator_code", "year", "kind"])
    op.create_table(
        "police_imports",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("filename", sa.String(500), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(100), nullable=False),
        sa.Column("rows_in_file", sa.Integer(), nullable=False),
        sa.Column("rows_stored", sa.Integer(), nullable=False),
        sa.Column("rows_other_municipality", sa.Integer(), nullable=False),
        sa.Column("rows_other_type", sa.Integer(), nullable=False),
    )
    op.create_table(
        "police_counts",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("import_id", sa.Integer(), sa.ForeignKey("police_imports.id"), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("cbs_code", sa.String(12), nullable=False),
        sa.Column("category", sa.String(40), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count >= 0", name="count_nonnegative"),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name="month_range"),
    )
    op.create_index("ix_police_counts_key", "police_counts", ["region_code", "year", "month", "cbs_code"])

    _seed(indicators, values)

    # History is kept by the database, not just by the code: these rows are never edited or deleted.
    create_append_only(APPEND_ONLY, "indicators_append_only")


def _seed(indicators, values) -> None:
    # The seed is data of this revision: imported here, it is applied once, with its source.
    from veilig.indicators.seed import SEED, SEED_SOURCE

    now = datetime.now(timezone.utc)
    op.bulk_insert(indicators, [
        {"code": s.code, "name": s.name, "goal": s.goal, "source": s.source, "unit": s.unit,
         "direction": s.direction, "threshold": s.threshold, "baseline": s.baseline,
         "computed_key": s.computed_key, "note": s.note, "seed_source": SEED_SOURCE, "created_at": now}
        for s in SEED])
    rows = []
    for s in SEED:
        for kind, series in (("realisation", s.realisations), ("norm", s.norms)):
            for year, value in sorted(series.items()):
                rows.append({"indicator_code": s.code, "year": year, "kind": kind, "value": float(value),
                             "source": SEED_SOURCE, "note": None, "recorded_at": now, "recorded_by": "seed"})
    op.bulk_insert(values, rows)


def downgrade() -> None:
    drop_append_only(APPEND_ONLY, "indicators_append_only")
    op.drop_index("ix_police_counts_key", "police_counts")
    op.drop_table("police_counts")
    op.drop_table("police_imports")
    op.drop_index("ix_indicator_values_key", "indicator_values")
    op.drop_table("indicator_values")
    op.drop_table("indicators")
