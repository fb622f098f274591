"""The subsidy ledger over HTTP: the same operations as ``veilig subsidy``, with Idempotency-Key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Path, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field, StrictInt

from veilig.ledger.schemas import (
    Application,
    ApplicationIn,
    Budget,
    BuurtRow,
    Pilot,
    PilotIn,
    StatusReport,
    TrailEvent,
)
from veilig.ledger.status import Status
from veilig.storage import Database
from veilig.storage import ledger_repo as repo
from veilig.storage.auth import Principal, audit

from ..deps import ADMIN, SUBSIDY, get_db, require_roles

router = APIRouter(prefix="/api/v1/subsidy", tags=["subsidie"])

IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", description="makes a retry harmless")]
# Ids are bounded so that a absurd number is a 422, not an integer overflow in the database.
AppId = Annotated[int, Path(ge=1, le=2**53, description="application id")]
PilotPath = Annotated[int, Path(ge=1, le=2**53, description="pilot id")]
PilotQuery = Annotated[int | None, Query(ge=1, le=2**53, description="default: the open pilot")]
desk = require_roles(SUBSIDY)
desk_or_admin = require_roles(SUBSIDY, ADMIN)


class TopUp(BaseModel):
    # Strict: "100" (a string) is refused, not coerced; money is an integer number of cents.
    amount_cents: StrictInt
    memo: str | None = Field(None, max_length=200)


class Reason(BaseModel):
    reason: str | None = Field(None, max_length=500)


class PayIn(BaseModel):
    iban: str | None = None


@router.post("/pilots", response_model=Pilot, status_code=201, summary="Nieuwe pilot (beheerder)")
def create_pilot(pilot: PilotIn, key: IdemKey = None, user: Principal = Depends(require_roles(ADMIN)),
                 db: Database = Depends(get_db)) -> Pilot:
    return repo.create_pilot(db, pilot, idempotency_key=key)


@router.get("/pilots", response_model=list[Pilot], summary="Alle pilots")
def list_pilots(user: Principal = Depends(desk_or_admin), db: Database = Depends(get_db)) -> list[Pilot]:
    return repo.list_pilots(db)


@router.post("/pilots/{pilot_id}/top-up", response_model=Budget, summary="Budget ophogen (beheerder)")
def top_up(pilot_id: PilotPath, body: TopUp, key: IdemKey = None, user: Principal = Depends(require_roles(ADMIN)),
           db: Database = Depends(get_db)) -> Budget:
    return repo.top_up(db, body.amount_cents, pilot_id=pilot_id, memo=body.memo, idempotency_key=key)


@router.get("/budget", response_model=Budget, summary="Totaal, gereserveerd, uitbetaald, resterend")
def budget(pilot_id: PilotQuery = None, user: Principal = Depends(desk_or_admin),
           db: Database = Depends(get_db)) -> Budget:
    return repo.budget(db, pilot_id)


@router.get("/status", response_model=StatusReport, summary="Stand van de pilot: budget en aanvragen per status")
def status(pilot_id: PilotQuery = None, user: Principal = Depends(desk_or_admin),
           db: Database = Depends(get_db)) -> StatusReport:
    return repo.status_report(db, pilot_id)


@router.get("/buurten", response_model=list[BuurtRow], summary="Toekenningen en euro's per buurt")
def per_buurt(pilot_id: PilotQuery = None, user: Principal = Depends(desk_or_admin),
              db: Database = Depends(get_db)) -> list[BuurtRow]:
    return repo.buurt_report(db, pilot_id)


@router.post("/applications", response_model=Application, status_code=201, summary="Aanvraag registreren")
def apply(application: ApplicationIn, pilot_id: PilotQuery = None, key: IdemKey = None,
          user: Principal = Depends(desk), db: Database = Depends(get_db)) -> Application:
    result = repo.apply(db, application, pilot_id=pilot_id, idempotency_key=key)
    audit(db, user, "subsidy_apply", f"application {result.id}")
    return result


@router.get("/applications", response_model=list[Application], summary="Aanvragen in volgorde van binnenkomst")
def list_applications(pilot_id: PilotQuery = None, status: Status | None = Query(None),
                      user: Principal = Depends(desk), db: Database = Depends(get_db)) -> list[Application]:
    result = repo.list_applications(db, pilot_id, status=status.value if status else None)
    audit(db, user, "subsidy_list_applications", f"pilot {pilot_id or 'open'}", f"{len(result)} applications")
    return result


@router.get("/applications/{application_id}", response_model=Application, summary="Eén aanvraag")
def get_application(application_id: AppId, user: Principal = Depends(desk),
                    db: Database = Depends(get_db)) -> Application:
    result = repo.get_application(db, application_id)
    audit(db, user, "subsidy_read_application", f"application {application_id}")
    return result


@router.get("/applications/{application_id}/trail", response_model=list[TrailEvent], summary="Besluitvorming van een aanvraag")
def trail(application_id: AppId, user: Principal = Depends(desk), db: Database = Depends(get_db)) -> list[TrailEvent]:
    audit(db, user, "subsidy_read_trail", f"application {application_id}")
    return repo.decision_trail(db, application_id)


@router.post("/applications/{application_id}/complete", response_model=Application, summary="Aanvraag aanvullen")
def complete(application_id: AppId, fields: ApplicationIn | None = Body(None), key: IdemKey = None,
             user: Principal = Depends(desk), db: Database = Depends(get_db)) -> Application:
    result = repo.complete(db, application_id, fields, idempotency_key=key)
    audit(db, user, "subsidy_complete", f"application {application_id}")
    return result


@router.post("/applications/{application_id}/approve", response_model=Application, summary="Aanvraag goedkeuren")
def approve(application_id: AppId, key: IdemKey = None, user: Principal = Depends(desk),
            db: Database = Depends(get_db)) -> Application:
    result = repo.approve(db, application_id, idempotency_key=key)
    audit(db, user, "subsidy_approve", f"application {application_id}")
    return result


@router.post("/applications/{application_id}/reject", response_model=Application, summary="Aanvraag afwijzen (met reden)")
def reject(application_id: AppId, body: Reason, key: IdemKey = None, user: Principal = Depends(desk),
           db: Database = Depends(get_db)) -> Application:
    result = repo.reject(db, application_id, body.reason or "", idempotency_key=key)
    audit(db, user, "subsidy_reject", f"application {application_id}")
    return result


@router.post("/applications/{application_id}/withdraw", response_model=Application, summary="Aanvraag intrekken")
def withdraw(application_id: AppId, body: Reason | None = Body(None), key: IdemKey = None,
             user: Principal = Depends(desk), db: Database = Depends(get_db)) -> Application:
    result = repo.withdraw(db, application_id, body.reason if body else None, idempotency_key=key)
    audit(db, user, "subsidy_withdraw", f"application {application_id}")
    return result


@router.post("/applications/{application_id}/pay", response_model=Application, summary="Subsidie uitbetalen")
def pay(application_id: AppId, body: PayIn | None = Body(None), key: IdemKey = None,
        user: Principal = Depends(desk), db: Database = Depends(get_db)) -> Application:
    result = repo.pay(db, application_id, iban=body.iban if body else None, idempotency_key=key)
    audit(db, user, "subsidy_pay", f"application {application_id}")
    return result


@router.get("/export.csv", response_class=PlainTextResponse, summary="CSV voor financiën")
def export(pilot_id: PilotQuery = None, user: Principal = Depends(desk), db: Database = Depends(get_db)) -> PlainTextResponse:
    audit(db, user, "subsidy_export", f"pilot {pilot_id or 'open'}")
    return PlainTextResponse(repo.export_applications_csv(db, pilot_id), media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": 'attachment; filename="subsidie.csv"'})
