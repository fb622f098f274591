"""The subsidy ledger's transactions: every state change of pilots, applications and money.

Each state-changing call runs in ONE write transaction that first locks the pilot (SQLite:
``BEGIN IMMEDIATE`` via :meth:`Database.write`; PostgreSQL: ``SELECT ... FOR UPDATE`` on the pilot
row), then reads the latest ledger entry, decides with the pure rules of :mod:`veilig.ledger`, and
appends entries and events. Writers of one pilot are therefore serialised, and the database checks
``reserved + paid <= total`` on every entry row besides, so the invariant holds under any
concurrency. Every state-changing call takes ``idempotency_key``: a retry with the same key and the
same request returns the first result and changes nothing; the same key with another request is
refused (409).

Inputs and outputs are the pydantic models of :mod:`veilig.ledger.schemas`; refusals are
:class:`~veilig.ledger.errors.RuleViolation` (422), :class:`~veilig.ledger.errors.StateConflict`
(409) and :class:`~veilig.errors.NotFoundError` (404), all :class:`~veilig.errors.VeiligError`.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, time as dtime, timedelta
from functools import lru_cache
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import Connection, Row, bindparam, delete, func, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from veilig.errors import NotFoundError
from veilig.ledger.address import address_key, parse_postcode_ranges
from veilig.ledger.balances import ZERO, Balances, EntryKind, post, projected_exhaustion_date
from veilig.ledger.errors import RuleViolation, StateConflict
from veilig.ledger.iban import validate_iban
from veilig.ledger.money import MAX_AMOUNT_CENTS, format_euros, require_cents
from veilig.ledger.postcodes import parse_postcode_table
from veilig.ledger.report import buurt_rows, counts_by_status, entries_csv, finance_csv, grants_by_status
from veilig.ledger.rules import (
    COMPLETION_FIELDS,
    INTAKE_FIELDS,
    Outcome,
    PilotRules,
    check_pilot_open,
    check_text,
    decide,
    missing_fields,
    serve_waiting_list,
    validate_application_fields,
    validate_pilot,
)
from veilig.ledger.schemas import (
    Application,
    ApplicationIn,
    Budget,
    BuurtRow,
    Entry,
    LedgerCheck,
    Pilot,
    PilotIn,
    PostcodeImport,
    StatusReport,
    TrailEvent,
)
from veilig.ledger.status import HOLDS_RESERVATION, Status, check_action, check_transition
from veilig.ledger.status import label as status_label

from .db import Database
from .ledger_tables import (
    LedgerApplication,
    LedgerEntry,
    LedgerEvent,
    LedgerIdempotency,
    LedgerPilot,
    LedgerPostcode,
)

__all__ = [
    "apply", "approve", "budget", "buurt_report", "complete", "create_pilot", "decision_trail",
    "export_applications_csv", "export_entries_csv", "get_application", "get_pilot", "import_postcodes",
    "list_applications", "list_entries", "list_pilots", "pay", "reject", "status_report", "top_up",
    "verify_ledger", "withdraw",
]

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
#: The projected exhaustion date extrapolates the pace of the last four weeks.
PACE_WINDOW_DAYS = 28
_MAX_ATTEMPTS = 10

P = LedgerPilot.__table__
A = LedgerApplication.__table__
E = LedgerEntry.__table__
V = LedgerEvent.__table__
I = LedgerIdempotency.__table__  # noqa: E741
PC = LedgerPostcode.__table__

M = TypeVar("M", bound=BaseModel)

# The hot path's statements, built once: building SQLAlchemy expressions per call cost more than
# running them (see benchmarks/bench_ledger.py).
_IDEMPOTENCY_BY_KEY = select(I.c.operation, I.c.request_hash, I.c.result).where(I.c.key == bindparam("key"))
_INSERT_IDEMPOTENCY = insert(I)
_PILOT_FOR_UPDATE = select(P).where(P.c.id == bindparam("pilot_id")).with_for_update()
_PILOT_OF_APPLICATION_FOR_UPDATE = (
    select(P).where(P.c.id == select(A.c.pilot_id).where(A.c.id == bindparam("app_id")).scalar_subquery()).with_for_update()
)
_APPLICATION_BY_ID = select(A).where(A.c.id == bindparam("app_id"))
_UPDATE_APPLICATION = update(A).where(A.c.id == bindparam("target_id"))
_LATEST_ENTRY = (
    select(E.c.seq, E.c.total_after, E.c.reserved_after, E.c.paid_after)
    .where(E.c.pilot_id == bindparam("pilot_id"))
    .order_by(E.c.seq.desc())
    .limit(1)
)
_INSERT_ENTRY = insert(E)
_INSERT_EVENT = insert(V)
_COUNT_WAITING = (
    select(func.count()).select_from(A).where(A.c.pilot_id == bindparam("pilot_id"), A.c.status == Status.WAITING.value)
)


# --------------------------------------------------------------------------- time


def _utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything is stored in UTC.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _local_date(now: datetime) -> date:
    """Opening, closing and invoice dates are Zoetermeer's calendar days."""
    return now.astimezone(AMSTERDAM).date()


# --------------------------------------------------------------------------- transactions and idempotency


