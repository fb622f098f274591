"""Storage of the indicator register and of the police open data.

Nothing is overwritten in place: recording a realisation or a norm appends a row (the database
refuses UPDATE and DELETE on these tables), the current value is the latest row for its
(indicator, year, kind), and every change is written to the audit log with the old and the new
value in the same transaction.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd
from sqlalchemy import and_, func, insert, select

from veilig.errors import NotFoundError, VeiligError

from .auth import Principal, audit
from .db import Database
from .indicators_tables import Indicator, IndicatorValue, PoliceCount, PoliceImport

KINDS = ("realisation", "norm")
KIND_LABELS = {"realisation": "realisatie", "norm": "norm"}
YEAR_RANGE = (1990, 2100)


@dataclass
class IndicatorRecord:
    code: str
    name: str
    goal: str
    source: str
    unit: str
    direction: str
    threshold: float | None
    baseline: str | None
    computed_key: str | None
    note: str | None
    seed_source: str | None
    realisations: dict[int, float] = field(default_factory=dict)
    norms: dict[int, float] = field(default_factory=dict)
    #: (kind, year) -> source of the current value (the budget for seeded values, else who set it)
    value_sources: dict[tuple[str, int], str] = field(default_factory=dict)


@dataclass(frozen=True)
class HistoryRow:
    id: int
    code: str
    year: int
    kind: str
    value: float
    source: str
    note: str | None
    recorded_at: datetime
    recorded_by: str


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _records(conn, code: str | None = None) -> list[IndicatorRecord]:
    q = select(Indicator).order_by(Indicator.goal, Indicator.code)
    if code is not None:
        q = q.where(Indicator.code == code)
    out = {}
    for r in conn.execute(q):
        m = r._mapping
        out[m["code"]] = IndicatorRecord(**{k: m[k] for k in (
            "code", "name", "goal", "source", "unit", "direction", "threshold", "baseline", "computed_key",
            "note", "seed_source")})
    if not out:
        return []
    latest = (select(func.max(IndicatorValue.id).label("id"))
              .group_by(IndicatorValue.indicator_code, IndicatorValue.year, IndicatorValue.kind))
    if code is not None:
        latest = latest.where(IndicatorValue.indicator_code == code)
    rows = conn.execute(select(IndicatorValue).where(IndicatorValue.id.in_(latest)).order_by(IndicatorValue.year))
    for v in rows:
        rec = out.get(v.indicator_code)
        if rec is None:
            continue
        (rec.realisations if v.kind == "realisation" else rec.norms)[int(v.year)] = float(v.value)
        rec.value_sources[(v.kind, int(v.year))] = v.source
    return list(out.values())


def list_indicators(db: Database) -> list[IndicatorRecord]:
    """Every indicator with its current realisations and norms (year -> value), by goal and code."""
    with db.engine.connect() as conn:
        return _records(conn)


def get_indicator(db: Database, code: str) -> IndicatorRecord:
    with db.engine.connect() as conn:
        found = _records(conn, code)
    if not found:
        raise NotFoundError(f"indicator '{code}' bestaat niet; zie 'veilig indicators list'")
    return found[0]


def history(db: Database, code: str | None = None) -> list[HistoryRow]:
    """Every recorded value in the order recorded (the earlier values of a year stay here)."""
    q = select(IndicatorValue).order_by(IndicatorValue.id)
    if code is not None:
        q = q.where(IndicatorValue.indicator_code == code)
    with db.engine.connect() as conn:
        return [HistoryRow(r.id, r.indicator_code, r.year, r.kind, float(r.value), r.source, r.note,
                           _aware(r.recorded_at), r.recorded_by) for r in conn.execute(q)]


def check_value(unit: str, value: float) -> None:
    """The value must be a finite number that fits the unit (Dutch message naming the rule)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value):
        raise VeiligError("waarde: geef een eindig getal")
    if unit.startswith("rapportcijfer") and not 1 <= value <= 10:
        raise VeiligError(f"waarde: een rapportcijfer ligt tussen 1 en 10 (gekregen {value})")
    if unit == "procent" and not 0 <= value <= 100:
        raise VeiligError(f"waarde: een percentage ligt tussen 0 en 100 (gekregen {value})")
    if unit.startswith("aantal"):
        if value < 0:
            raise VeiligError(f"waarde: een aantal is niet negatief (gekregen {value})")
        if not float(value).is_integer():
            raise VeiligError(f"waarde: een aantal is een geheel getal (gekregen {value})")


