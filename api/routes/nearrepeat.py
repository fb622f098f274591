"""Near repeats over HTTP: the Knox table, the alert zones of a date and the outreach list (JSON / CSV)."""

from __future__ import annotations

import json
from datetime import date

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from veilig.geo.nearrepeat import KnoxBands
from veilig.storage import Database
from veilig.storage.auth import Principal, audit

from ..deps import ADMIN, ANALYST, PLANNER, SUBSIDY, get_db, get_settings, require_roles
from ..nearrepeat_service import (
    HTTP_MAX_WORK,
    knox_cell_keys_for,
    nearrepeat_result,
    public_outreach_for,
    today_local,
    window_text,
    zones_for_role,
)
from .geo import BURGLARY

router = APIRouter(prefix="/api/v1/nearrepeat", tags=["near repeats"])


class KnoxRow(BaseModel):
    distance_from_m: float
    distance_to_m: float | None
    days_from: int
    days_to: int | None
    observed: int | None
    expected: float | None
    knox_ratio: float | None
    p_value: float | None
    suppressed: bool = False


class KnoxResponse(BaseModel):
    category: str
    start: date | None
    end: date | None
    n_events: int | None
    n_pairs: int | None
    iterations: int
    seed: int | None
    alpha: float
    spatial_band_m: float
    spatial_bands: int
    temporal_band_days: int
    temporal_bands: int
    nrc_compatible: bool
    intervals: str
    null: str
    summary: str | None
    synthetic: bool
    notes: list[str]
    rows: list[KnoxRow]


@router.get("", response_model=KnoxResponse, summary="Near-repeatcalculator (Knox-toets) op de opgeslagen incidenten")
def knox(
    request: Request,
    category: str = Query("burglary", description="burglary, woninginbraak, inbraak_schuur or a category"),
    start: date | None = None,
    end: date | None = None,
    spatial_band: float = Query(100.0, description="metres"),
    spatial_bands: int = Query(3),
    temporal_band: int = Query(7, description="days"),
    temporal_bands: int = Query(2),
    iterations: int = Query(999),
    seed: int = Query(0, ge=0, le=2**63 - 1),
    nrc_compatible: bool = False,
    user: Principal = Depends(require_roles(ANALYST, PLANNER)),
    db: Database = Depends(get_db),
) -> JSONResponse:
    bands = KnoxBands(spatial_band, spatial_bands, temporal_band, temporal_bands, nrc_compatible)
    if user.role != ANALYST and (bands != KnoxBands() or iterations != 999 or seed != 0):
        # Narrow bands or many reruns would let a planner difference small cells out.
        raise HTTPException(status_code=403, detail="alleen analisten mogen banden, iteraties of seed wijzigen")
    if user.role != ANALYST:
        # The disclosure layer's aligned periods (a week, month, quarter or whole years): two
        # overlapping periods differenced would give a hidden cell back.
        from ..services import public_period

        period = public_period(db, start, end)
        if period is not None:
            start, end = period.start, period.end
    result, synthetic = nearrepeat_result(db, category, start, end, bands, iterations, seed, HTTP_MAX_WORK)
    payload = result.to_dict()
    payload.update(category=category.strip().lower(), start=start, end=end, synthetic=synthetic)
    if user.role != ANALYST:
        # The disclosure layer: pair counts perturbed by their cell keys and hidden below the
        # threshold, and nothing that gives a hidden one back (veilig.geo.privacy.public_knox).
        from veilig.geo.privacy import public_knox

        from ..services import disclosure_secret

        settings = get_settings(request)
        keys = knox_cell_keys_for(db, category, start, end, bands, disclosure_secret(settings), result.observed)
        payload = public_knox(result, keys, settings.small_count_threshold)
        payload.update(category=category.strip().lower(), start=start, end=end, synthetic=synthetic)
    return JSONResponse(json.loads(KnoxResponse(**payload).model_dump_json()))


def _zones_payload(request: Request, user: Principal, db: Database, on: date) -> tuple[dict, object, object]:
    shown, window = zones_for_role(db, get_settings(request), user.role, on)
    zones = shown
    if user.role == ANALYST:
        audit(db, user, "read_nearrepeat_zones", f"/api/v1/nearrepeat/zones?date={on}", f"{len(zones)} zones")
    gj = shown.assign(
        buurten=[list(b) for b in shown["buurten"]],
        burglary_date=[d.isoformat() for d in shown["burglary_date"]],
        expires_on=[d.isoformat() for d in shown["expires_on"]],
        kind="zone" if user.role == ANALYST else "zone_cells",
    )
    gj = gj.to_crs(4326) if len(gj) else gj.set_crs(4326, allow_override=True)
    collection = json.loads(gj.to_json(drop_id=True))
    for f in collection["features"]:
        props = f["properties"]
        props.pop("suppressed", None) if user.role == ANALYST else None
    collection["metadata"] = {
        "date": on.isoformat(), "radius_m": window.radius_m, "days": window.days, "window_source": window.source,
        "window": window_text(window), "n_zones": len(zones),
        "drawn_as": "cirkels rond de inbraken" if user.role == ANALYST else "100 m-rastercellen",
    }
    return collection, zones, window


@router.get("/zones", summary="Inbraakalert: actieve zones op een datum (GeoJSON, WGS84)")
def zones(
    request: Request,
    on: date | None = Query(None, alias="date", description="default: today"),
    user: Principal = Depends(require_roles(ANALYST, PLANNER, SUBSIDY)),
    db: Database = Depends(get_db),
) -> JSONResponse:
    collection, _, _ = _zones_payload(request, user, db, on or today_local())
    return JSONResponse(collection)


class OutreachRow(BaseModel):
    zone_id: str
    expires_on: date
    postcode: str
    level: str
    buurten: str
    grants_reserved: int | None
    reserved_cents: int | None
    grants_paid: int | None
    paid_cents: int | None


class OutreachResponse(BaseModel):
    date: date
    window: str
    note: str
    rows: list[OutreachRow]




@router.get("/outreach", response_model=OutreachResponse,
            summary="Inbraakalert: postcodes per actieve zone en de subsidies daar (voor een buurtbrief)")
def outreach_json(
    request: Request,
    on: date | None = Query(None, alias="date"),
    _user: Principal = Depends(require_roles(SUBSIDY, ADMIN)),
    db: Database = Depends(get_db),
) -> OutreachResponse:
    on = on or today_local()
    # Through the disclosure layer (veilig.geo.privacy.public_outreach): perturbed, hidden below 5.
    table, note, window = public_outreach_for(db, get_settings(request), on)
    return OutreachResponse(date=on, window=window_text(window), note=note,
                            rows=[OutreachRow(**r) for r in table.to_dict("records")])


@router.get("/outreach.csv", summary="Inbraakalert: de postcodelijst als CSV")
def outreach_csv(
    request: Request,
    on: date | None = Query(None, alias="date"),
    _user: Principal = Depends(require_roles(SUBSIDY, ADMIN)),
    db: Database = Depends(get_db),
) -> Response:
    from veilig.csvout import frame_csv

    on = on or today_local()
    table, _, _ = public_outreach_for(db, get_settings(request), on)
    return Response(frame_csv(table), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="inbraakalert_{on:%Y%m%d}.csv"'})


def is_burglary(category: str) -> bool:
    return category.strip().lower() in BURGLARY