def _fingerprint(operation: str, request: dict[str, Any]) -> str:
    canonical = json.dumps({"operation": operation, **request}, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _check_key(key: str | None) -> None:
    if key is not None and (not isinstance(key, str) or not key.strip() or len(key) > 200):
        raise RuleViolation("idempotentiesleutel", "een idempotentiesleutel is 1 tot 200 tekens")


def _replay(conn: Connection, key: str, fingerprint: str, operation: str, result_type: type[M]) -> M | None:
    hit = conn.execute(_IDEMPOTENCY_BY_KEY, {"key": key}).first()
    if hit is None:
        return None
    if hit.request_hash != fingerprint:
        raise StateConflict(
            "idempotentiesleutel_hergebruikt",
            f"idempotentiesleutel {key!r} is al gebruikt voor een ander verzoek ({hit.operation}); "
            "gebruik een nieuwe sleutel",
        )
    return result_type.model_validate_json(hit.result)


def _retryable(exc: DBAPIError) -> bool:
    """Unique violations (a concurrent writer won a race the lock did not cover, e.g. the same key on
    two pilots), serialisation failures and deadlocks: the transaction is retried from the start."""
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in ("23505", "40001", "40P01"):
        return True
    msg = str(orig)
    return "UNIQUE constraint failed" in msg or "database is locked" in msg


def _transact(
    db: Database,
    operation: str,
    request: dict[str, Any],
    key: str | None,
    now: datetime,
    lock: Callable[[Connection], Row | None],
    body: Callable[[Connection, Row | None], M],
    result_type: type[M],
) -> M:
    """Run ``body`` in one write transaction, after ``lock`` (which locks and returns the pilot row),
    answering a retried idempotency key with its first result."""
    _check_key(key)
    fingerprint = _fingerprint(operation, request)
    for attempt in range(_MAX_ATTEMPTS):
        try:
            with db.write() as conn:
                if key is not None:
                    first = _replay(conn, key, fingerprint, operation, result_type)
                    if first is not None:
                        return first
                pilot = lock(conn)
                if key is not None and not db.is_sqlite:
                    # Someone with the same key may have committed while we waited for the lock.
                    first = _replay(conn, key, fingerprint, operation, result_type)
                    if first is not None:
                        return first
                result = body(conn, pilot)
                if key is not None:
                    conn.execute(
                        _INSERT_IDEMPOTENCY,
                        {"key": key, "operation": operation, "request_hash": fingerprint,
                         "result": result.model_dump_json(), "created_at": now},
                    )
                return result
        except (IntegrityError, DBAPIError) as exc:
            if attempt == _MAX_ATTEMPTS - 1 or not _retryable(exc):
                raise
            time.sleep(0.002 * (attempt + 1))
    raise AssertionError("unreachable")


def _lock_pilot(conn: Connection, pilot_id: int) -> Row:
    # FOR UPDATE serialises the pilot's writers on PostgreSQL; SQLite already holds the write lock.
    row = conn.execute(_PILOT_FOR_UPDATE, {"pilot_id": pilot_id}).first()
    if row is None:
        raise NotFoundError(f"pilot {pilot_id} bestaat niet")
    return row


def _lock_pilot_of(conn: Connection, application_id: int) -> Row:
    """Lock the pilot an application belongs to (one statement; the hot path of every decision)."""
    row = conn.execute(_PILOT_OF_APPLICATION_FOR_UPDATE, {"app_id": application_id}).first()
    if row is None:
        raise NotFoundError(f"aanvraag {application_id} bestaat niet")
    return row


def _resolve_pilot_id(conn: Connection, pilot_id: int | None, today: date, *, require_open: bool) -> int:
    """The given pilot, else the one open today, else (for reports) the most recent one."""
    if pilot_id is not None:
        return pilot_id
    open_id = conn.execute(
        select(P.c.id).where(P.c.opens_on <= today, P.c.closes_on >= today).order_by(P.c.id.desc()).limit(1)
    ).scalar()
    if open_id is not None:
        return open_id
    if require_open:
        raise RuleViolation("geen_open_pilot", f"er is op {today.isoformat()} geen pilot open")
    latest = conn.execute(select(P.c.id).order_by(P.c.opens_on.desc(), P.c.id.desc()).limit(1)).scalar()
    if latest is None:
        raise NotFoundError("er is nog geen pilot")
    return latest


# --------------------------------------------------------------------------- the book of one pilot


class _Book:
    """The pilot's latest balances inside one transaction; appends entries with the next ``seq``."""

    def __init__(self, conn: Connection, pilot_id: int, now: datetime) -> None:
        self.conn, self.pilot_id, self.now = conn, pilot_id, now
        row = conn.execute(_LATEST_ENTRY, {"pilot_id": pilot_id}).first()
        self.seq = row.seq if row else 0
        self.balances = Balances(row.total_after, row.reserved_after, row.paid_after) if row else ZERO

    def append(self, kind: EntryKind, amount_cents: int, application_id: int | None = None, memo: str | None = None) -> int:
        after = post(self.balances, kind, amount_cents)  # refuses anything that breaks the invariant
        result = self.conn.execute(
            _INSERT_ENTRY,
            {"pilot_id": self.pilot_id, "seq": self.seq + 1, "kind": kind.value, "amount_cents": amount_cents,
             "application_id": application_id, "total_after": after.total_cents,
             "reserved_after": after.reserved_cents, "paid_after": after.paid_cents, "created_at": self.now,
             "memo": memo},
        )
        self.seq += 1
        self.balances = after
        return result.inserted_primary_key[0]


def _event(
    conn: Connection,
    app: Row,
    now: datetime,
    action: str,
    to_status: Status | str,
    *,
    reason: str | None = None,
    entry_id: int | None = None,
    amount_cents: int | None = None,
    key: str | None = None,
    from_status: str | None = "same",
) -> None:
    conn.execute(
        _INSERT_EVENT,
        {"application_id": app.id, "pilot_id": app.pilot_id, "at": now, "action": action,
         "from_status": app.status if from_status == "same" else from_status, "to_status": str(to_status),
         "reason": reason, "entry_id": entry_id, "amount_cents": amount_cents, "idempotency_key": key},
    )


def _set_status(conn: Connection, app: Row, target: Status, now: datetime, **values: Any) -> None:
    check_transition(app.status, target)
    conn.execute(_UPDATE_APPLICATION, {"target_id": app.id, "status": target.value, "updated_at": now, **values})


# --------------------------------------------------------------------------- conversions


def _rules(pilot: Row) -> PilotRules:
    return PilotRules(
        opens_on=pilot.opens_on,
        closes_on=pilot.closes_on,
        grant_percentage=pilot.grant_percentage,
        max_grant_cents=pilot.max_grant_cents,
        waiting_list=bool(pilot.waiting_list),
        object_types=tuple(t for t in pilot.object_types.split(",") if t),
        postcode_ranges=parse_postcode_ranges(pilot.postcode_ranges),
        buurten=frozenset(b for b in pilot.buurten.split(",") if b),
    )


def _pilot_model(row: Row) -> Pilot:
    return Pilot(
        id=row.id,
        name=row.name,
        budget_cents=row.budget_cents,
        opens_on=row.opens_on,
        closes_on=row.closes_on,
        grant_percentage=row.grant_percentage,
        max_grant_cents=row.max_grant_cents,
        waiting_list=bool(row.waiting_list),
        object_types=[t for t in row.object_types.split(",") if t],
        postcode_ranges=row.postcode_ranges,
        buurten=[b for b in row.buurten.split(",") if b],
        created_at=_aware(row.created_at),
    )


def _app_row(conn: Connection, application_id: int) -> Row:
    row = conn.execute(_APPLICATION_BY_ID, {"app_id": application_id}).first()
    if row is None:
        raise NotFoundError(f"aanvraag {application_id} bestaat niet")
    return row


def _app_model(row: Row) -> Application:
    return Application(
        id=row.id,
        pilot_id=row.pilot_id,
        status=row.status,
        grant_cents=row.grant_cents,
        reason=row.reason,
        applicant_name=row.applicant_name,
        postcode=row.postcode,
        house_number=row.house_number,
        house_number_addition=row.house_number_addition,
        buurt=row.buurt,
        buurt_source=row.buurt_source,
        object_type=row.object_type,
        invoice_amount_cents=row.invoice_amount_cents,
        invoice_date=row.invoice_date,
        products=json.loads(row.products) if row.products else None,
        iban=row.iban,
        received_at=_aware(row.received_at),
        completed_at=_aware(row.completed_at),
        updated_at=_aware(row.updated_at),
    )


@lru_cache(maxsize=1)
def known_buurten() -> dict[str, str]:
    """Zoetermeer's 26 buurten, statcode -> statnaam (from :mod:`veilig.geo`, loaded once per process)."""
    from veilig.geo.neighbourhoods import load_buurten

    gdf = load_buurten()
    return dict(zip(gdf["statcode"], gdf["statnaam"], strict=True))


# --------------------------------------------------------------------------- rules that need the database


def _refuse_duplicate_address(conn: Connection, pilot_id: int, key: str, exclude_id: int | None = None) -> None:
    query = select(A.c.id, A.c.status).where(
        A.c.pilot_id == pilot_id,
        A.c.address_key == key,
        A.c.status.notin_([Status.REJECTED.value, Status.WITHDRAWN.value]),
    )
    if exclude_id is not None:
        query = query.where(A.c.id != exclude_id)
    other = conn.execute(query.limit(1)).first()
    if other is not None:
        pc, nr, add = key.split("|")
        raise StateConflict(
            "een_subsidie_per_adres",
            f"voor {pc[:4]} {pc[4:]} {nr}{add} loopt al aanvraag {other.id} ({other.status}): één subsidie per adres per pilot",
        )


def _resolve_buurt(
    conn: Connection, rules: PilotRules, postcode: str, house_number: int, given: str | None, *, check_known: bool
) -> tuple[str | None, str | None]:
    """The buurt from the CBS postcode table when it knows the address, else the one given at intake
    (which must be one of the 26); never guessed."""
    found = conn.execute(
        select(PC.c.buurt).where(PC.c.postcode == postcode, PC.c.house_number == house_number)
    ).scalar()
    if found is not None:
        if given is not None and given != found:
            raise RuleViolation(
                "buurt_volgens_postcodetabel",
                f"{postcode} {house_number} ligt volgens de CBS-postcodetabel in buurt {found}, niet in {given}",
            )
        buurt, source = found, "postcodetabel"
    elif given is not None:
        if check_known and given not in known_buurten():
            raise RuleViolation("buurt_onbekend", f"buurt {given} is geen van de 26 buurten van Zoetermeer")
        buurt, source = given, "intake"
    else:
        return None, None
    if rules.buurten and buurt not in rules.buurten:
        raise RuleViolation("buurt_buiten_pilot", f"buurt {buurt} hoort niet bij het gebied van deze pilot")
    return buurt, source


def _missing_reason(missing: list[str]) -> str | None:
    return f"onvolledig; ontbreekt: {', '.join(missing)}" if missing else None


def _decide(
    conn: Connection,
    book: _Book,
    rules: PilotRules,
    app: Row,
    now: datetime,
    key: str | None,
    changes: dict[str, Any] | None = None,
) -> None:
    """The application just became complete: reserve, queue or refuse, in order of completion.
    ``changes`` are field updates written in the same UPDATE as the decision."""
    changes = changes or {}
    grant = rules.grant_for(changes.get("invoice_amount_cents", app.invoice_amount_cents))
    queued = 0
    if rules.waiting_list:
        queued = conn.execute(_COUNT_WAITING, {"pilot_id": app.pilot_id}).scalar_one()
    decision = decide(grant, book.balances.remaining_cents, rules.waiting_list, queued)
    entry_id = None
    if decision.outcome is Outcome.RESERVE:
        entry_id = book.append(EntryKind.RESERVE, grant, app.id, memo="reservering bij volledige aanvraag")
        target, action = Status.RESERVED, "reserve"
    elif decision.outcome is Outcome.WAIT:
        target, action = Status.WAITING, "wait"
    else:
        target, action = Status.REJECTED, "refuse"
    _set_status(conn, app, target, now, **{**changes, "grant_cents": grant, "reason": decision.reason, "completed_at": now})
    _event(conn, app, now, action, target, reason=decision.reason, entry_id=entry_id, amount_cents=grant, key=key)


def _serve_waiting(conn: Connection, book: _Book, rules: PilotRules, now: datetime, key: str | None) -> None:
    """Budget came free (release or top-up): queued applications get their reservation, strictly in order."""
    if not rules.waiting_list or not rules.is_open(_local_date(now)):
        return
    queue = conn.execute(
        select(A.c.id, A.c.grant_cents)
        .where(A.c.pilot_id == book.pilot_id, A.c.status == Status.WAITING.value)
        .order_by(A.c.completed_at, A.c.id)
    ).all()
    for app_id in serve_waiting_list(book.balances.remaining_cents, [(r.id, r.grant_cents) for r in queue]):
        app = _app_row(conn, app_id)
        entry_id = book.append(EntryKind.RESERVE, app.grant_cents, app.id, memo="reservering vanaf de wachtlijst")
        _set_status(conn, app, Status.RESERVED, now, reason=None)
        _event(conn, app, now, "promote", Status.RESERVED, reason="budget vrijgekomen", entry_id=entry_id,
               amount_cents=app.grant_cents, key=key)


def _budget(conn: Connection, pilot: Row, now: datetime) -> Budget:
    book = _Book(conn, pilot.id, now)
    b = book.balances
    today = _local_date(now)
    window = min(PACE_WINDOW_DAYS, (today - pilot.opens_on).days + 1)
    committed = 0
    if window > 0:
        since_local = datetime.combine(today - timedelta(days=window - 1), dtime.min, tzinfo=AMSTERDAM)
        sums = dict(
            conn.execute(
                select(E.c.kind, func.coalesce(func.sum(E.c.amount_cents), 0))
                .where(
                    E.c.pilot_id == pilot.id,
                    E.c.created_at >= since_local.astimezone(UTC),
                    E.c.created_at <= now,
                    E.c.kind.in_([EntryKind.RESERVE.value, EntryKind.RELEASE.value]),
                )
                .group_by(E.c.kind)
            ).all()
        )
        committed = int(sums.get("reserve", 0)) - int(sums.get("release", 0))
    return Budget(
        pilot_id=pilot.id,
        total_cents=b.total_cents,
        reserved_cents=b.reserved_cents,
        paid_cents=b.paid_cents,
        remaining_cents=b.remaining_cents,
        projected_exhaustion_date=projected_exhaustion_date(b.remaining_cents, committed, max(window, 0), today),
    )


# =========================================================================== state-changing calls


def create_pilot(db: Database, pilot: PilotIn, *, idempotency_key: str | None = None, now: datetime | None = None) -> Pilot:
    """Open a new pilot with its opening budget (a top-up entry). Pilots may not overlap in time, so
    "the open pilot" is always one."""
    now = _utc(now)
    values = validate_pilot(pilot.model_dump())

    def lock(conn: Connection) -> None:
        if not db.is_sqlite:
            conn.execute(text("LOCK TABLE ledger_pilots IN EXCLUSIVE MODE"))

    def body(conn: Connection, _: Row | None) -> Pilot:
        overlap = conn.execute(
            select(P.c.id, P.c.name).where(P.c.opens_on <= values["closes_on"], P.c.closes_on >= values["opens_on"])
        ).first()
        if overlap is not None:
            raise StateConflict(
                "pilots_overlappen", f"pilot {overlap.id} ({overlap.name}) loopt al in deze periode; pilots mogen niet overlappen"
            )
        pid = conn.execute(
            insert(P).values(
                name=values["name"],
                budget_cents=values["budget_cents"],
                opens_on=values["opens_on"],
                closes_on=values["closes_on"],
                grant_percentage=values["grant_percentage"],
                max_grant_cents=values["max_grant_cents"],
                waiting_list=values["waiting_list"],
                object_types=",".join(values["object_types"]),
                postcode_ranges=values["postcode_ranges"],
                buurten=",".join(values["buurten"]),
                created_at=now,
            )
        ).inserted_primary_key[0]
        _Book(conn, pid, now).append(EntryKind.TOP_UP, values["budget_cents"], memo="openingsbudget")
        return _pilot_model(conn.execute(select(P).where(P.c.id == pid)).one())

    return _transact(db, "create_pilot", {"pilot": pilot.model_dump(mode="json")}, idempotency_key, now, lock, body, Pilot)


def top_up(
    db: Database,
    amount_cents: int,
    *,
    pilot_id: int | None = None,
    memo: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Budget:
    """Raise the budget by a top-up entry (the budget is never edited); serves the waiting list."""
    now = _utc(now)
    amount = require_cents("ophoging", amount_cents, minimum=1)
    memo = check_text("memo", "de toelichting", memo, 200) if memo is not None else None

    def lock(conn: Connection) -> Row:
        return _lock_pilot(conn, _resolve_pilot_id(conn, pilot_id, _local_date(now), require_open=False))

    def body(conn: Connection, pilot: Row | None) -> Budget:
        assert pilot is not None
        book = _Book(conn, pilot.id, now)
        if book.balances.total_cents + amount > MAX_AMOUNT_CENTS:
            raise RuleViolation("bedrag_absurd", f"het budget zou boven {format_euros(MAX_AMOUNT_CENTS)} komen")
        book.append(EntryKind.TOP_UP, amount, memo=(memo or "ophoging")[:500])
        _serve_waiting(conn, book, _rules(pilot), now, idempotency_key)
        return _budget(conn, pilot, now)

    request = {"pilot_id": pilot_id, "amount_cents": amount, "memo": memo}
    return _transact(db, "top_up", request, idempotency_key, now, lock, body, Budget)


def apply(
    db: Database,
    application: ApplicationIn,
    *,
    pilot_id: int | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Application:
    """Register an application with the open pilot (or ``pilot_id``). Name and address are needed at
    intake; when every other required field is there too it is decided at once (reserved, waiting or
    rejected with "subsidieplafond bereikt"), otherwise it is ``received``."""
    now = _utc(now)
    today = _local_date(now)

    def lock(conn: Connection) -> Row:
        return _lock_pilot(conn, _resolve_pilot_id(conn, pilot_id, today, require_open=True))

    def body(conn: Connection, pilot: Row | None) -> Application:
        assert pilot is not None
        rules = _rules(pilot)
        check_pilot_open(rules, today, "aanvragen")
        values = validate_application_fields(application.model_dump(), rules, today)
        missing = missing_fields(values, INTAKE_FIELDS)
        if missing:
            raise RuleViolation(
                "aanvraag_minimaal", f"een aanvraag heeft minstens naam, postcode en huisnummer nodig; ontbreekt: {', '.join(missing)}"
            )
        key = address_key(values["postcode"], values["house_number"], values.get("house_number_addition"))
        _refuse_duplicate_address(conn, pilot.id, key)
        buurt, source = _resolve_buurt(
            conn, rules, values["postcode"], values["house_number"], values.get("buurt"), check_known=True
        )
        values["buurt"], values["buurt_source"] = buurt, source
        missing = missing_fields(values, COMPLETION_FIELDS)
        app_id = conn.execute(
            insert(A).values(
                pilot_id=pilot.id,
                status=Status.RECEIVED.value,
                applicant_name=values["applicant_name"],
                postcode=values["postcode"],
                house_number=values["house_number"],
                house_number_addition=values.get("house_number_addition"),
                address_key=key,
                buurt=buurt,
                buurt_source=source,
                object_type=values.get("object_type"),
                invoice_amount_cents=values.get("invoice_amount_cents"),
                invoice_date=values.get("invoice_date"),
                products=json.dumps(values["products"]) if values.get("products") else None,
                iban=values.get("iban"),
                reason=_missing_reason(missing),
                received_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        app = _app_row(conn, app_id)
        _event(conn, app, now, "apply", Status.RECEIVED, reason=app.reason, key=idempotency_key, from_status=None)
        if not missing:
            _decide(conn, _Book(conn, pilot.id, now), rules, app, now, idempotency_key)
            app = _app_row(conn, app_id)
        return _app_model(app)

    request = {"pilot_id": pilot_id, "application": application.model_dump(mode="json")}
    return _transact(db, "apply", request, idempotency_key, now, lock, body, Application)


def complete(
    db: Database,
    application_id: int,
    fields: ApplicationIn | None = None,
    *,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Application:
    """Supply missing (or correct given) fields of a ``received`` application. Once every required
    field is there it is decided, in order of completion; until then it stays ``received``."""
    now = _utc(now)
    today = _local_date(now)
    fields = fields or ApplicationIn()

    def lock(conn: Connection) -> Row:
        return _lock_pilot_of(conn, application_id)

    def body(conn: Connection, pilot: Row | None) -> Application:
        assert pilot is not None
        app = _app_row(conn, application_id)
        check_action("complete", app.status, application_id)
        rules = _rules(pilot)
        check_pilot_open(rules, today, "aanvullen")
        supplied = validate_application_fields(fields.model_dump(), rules, today)
        current = _app_model(app).model_dump()
        merged = {**current, **supplied}
        changes: dict[str, Any] = {k: v for k, v in supplied.items() if k != "buurt"}
        address_changed = any(k in supplied for k in ("postcode", "house_number", "house_number_addition"))
        if address_changed:
            key = address_key(merged["postcode"], merged["house_number"], merged.get("house_number_addition"))
            _refuse_duplicate_address(conn, pilot.id, key, exclude_id=application_id)
            changes["address_key"] = key
        if address_changed or "buurt" in supplied or app.buurt is None:
            given = supplied.get("buurt") or (app.buurt if app.buurt_source == "intake" else None)
            buurt, source = _resolve_buurt(
                conn, rules, merged["postcode"], merged["house_number"], given, check_known="buurt" in supplied
            )
            merged["buurt"] = changes["buurt"] = buurt
            changes["buurt_source"] = source
        if "products" in changes:
            changes["products"] = json.dumps(changes["products"])
        missing = missing_fields(merged, COMPLETION_FIELDS)
        if missing:
            changes["reason"] = _missing_reason(missing)
            conn.execute(_UPDATE_APPLICATION, {"target_id": application_id, "updated_at": now, **changes})
            _event(conn, app, now, "supplement", Status.RECEIVED, reason=changes["reason"], key=idempotency_key)
        else:
            _decide(conn, _Book(conn, pilot.id, now), rules, app, now, idempotency_key, changes)
        return _app_model(_app_row(conn, application_id))

    request = {"application_id": application_id, "fields": fields.model_dump(mode="json")}
    return _transact(db, "complete", request, idempotency_key, now, lock, body, Application)


def approve(
    db: Database, application_id: int, *, idempotency_key: str | None = None, now: datetime | None = None
) -> Application:
    """Approve a reserved grant (the desk checked the invoice); only while the pilot is open."""
    now = _utc(now)
    today = _local_date(now)

    def lock(conn: Connection) -> Row:
        return _lock_pilot_of(conn, application_id)

    def body(conn: Connection, pilot: Row | None) -> Application:
        assert pilot is not None
        app = _app_row(conn, application_id)
        check_action("approve", app.status, application_id)
        if today > pilot.closes_on:
            raise RuleViolation(
                "goedkeuren_na_sluiting", f"goedkeuren kan niet meer: de pilot is gesloten sinds {pilot.closes_on.isoformat()}"
            )
        _set_status(conn, app, Status.APPROVED, now, approved_at=now)
        _event(conn, app, now, "approve", Status.APPROVED, amount_cents=app.grant_cents, key=idempotency_key)
        return _app_model(_app_row(conn, application_id))

    return _transact(db, "approve", {"application_id": application_id}, idempotency_key, now, lock, body, Application)


def _end(
    db: Database,
    action: str,
    target: Status,
    application_id: int,
    reason: str,
    idempotency_key: str | None,
    now: datetime,
) -> Application:
    """Reject or withdraw: release a held reservation, then serve the waiting list."""

    def lock(conn: Connection) -> Row:
        return _lock_pilot_of(conn, application_id)

    def body(conn: Connection, pilot: Row | None) -> Application:
        assert pilot is not None
        app = _app_row(conn, application_id)
        check_action(action, app.status, application_id)
        book = _Book(conn, pilot.id, now)
        entry_id = None
        if Status(app.status) in HOLDS_RESERVATION:
            entry_id = book.append(EntryKind.RELEASE, app.grant_cents, app.id, memo=f"vrijgegeven: {reason}"[:500])
        _set_status(conn, app, target, now, reason=reason)
        _event(conn, app, now, action, target, reason=reason, entry_id=entry_id,
               amount_cents=app.grant_cents if entry_id else None, key=idempotency_key)
        _serve_waiting(conn, book, _rules(pilot), now, idempotency_key)
        return _app_model(_app_row(conn, application_id))

    request = {"application_id": application_id, "reason": reason}
    return _transact(db, action, request, idempotency_key, now, lock, body, Application)


def reject(
    db: Database, application_id: int, reason: str, *, idempotency_key: str | None = None, now: datetime | None = None
) -> Application:
    """Reject an application that is not paid; a reservation is released. ``reason`` is required."""
    reason = check_text("reden", "de reden", reason or "", 500, multiline=True)
    if not reason:
        raise RuleViolation("afwijzen_met_reden", "een afwijzing heeft een reden nodig")
    return _end(db, "reject", Status.REJECTED, application_id, reason, idempotency_key, _utc(now))


def withdraw(
    db: Database,
    application_id: int,
    reason: str | None = None,
    *,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Application:
    """The applicant withdraws before payout; a reservation is released."""
    reason = check_text("reden", "de reden", reason or "", 500, multiline=True) or "ingetrokken door de aanvrager"
    return _end(db, "withdraw", Status.WITHDRAWN, application_id, reason, idempotency_key, _utc(now))


def pay(
    db: Database,
    application_id: int,
    *,
    iban: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> Application:
    """Pay an approved grant: its reservation becomes a payout. Needs a valid IBAN, on the application
    or given here (which is then recorded on it)."""
    now = _utc(now)
    checked_iban = validate_iban(iban) if iban is not None else None

    def lock(conn: Connection) -> Row:
        return _lock_pilot_of(conn, application_id)

    def body(conn: Connection, pilot: Row | None) -> Application:
        assert pilot is not None
        app = _app_row(conn, application_id)
        check_action("pay", app.status, application_id)
        account = checked_iban or app.iban
        if not account:
            raise RuleViolation("iban_nodig", f"aanvraag {application_id} heeft geen IBAN om op uit te betalen")
        entry_id = _Book(conn, pilot.id, now).append(EntryKind.PAY, app.grant_cents, app.id, memo=f"uitbetaling naar {account}")
        _set_status(conn, app, Status.PAID, now, paid_at=now, iban=account)
        _event(conn, app, now, "pay", Status.PAID, entry_id=entry_id, amount_cents=app.grant_cents, key=idempotency_key)
        return _app_model(_app_row(conn, application_id))

    request = {"application_id": application_id, "iban": checked_iban}
    return _transact(db, "pay", request, idempotency_key, now, lock, body, Application)


def import_postcodes(db: Database, csv_text: str) -> PostcodeImport:
    """Load the CBS postcode-huisnummer-buurt table (replacing any earlier one). Rows of buurten
    outside Zoetermeer are skipped (the national file is fine); a malformed row refuses the whole file."""
    rows = parse_postcode_table(csv_text)
    names = known_buurten()
    ours = [r for r in rows if r[2] in names]
    with db.write() as conn:
        replaced = conn.execute(select(func.count()).select_from(PC)).scalar_one()
        conn.execute(delete(PC))
        for start in range(0, len(ours), 5000):
            conn.execute(insert(PC), [{"postcode": p, "house_number": n, "buurt": b} for p, n, b in ours[start:start + 5000]])
    return PostcodeImport(
        rows_read=len(rows), rows_imported=len(ours), rows_outside_zoetermeer=len(rows) - len(ours), rows_replaced=replaced
    )


# =========================================================================== reads and reports


def _read_pilot(conn: Connection, pilot_id: int | None, now: datetime) -> Row:
    pid = _resolve_pilot_id(conn, pilot_id, _local_date(now), require_open=False)
    row = conn.execute(select(P).where(P.c.id == pid)).first()
    if row is None:
        raise NotFoundError(f"pilot {pid} bestaat niet")
    return row


def get_pilot(db: Database, pilot_id: int | None = None, *, now: datetime | None = None) -> Pilot:
    """The given pilot, else the open one, else the most recent one."""
    with db.engine.connect() as conn:
        return _pilot_model(_read_pilot(conn, pilot_id, _utc(now)))


def list_pilots(db: Database) -> list[Pilot]:
    with db.engine.connect() as conn:
        return [_pilot_model(r) for r in conn.execute(select(P).order_by(P.c.opens_on, P.c.id))]


def budget(db: Database, pilot_id: int | None = None, *, now: datetime | None = None) -> Budget:
    """``total``, ``reserved``, ``paid``, ``remaining`` (cents) and the projected exhaustion date."""
    now = _utc(now)
    with db.engine.connect() as conn, conn.begin():
        return _budget(conn, _read_pilot(conn, pilot_id, now), now)


def get_application(db: Database, application_id: int) -> Application:
    with db.engine.connect() as conn:
        return _app_model(_app_row(conn, application_id))


def list_applications(
    db: Database, pilot_id: int | None = None, *, status: str | None = None, now: datetime | None = None
) -> list[Application]:
    """Applications of a pilot in order of receipt, optionally of one status."""
    with db.engine.connect() as conn:
        pilot = _read_pilot(conn, pilot_id, _utc(now))
        query = select(A).where(A.c.pilot_id == pilot.id).order_by(A.c.id)
        if status is not None:
            query = query.where(A.c.status == Status(status).value)
        return [_app_model(r) for r in conn.execute(query)]


def list_entries(db: Database, pilot_id: int | None = None, *, now: datetime | None = None) -> list[Entry]:
    """The pilot's ledger entries in order."""
    with db.engine.connect() as conn:
        pilot = _read_pilot(conn, pilot_id, _utc(now))
        rows = conn.execute(select(E).where(E.c.pilot_id == pilot.id).order_by(E.c.seq))
        return [Entry(**{**r._mapping, "created_at": _aware(r.created_at)}) for r in rows]


def status_report(db: Database, pilot_id: int | None = None, *, now: datetime | None = None) -> StatusReport:
    """The budget, applications per status and the grant amounts per status, read in one snapshot."""
    now = _utc(now)
    with db.engine.connect() as conn, conn.begin():
        pilot = _read_pilot(conn, pilot_id, now)
        rows = conn.execute(
            select(A.c.status, func.count(), func.coalesce(func.sum(A.c.grant_cents), 0))
            .where(A.c.pilot_id == pilot.id)
            .group_by(A.c.status)
        ).all()
        counts = counts_by_status([])
        counts.update({r[0]: int(r[1]) for r in rows})
        cents = grants_by_status([(r[0], int(r[2])) for r in rows])
        return StatusReport(
            pilot=_pilot_model(pilot),
            budget=_budget(conn, pilot, now),
            counts=counts,
            grant_cents_by_status=cents,
            waiting_cents=cents[Status.WAITING.value],
        )


def buurt_report(db: Database, pilot_id: int | None = None, *, now: datetime | None = None) -> list[BuurtRow]:
    """Grants and euros per buurt: where the money goes (to set beside where burglaries happen)."""
    with db.engine.connect() as conn:
        pilot = _read_pilot(conn, pilot_id, _utc(now))
        rows = conn.execute(select(A.c.buurt, A.c.status, A.c.grant_cents).where(A.c.pilot_id == pilot.id)).all()
    return [BuurtRow(**r) for r in buurt_rows([tuple(r) for r in rows], known_buurten())]


def decision_trail(db: Database, application_id: int) -> list[TrailEvent]:
    """Every step of one application, in order: who decided what, when, why, and which entry it booked."""
    with db.engine.connect() as conn:
        _app_row(conn, application_id)
        rows = conn.execute(select(V).where(V.c.application_id == application_id).order_by(V.c.id)).all()
    return [
        TrailEvent(
            id=r.id, application_id=r.application_id, at=_aware(r.at), action=r.action, from_status=r.from_status,
            to_status=r.to_status, reason=r.reason, entry_id=r.entry_id, amount_cents=r.amount_cents,
            idempotency_key=r.idempotency_key,
        )
        for r in rows
    ]


def export_applications_csv(db: Database, pilot_id: int | None = None, *, now: datetime | None = None) -> str:
    """Finance's CSV: one line per application with grant (cents and euros), IBAN and the key dates."""
    with db.engine.connect() as conn:
        pilot = _read_pilot(conn, pilot_id, _utc(now))
        rows = conn.execute(select(A).where(A.c.pilot_id == pilot.id).order_by(A.c.id)).all()

    def iso(value: datetime | None) -> str | None:
        return _aware(value).isoformat() if value is not None else None

    return finance_csv(
        [
            {
                "aanvraag_id": r.id, "pilot_id": r.pilot_id, "status": status_label(r.status), "aanvrager": r.applicant_name,
                "postcode": r.postcode, "huisnummer": r.house_number, "toevoeging": r.house_number_addition,
                "buurt": r.buurt, "object": r.object_type, "factuurbedrag_cent": r.invoice_amount_cents,
                "factuurdatum": r.invoice_date.isoformat() if r.invoice_date else None,
                "subsidie_cent": r.grant_cents, "iban": r.iban, "ontvangen_op": iso(r.received_at),
                "compleet_op": iso(r.completed_at), "goedgekeurd_op": iso(r.approved_at), "betaald_op": iso(r.paid_at),
                "reden": r.reason,
            }
            for r in rows
        ]
    )


def export_entries_csv(db: Database, pilot_id: int | None = None, *, now: datetime | None = None) -> str:
    """The ledger itself as CSV, entry by entry."""
    return entries_csv([e.model_dump(mode="json") for e in list_entries(db, pilot_id, now=now)])


def verify_ledger(db: Database, pilot_id: int | None = None, *, now: datetime | None = None) -> LedgerCheck:
    """Replay the pilot's entries from zero and check everything stored against it: the running
    balances, gap-free sequence, and for every application that its net reservation and payout
    match its status (no half-written reservation)."""
    problems: list[str] = []
    with db.engine.connect() as conn, conn.begin():
        pilot = _read_pilot(conn, pilot_id, _utc(now))
        entries = conn.execute(select(E).where(E.c.pilot_id == pilot.id).order_by(E.c.seq)).all()
        apps = conn.execute(select(A.c.id, A.c.status, A.c.grant_cents).where(A.c.pilot_id == pilot.id)).all()
        events = conn.execute(select(V.c.entry_id).where(V.c.pilot_id == pilot.id, V.c.entry_id.isnot(None))).all()
    balances = ZERO
    per_app: dict[int, list[int]] = {}
    for n, e in enumerate(entries, start=1):
        if e.seq != n:
            problems.append(f"entry {e.id}: seq {e.seq}, expected {n}")
        try:
            balances = post(balances, e.kind, e.amount_cents)
        except StateConflict as exc:
            problems.append(f"entry {e.id}: {exc}")
        if (e.total_after, e.reserved_after, e.paid_after) != (balances.total_cents, balances.reserved_cents, balances.paid_cents):
            problems.append(f"entry {e.id}: stored balances differ from the replay")
        if e.application_id is not None:
            net = per_app.setdefault(e.application_id, [0, 0])
            if e.kind == "reserve":
                net[0] += e.amount_cents
            elif e.kind == "release":
                net[0] -= e.amount_cents
            elif e.kind == "pay":
                net[0] -= e.amount_cents
                net[1] += e.amount_cents
    if entries and entries[0].kind != "top-up":
        problems.append("the first entry is not the opening budget")
    booked = {e.id for e in entries if e.kind != "top-up"}
    with_event = {r.entry_id for r in events}
    for missing in sorted(booked - with_event):
        problems.append(f"entry {missing} has no event in the decision trail")
    for app in apps:
        reserved, paid = per_app.get(app.id, [0, 0])
        want_reserved = app.grant_cents if Status(app.status) in HOLDS_RESERVATION else 0
        want_paid = app.grant_cents if app.status == Status.PAID.value else 0
        if (reserved, paid) != (want_reserved, want_paid):
            problems.append(
                f"application {app.id} ({app.status}): reserved {reserved}, paid {paid} in the ledger; "
                f"expected {want_reserved}, {want_paid}"
            )
    return LedgerCheck(
        pilot_id=pilot.id, entries=len(entries), total_cents=balances.total_cents, reserved_cents=balances.reserved_cents,
        paid_cents=balances.paid_cents, ok=not problems, problems=problems,
    )


def postcodes_by_buurt(db: Database) -> dict[str, list[str]]:
    """The six-digit postcodes of each buurt in the loaded CBS postcode table (empty when none is loaded).

    Read by the near-repeat outreach list (which doors are next in line); no personal data.
    """
    with db.engine.connect() as conn:
        rows = conn.execute(select(PC.c.buurt, PC.c.postcode).distinct().order_by(PC.c.buurt, PC.c.postcode)).all()
    out: dict[str, list[str]] = {}
    for buurt, postcode in rows:
        out.setdefault(str(buurt), []).append(str(postcode))
    return out