def record_value(db: Database, user: Principal, code: str, year: int, kind: str, value: float,
                 note: str | None = None) -> tuple[float | None, float]:
    """Record a realisation or norm of ``code`` for ``year``; return (old value or None, new value).

    Appends a row and an audit entry (who, when, old and new value) in one transaction.
    """
    if kind not in KINDS:
        raise VeiligError(f"soort: '{kind}' is geen realisatie of norm")
    if not isinstance(year, int) or not YEAR_RANGE[0] <= year <= YEAR_RANGE[1]:
        raise VeiligError(f"jaar: geef een jaar tussen {YEAR_RANGE[0]} en {YEAR_RANGE[1]} (gekregen {year})")
    if note is not None and len(note) > 2000:
        raise VeiligError("toelichting: ten hoogste 2000 tekens")
    with db.write() as conn:
        ind = conn.execute(select(Indicator.unit).where(Indicator.code == code)).first()
        if ind is None:
            raise NotFoundError(f"indicator '{code}' bestaat niet; zie 'veilig indicators list'")
        check_value(ind.unit, value)
        old = conn.execute(select(IndicatorValue.value).where(
            IndicatorValue.indicator_code == code, IndicatorValue.year == year, IndicatorValue.kind == kind)
            .order_by(IndicatorValue.id.desc()).limit(1)).scalar()
        now = _now()
        conn.execute(insert(IndicatorValue).values(
            indicator_code=code, year=year, kind=kind, value=float(value), source=f"vastgelegd door {user.name}",
            note=note, recorded_at=now, recorded_by=user.name))
        audit(db, user, f"indicator.{kind}", f"{code}/{year}",
              json.dumps({"old": old, "new": float(value), "note": note}, ensure_ascii=False), conn=conn)
    return (None if old is None else float(old)), float(value)


# ---------------------------------------------------------------------------- police open data


@dataclass(frozen=True)
class PoliceImportReport:
    import_id: int
    rows_in_file: int
    rows_stored: int
    rows_other_municipality: int
    rows_other_type: int


def store_police(db: Database, user: Principal, read) -> PoliceImportReport:
    """Store a checked :class:`veilig.indicators.policedata.PoliceRead` in one transaction.

    Refuses a read with errors (all or nothing); the rows of a later import supersede earlier ones
    for the same (region, month, type) without deleting them.
    """
    if read.errors:
        raise VeiligError(f"{read.file}: {read.invalid_rows} ongeldige rijen; niets geïmporteerd")
    with db.write() as conn:
        import_id = conn.execute(insert(PoliceImport).values(
            filename=read.file[:500], imported_at=_now(), imported_by=user.name, rows_in_file=read.n_rows,
            rows_stored=len(read.rows), rows_other_municipality=read.other_municipality,
            rows_other_type=read.other_type).returning(PoliceImport.id)).scalar_one()
        if len(read.rows):
            records = read.rows.drop(columns=["row"]).assign(import_id=import_id).to_dict("records")
            conn.execute(insert(PoliceCount), [{k: (int(v) if k in ("year", "month", "count") else v)
                                                for k, v in r.items()} for r in records])
        audit(db, user, "import.misdrijven", read.file,
              json.dumps({"stored": len(read.rows), "other_municipality": read.other_municipality,
                          "other_type": read.other_type}), conn=conn)
        from .incidents import bump_data_version

        bump_data_version(conn)
    return PoliceImportReport(import_id, read.n_rows, len(read.rows), read.other_municipality, read.other_type)


_POLICE_COLUMNS = ["region_code", "level", "year", "month", "cbs_code", "category", "count"]


def police_counts(db: Database) -> pd.DataFrame:
    """The current police counts: per (region, month, type) the row of the latest import."""
    q = select(PoliceCount.region_code, PoliceCount.year, PoliceCount.month, PoliceCount.cbs_code,
               func.max(PoliceCount.import_id).label("import_id")).group_by(
        PoliceCount.region_code, PoliceCount.year, PoliceCount.month, PoliceCount.cbs_code).subquery()
    sel = select(*[getattr(PoliceCount, c) for c in _POLICE_COLUMNS]).join(q, and_(
        PoliceCount.region_code == q.c.region_code, PoliceCount.year == q.c.year,
        PoliceCount.month == q.c.month, PoliceCount.cbs_code == q.c.cbs_code,
        PoliceCount.import_id == q.c.import_id))
    with db.engine.connect() as conn:
        rows = conn.execute(sel).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=_POLICE_COLUMNS)


def police_imports(db: Database) -> list[dict]:
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(PoliceImport).order_by(PoliceImport.id))]
