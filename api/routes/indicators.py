"""Programma 5 in cijfers: the indicator register (JSON, CSV, admin writes) and the dashboard page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import BaseModel, Field

from veilig.dates import today_local
from veilig.storage import Database
from veilig.storage import indicators_repo as repo
from veilig.storage.auth import Principal

from ..deps import ADMIN, ALL_ROLES, current_user, get_db, require_roles

router = APIRouter(tags=["indicatoren"])
admin_only = require_roles(ADMIN)
anyone = require_roles(*ALL_ROLES)
Code = Annotated[str, Path(min_length=1, max_length=60, pattern=r"^[a-z0-9_]+$", description="indicator code")]


class IndicatorOut(BaseModel):
    code: str
    name: str
    goal: str
    goal_name: str | None
    source: str
    unit: str
    direction: str = Field(description="lower | higher | ge_previous (>= last year) | gt (> threshold)")
    direction_label: str
    threshold: float | None
    baseline: str | None = Field(description="nulmeting years, e.g. 2025/2026")
    note: str | None
    seed_source: str | None
    realisations: dict[str, int | float] = Field(description="year -> value")
    norms: dict[str, int | float] = Field(description="year -> value")
    value_sources: dict[str, dict[str, str]]


class ValueIn(BaseModel):
    year: int = Field(ge=1990, le=2100)
    value: float
    note: str | None = Field(None, max_length=2000)


class Recorded(BaseModel):
    code: str
    year: int
    kind: str
    old_value: float | None
    new_value: float
    indicator: IndicatorOut


class HistoryOut(BaseModel):
    year: int
    kind: str
    value: float
    source: str
    note: str | None
    recorded_at: Any
    recorded_by: str


@router.get("/api/v1/indicators", response_model=list[IndicatorOut], summary="Indicatoren Programma 5 Veiligheid")
def indicators(user: Principal = Depends(anyone), db: Database = Depends(get_db)) -> list[dict]:
    from ..indicatorviews import indicators_json

    return indicators_json(db)


@router.get("/api/v1/indicators.csv", response_class=PlainTextResponse, summary="Indicatoren als CSV (P&C-cyclus)")
def indicators_csv(user: Principal = Depends(anyone), db: Database = Depends(get_db)) -> PlainTextResponse:
    from ..indicatorviews import indicators_csv as to_csv

    return PlainTextResponse(to_csv(db), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="indicatoren.csv"'})


@router.get("/api/v1/indicators/{code}/history", response_model=list[HistoryOut],
            summary="Alle vastgelegde waarden van een indicator (beheerder)")
def indicator_history(code: Code, user: Principal = Depends(admin_only), db: Database = Depends(get_db)) -> list[dict]:
    repo.get_indicator(db, code)
    return [h.__dict__ for h in repo.history(db, code)]


def _record(kind: str, code: str, body: ValueIn, user: Principal, db: Database) -> dict:
    from ..indicatorviews import indicator_json

    old, new = repo.record_value(db, user, code, body.year, kind, body.value, body.note)
    return {"code": code, "year": body.year, "kind": kind, "old_value": old, "new_value": new,
            "indicator": indicator_json(repo.get_indicator(db, code))}


@router.post("/api/v1/indicators/{code}/realisations", response_model=Recorded, status_code=201,
             summary="Realisatie vastleggen (beheerder; geaudit, de eerdere waarde blijft in de historie)")
def record_realisation(code: Code, body: ValueIn, user: Principal = Depends(admin_only),
                       db: Database = Depends(get_db)) -> dict:
    return _record("realisation", code, body, user, db)


@router.post("/api/v1/indicators/{code}/norms", response_model=Recorded, status_code=201,
             summary="Norm vastleggen (beheerder; geaudit, de eerdere waarde blijft in de historie)")
def record_norm(code: Code, body: ValueIn, user: Principal = Depends(admin_only),
                db: Database = Depends(get_db)) -> dict:
    return _record("norm", code, body, user, db)


@router.get("/dashboard", response_class=HTMLResponse, summary="Programma 5 in cijfers (alle rollen)")
def dashboard(request: Request, user: Principal = Depends(current_user), db: Database = Depends(get_db)) -> HTMLResponse:
    from veilig.web.render import page

    from .. import dashboardview

    today = today_local()
    settings = request.app.state.settings
    ctx = dashboardview.build(db, user.role, today, settings.small_count_threshold)
    burn = dashboardview.burn_down(db, today) if user.role in ("subsidy", "admin") else None
    return page(request, "dashboard.html", user, today=today, burn=burn, show_burn=user.role in ("subsidy", "admin"),
                **ctx)
