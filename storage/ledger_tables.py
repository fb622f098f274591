"""Tables of the subsidy ledger: pilots, applications, append-only entries and decision events,
idempotency keys, and the CBS postcode-huisnummer-buurt table.

The invariant ``reserved + paid <= total`` is checked on every entry row by the database itself
(each entry carries the balances after it), and ``(pilot_id, seq)`` is unique, so two writers that
both read the same latest entry cannot both append: the second fails instead of overspending.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base

STATUSES = ("received", "reserved", "waiting", "approved", "paid", "rejected", "withdrawn")
ENTRY_KINDS = ("top-up", "reserve", "release", "pay")
_ACTIVE_SQL = "status NOT IN ('rejected', 'withdrawn')"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class LedgerPilot(Base):
    """A pilot and its grant rule. Never edited: the budget grows only by top-up entries."""

    __tablename__ = "ledger_pilots"
    __table_args__ = (
        CheckConstraint("budget_cents > 0", name="budget_positive"),
        CheckConstraint("grant_percentage BETWEEN 1 AND 100", name="percentage_range"),
        CheckConstraint("max_grant_cents > 0", name="max_grant_positive"),
        CheckConstraint("closes_on >= opens_on", name="period_order"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    budget_cents: Mapped[int] = mapped_column(BigInteger)
    opens_on: Mapped[date] = mapped_column(Date)
    closes_on: Mapped[date] = mapped_column(Date)
    grant_percentage: Mapped[int] = mapped_column(Integer)
    max_grant_cents: Mapped[int] = mapped_column(BigInteger)
    waiting_list: Mapped[bool] = mapped_column(Boolean)
    object_types: Mapped[str] = mapped_column(String(50))  # "woning,schuur"
    postcode_ranges: Mapped[str] = mapped_column(String(500))  # "2711-2729"
    buurten: Mapped[str] = mapped_column(Text)  # comma-separated statcodes; "" = whole municipality
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerApplication(Base):
    """One application; its status is the latest of its events (kept here for queries)."""

    __tablename__ = "ledger_applications"
    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status_known"),
        CheckConstraint("grant_cents IS NULL OR grant_cents > 0", name="grant_positive"),
        CheckConstraint("invoice_amount_cents IS NULL OR invoice_amount_cents > 0", name="invoice_positive"),
        # One grant per address per pilot: at most one application that is still in the running.
        Index(
            "uq_ledger_applications_active_address",
            "pilot_id",
            "address_key",
            unique=True,
            sqlite_where=text(_ACTIVE_SQL),
            postgresql_where=text(_ACTIVE_SQL),
        ),
        Index("ix_ledger_applications_queue", "pilot_id", "status", "completed_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("ledger_pilots.id"))
    status: Mapped[str] = mapped_column(String(12))
    applicant_name: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str] = mapped_column(String(6))
    house_number: Mapped[int] = mapped_column(Integer)
    house_number_addition: Mapped[str | None] = mapped_column(String(6), nullable=True)
    address_key: Mapped[str] = mapped_column(String(30))
    buurt: Mapped[str | None] = mapped_column(String(10), nullable=True)
    buurt_source: Mapped[str | None] = mapped_column(String(20), nullable=True)
    object_type: Mapped[str | None] = mapped_column(String(10), nullable=True)
    invoice_amount_cents: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    invoice_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    products: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON list
    iban: Mapped[str | None] = mapped_column(String(34), nullable=True)
    grant_cents: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerEntry(Base):
    """One movement of money: top-up, reserve, release or pay. Append-only (triggers refuse edits)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        UniqueConstraint("pilot_id", "seq", name="uq_ledger_entries_pilot_seq"),
        CheckConstraint(_in("kind", ENTRY_KINDS), name="kind_known"),
        CheckConstraint("amount_cents > 0", name="amount_positive"),
        CheckConstraint("reserved_after >= 0 AND paid_after >= 0", name="balances_nonnegative"),
        CheckConstraint("reserved_after + paid_after <= total_after", name="budget_invariant"),
        Index("ix_ledger_entries_application", "application_id"),
        Index("ix_ledger_entries_pilot_time", "pilot_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pilot_id: Mapped[int] = mapped_column(ForeignKey("ledger_pilots.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(10))
    amount_cents: Mapped[int] = mapped_column(BigInteger)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_applications.id"), nullable=True)
    total_after: Mapped[int] = mapped_column(BigInteger)
    reserved_after: Mapped[int] = mapped_column(BigInteger)
    paid_after: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    memo: Mapped[str | None] = mapped_column(String(500), nullable=True)


class LedgerEvent(Base):
    """The decision trail: every status change of an application, with its reason. Append-only."""

    __tablename__ = "ledger_events"
    __table_args__ = (Index("ix_ledger_events_application", "application_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("ledger_applications.id"))
    pilot_id: Mapped[int] = mapped_column(ForeignKey("ledger_pilots.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12), nullable=True)
    to_status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("ledger_entries.id"), nullable=True)
    amount_cents: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), nullable=True)


class LedgerIdempotency(Base):
    """A state-changing request already answered: its fingerprint and its first result."""

    __tablename__ = "ledger_idempotency"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    operation: Mapped[str] = mapped_column(String(40))
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LedgerPostcode(Base):
    """CBS postcode-huisnummer-buurt, Zoetermeer's rows: the buurt of an address."""

    __tablename__ = "ledger_postcodes"

    postcode: Mapped[str] = mapped_column(String(6), primary_key=True)
    house_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    buurt: Mapped[str] = mapped_column(String(10))


class AddressConflict(Base):
    """Two active applications of one pilot whose addresses are one once normalised (NFKC + ASCII),
    found by migration 0004_address_normalised among rows stored before the rule; the desk decides."""

    __tablename__ = "ledger_address_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pilot_id: Mapped[int] = mapped_column(Integer)
    application_id: Mapped[int] = mapped_column(Integer)
    other_application_id: Mapped[int] = mapped_column(Integer)
    address_key: Mapped[str] = mapped_column(String(30))
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
