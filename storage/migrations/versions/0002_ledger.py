"""ledger: pilots, applications, append-only entries and events, idempotency keys, postcode table

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

from veilig.storage.migrations.append_only import create_append_only, drop_append_only

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATUSES = "('received', 'reserved', 'waiting', 'approved', 'paid', 'rejected', 'withdrawn')"
ACTIVE = "status NOT IN ('rejected', 'withdrawn')"
APPEND_ONLY = ("ledger_entries", "ledger_events")


def upgrade() -> None:
    op.create_table(
        "ledger_pilots",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("budget_cents", sa.BigInteger(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("closes_on", sa.Date(), nullable=False),
        sa.Column("grant_percentage", sa.Integer(), nullable=False),
        sa.Column("max_grant_cents", sa.BigInteger(), nullable=False),
        sa.Column("waiting_list", sa.Boolean(), nullable=False),
        sa.Column("object_types", sa.String(50), nullable=False),
        sa.Column("postcode_ranges", sa.String(500), nullable=False),
        sa.Column("buurten", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("budget_cents > 0", name="ck_ledger_pilots_budget_positive"),
        sa.CheckConstraint("grant_percentage BETWEEN 1 AND 100", name="ck_ledger_pilots_percentage_range"),
        sa.CheckConstraint("max_grant_cents > 0", name="ck_ledger_pilots_max_grant_positive"),
        sa.CheckConstraint("closes_on >= opens_on", name="ck_ledger_pilots_period_order"),
    )
    op.create_table(
        "ledger_applications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pilot_id", sa.Integer(), sa.ForeignKey("ledger_pilots.id"), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("applicant_name", sa.String(200), nullable=False),
        sa.Column("postcode", sa.String(6), nullable=False),
        sa.Column("house_number", sa.Integer(), nullable=False),
        sa.Column("house_number_addition", sa.String(6), nullable=True),
        sa.Column("address_key", sa.String(30), nullable=False),
        sa.Column("buurt", sa.String(10), nullable=True),
        sa.Column("buurt_source", sa.String(20), nullable=True),
        sa.Column("object_type", sa.String(10), nullable=True),
        sa.Column("invoice_amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("invoice_date", sa.Date(), nullable=True),
        sa.Column("products", sa.Text(), nullable=True),
        sa.Column("iban", sa.String(34), nullable=True),
        sa.Column("grant_cents", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"status IN {STATUSES}", name="ck_ledger_applications_status_known"),
        sa.CheckConstraint("grant_cents IS NULL OR grant_cents > 0", name="ck_ledger_applications_grant_positive"),
        sa.CheckConstraint(
            "invoice_amount_cents IS NULL OR invoice_amount_cents > 0",
            name="ck_ledger_applications_invoice_positive",
        ),
    )
    op.create_index(
        "uq_ledger_applications_active_address",
        "ledger_applications",
        ["pilot_id", "address_key"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    op.create_index(
        "ix_ledger_applications_queue", "ledger_applications", ["pilot_id", "status", "completed_at"]
    )
    op.create_table(
        "ledger_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("pilot_id", sa.Integer(), sa.ForeignKey("ledger_pilots.id"), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("ledger_applications.id"), nullable=True),
        sa.Column("total_after", sa.BigInteger(), nullable=False),
        sa.Column("reserved_after", sa.BigInteger(), nullable=False),
        sa.Column("paid_after", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("memo", sa.String(500), nullable=True),
        sa.UniqueConstraint("pilot_id", "seq", name="uq_ledger_entries_pilot_seq"),
        sa.CheckConstraint(
            "kind IN ('top-up', 'reserve', 'release', 'pay')", name="ck_ledger_entries_kind_known"
        ),
        sa.CheckConstraint("amount_cents > 0", name="ck_ledger_entries_amount_positive"),
        sa.CheckConstraint(
            "reserved_after >= 0 AND paid_after >= 0", name="ck_ledger_entries_balances_nonnegative"
        ),
        sa.CheckConstraint(
            "reserved_after + paid_after <= total_after", name="ck_ledger_entries_budget_invariant"
        ),
    )
    op.create_index("ix_ledger_entries_application", "ledger_entries", ["application_id"])
    op.create_index("ix_ledger_entries_pilot_time", "ledger_entries", ["pilot_id", "created_at"])
    op.create_table(
        "ledger_events",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("application_id", sa.Integer(), sa.ForeignKey("ledger_applications.id"), nullable=False),
        sa.Column("pilot_id", sa.Integer(), sa.ForeignKey("ledger_pilots.id"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(12), nullable=True),
        sa.Column("to_status", sa.String(12), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("ledger_entries.id"), nullable=True),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
    )
    op.create_index("ix_ledger_events_application", "ledger_events", ["application_id"])
    op.create_table(
        "ledger_idempotency",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("operation", sa.String(40), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("result", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ledger_postcodes",
        sa.Column("postcode", sa.String(6), primary_key=True),
        sa.Column("house_number", sa.Integer(), primary_key=True),
        sa.Column("buurt", sa.String(10), nullable=False),
    )

    # Entries and events are never edited or deleted: the database refuses it, not just the code.
    create_append_only(APPEND_ONLY, "ledger_append_only")


def downgrade() -> None:
    drop_append_only(APPEND_ONLY, "ledger_append_only")
    op.drop_table("ledger_postcodes")
    op.drop_table("ledger_idempotency")
    op.drop_index("ix_ledger_events_application", "ledger_events")
    op.drop_table("ledger_events")
    op.drop_index("ix_ledger_entries_pilot_time", "ledger_entries")
    op.drop_index("ix_ledger_entries_application", "ledger_entries")
    op.drop_table("ledger_entries")
    op.drop_index("ix_ledger_applications_queue", "ledger_applications")
    op.drop_index("uq_ledger_applications_active_address", "ledger_applications")
    op.drop_table("ledger_applications")
    op.drop_table("ledger_pilots")
