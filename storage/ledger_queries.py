"""Read-only searches over the ledger for the desk's pages: filtered, paged application lists and the
waiting list. The writes and the money stay in :mod:`veilig.storage.ledger_repo`; this only reads.

Filtering happens in SQL (not in Python after loading everything), so a page of 25 applications
costs the same in a pilot of 50 or 50,000.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, or_, select

from veilig.ledger.schemas import Application
from veilig.ledger.status import Status

from .db import Database
from .ledger_repo import AMSTERDAM, _app_model, _read_pilot, _utc
from .ledger_tables import LedgerApplication

A = LedgerApplication.__table__


@dataclass(frozen=True)
class ApplicationFilter:
    """What the desk filters on; every field optional."""

    status: str | None = None
    buurt: str | None = None
    received_from: date | None = None  # Zoetermeer calendar days, inclusive
    received_to: date | None = None
    search: str | None = None  # part of the applicant's name, or a postcode (with or without space)


@dataclass(frozen=True)
class ApplicationPage:
    items: list[Application]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _local_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=AMSTERDAM).astimezone(UTC)


def _conditions(pilot_id: int, flt: ApplicationFilter) -> list:
    conds = [A.c.pilot_id == pilot_id]
    if flt.status:
        conds.append(A.c.status == Status(flt.status).value)
    if flt.buurt:
        conds.append(A.c.buurt == flt.buurt.strip().upper())
    if flt.received_from:
        conds.append(A.c.received_at >= _local_midnight_utc(flt.received_from))
    if flt.received_to:
        conds.append(A.c.received_at < _local_midnight_utc(flt.received_to + timedelta(days=1)))
    text = (flt.search or "").strip()
    if text:
        # LIKE wildcards in what the desk typed are literal characters.
        escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        compact = escaped.replace(" ", "").upper()
        conds.append(or_(func.lower(A.c.applicant_name).like(f"%{escaped}%", escape="\\"),
                         A.c.postcode.like(f"{compact}%", escape="\\")))
    return conds


def search_applications(db: Database, flt: ApplicationFilter, *, page: int = 1, per_page: int = 25,
                        pilot_id: int | None = None) -> ApplicationPage:
    """One page of the pilot's applications matching ``flt``, in order of receipt."""
    page = max(1, int(page))
    per_page = min(max(1, int(per_page)), 200)
    with db.engine.connect() as conn:
        pilot = _read_pilot(conn, pilot_id, _utc(None))
        conds = _conditions(pilot.id, flt)
        total = conn.execute(select(func.count()).select_from(A).where(*conds)).scalar_one()
        rows = conn.execute(select(A).where(*conds).order_by(A.c.received_at, A.c.id)
                            .offset((page - 1) * per_page).limit(per_page)).all()
    return ApplicationPage([_app_model(r) for r in rows], int(total), page, per_page)


def waiting_list(db: Database, pilot_id: int | None = None) -> list[Application]:
    """The queue in the order it is served: by the moment each application became complete."""
    with db.engine.connect() as conn:
        pilot = _read_pilot(conn, pilot_id, _utc(None))
        rows = conn.execute(select(A).where(A.c.pilot_id == pilot.id, A.c.status == Status.WAITING.value)
                            .order_by(A.c.completed_at, A.c.id)).all()
    return [_app_model(r) for r in rows]
