"""Typed inputs and outputs of the ledger: what the command line, the HTTP routes and the idempotency
store exchange. Types only; the rules live in :mod:`veilig.ledger.rules`."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from .rules import DEFAULT_GRANT_PERCENTAGE, DEFAULT_MAX_GRANT_CENTS, OBJECT_TYPES

Cents = StrictInt  # money is an integer number of euro cents; a float is refused at the door


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PilotIn(_Model):
    """A new pilot. ``budget_cents`` is the opening budget; raise it later with a top-up, never by editing."""

    name: str
    budget_cents: Cents
    opens_on: date
    closes_on: date
    grant_percentage: StrictInt = DEFAULT_GRANT_PERCENTAGE
    max_grant_cents: Cents = DEFAULT_MAX_GRANT_CENTS
    waiting_list: bool = False
    object_types: list[str] = Field(default_factory=lambda: list(OBJECT_TYPES))
    postcode_ranges: str = Field("2711-2729", description="four-digit postcode areas, e.g. '2711-2729'")
    buurten: list[str] = Field(default_factory=list, description="statcodes; empty: the whole municipality")


class Pilot(PilotIn):
    id: int
    created_at: datetime


class ApplicationIn(_Model):
    """An application, or (for ``complete``) the fields still missing. Every field may be absent at
    intake except name and address; a complete application is decided at once."""

    applicant_name: str | None = None
    postcode: str | None = None
    house_number: StrictInt | None = None
    house_number_addition: str | None = None
    buurt: str | None = Field(None, description="statcode; needed unless the postcode table resolves it")
    object_type: str | None = Field(None, description="woning or schuur")
    invoice_amount_cents: Cents | None = None
    invoice_date: date | None = None
    products: list[str] | None = Field(None, description="products with SKG stars or PKVW")
    iban: str | None = None


class Application(_Model):
    id: int
    pilot_id: int
    status: str
    grant_cents: int | None
    reason: str | None
    applicant_name: str
    postcode: str
    house_number: int
    house_number_addition: str | None
    buurt: str | None
    buurt_source: str | None = Field(None, description="'postcodetabel' or 'intake'")
    object_type: str | None
    invoice_amount_cents: int | None
    invoice_date: date | None
    products: list[str] | None
    iban: str | None
    received_at: datetime
    completed_at: datetime | None
    updated_at: datetime


class Budget(_Model):
    pilot_id: int
    total_cents: int
    reserved_cents: int
    paid_cents: int
    remaining_cents: int
    projected_exhaustion_date: date | None


class StatusReport(_Model):
    pilot: Pilot
    budget: Budget
    counts: dict[str, int] = Field(description="applications per status (every status present)")
    grant_cents_by_status: dict[str, int]
    waiting_cents: int = Field(description="grants queued on the waiting list")


class BuurtRow(_Model):
    buurt: str
    statnaam: str | None
    applications: int
    grants: int = Field(description="applications with a grant reserved, approved or paid")
    reserved_cents: int = Field(description="reserved and approved, not yet paid")
    paid_cents: int


class Entry(_Model):
    id: int
    pilot_id: int
    seq: int
    kind: str
    amount_cents: int
    application_id: int | None
    total_after: int
    reserved_after: int
    paid_after: int
    created_at: datetime
    memo: str | None


class TrailEvent(_Model):
    id: int
    application_id: int
    at: datetime
    action: str
    from_status: str | None
    to_status: str
    reason: str | None
    entry_id: int | None
    amount_cents: int | None
    idempotency_key: str | None


class PostcodeImport(_Model):
    rows_read: int
    rows_imported: int
    rows_outside_zoetermeer: int
    rows_replaced: int


class LedgerCheck(_Model):
    """The result of replaying a pilot's entries: the balances, and whether every stored figure agrees."""

    pilot_id: int
    entries: int
    total_cents: int
    reserved_cents: int
    paid_cents: int
    ok: bool
    problems: list[str]


__all__ = [
    "Application", "ApplicationIn", "Budget", "BuurtRow", "Cents", "Entry", "LedgerCheck",
    "Pilot", "PilotIn", "PostcodeImport", "StatusReport", "TrailEvent",
]
