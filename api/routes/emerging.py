"""Emerging hot spots (GeoJSON under /api/v1/emerging): analysts in full, planners through the disclosure layer."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from veilig.geo.emerging import EmergingParams
from veilig.geo.spacetime import is_aligned
from veilig.storage import Database
from veilig.storage.auth import Principal

from ..deps import ANALYST, PLANNER, get_db, get_settings, require_roles
from ..emerging_service import default_period, emerging_result, public_tables, series_of

router = APIRouter(prefix="/api/v1", tags=["analyse"])


def emerging_for_role(db: Database, settings, role: str, category: str, start: date | None,
                      end: date | None, params: EmergingParams, with_series: bool = False) -> dict:
    """The FeatureCollection a role may see (shared by the route and the map).

    Non-analysts: the default cell and band only; an aligned period (a quarter or whole calendar
    years, in whole steps; no period means the whole calendar years of the data that have ended),
    so two overlapping periods cannot be differenced; and the disclosure layer's view
    (:func:`veilig.geo.privacy.public_emerging`): perturbed counts, hidden below the threshold,
    no z, p, expectation or total.
    """
    from veilig.dates import today_local
    from veilig.geo.emerging_export import emerging_geojson_bytes
    from veilig.geo.privacy import public_emerging_metadata, public_emerging_period
    from veilig.storage.incidents import incident_span

    from ..emerging_service import public_emerging_result
    from ..services import public_period

    params = params.validated()
    threshold = settings.small_count_threshold
    if role == ANALYST:
        start, end = default_period(db, start, end)
        result = emerging_result(db, category, start, end, params)
        table, bins = result.locations, None
        meta = result.metadata()
    else:
        if (params.cell, params.band) != (EmergingParams.cell, EmergingParams.band):
            raise HTTPException(status_code=403, detail="only analysts may change cell or band")
        # The disclosure layer's aligned periods: refused (400, naming start/end) unless a week,
        # month, quarter or whole years; a week or month has too few steps for a trend.
        period = public_period(db, start, end)
        if period is None:
            raise HTTPException(status_code=400, detail="er zijn nog geen incidenten")
        if (start, end) == (None, None):
            span = incident_span(db)
            period = public_emerging_period(period, span[1] if span else None, today_local())
        if not is_aligned(period.start, period.end, params.step):
            raise HTTPException(status_code=422, detail=(
                f"periode {period.start} t/m {period.end} bestaat niet uit hele stappen ({params.step}); "
                "kies een kwartaal of hele kalenderjaren met stappen die erin passen"))
        result = public_emerging_result(db, settings, category, period, params)
        table, bins = public_tables(result, threshold)
        meta = public_emerging_metadata(result.metadata(), threshold)
    fc = json.loads(emerging_geojson_bytes(result, table, meta))
    fc["metadata"]["steps"] = list(result.steps.labels)
    if with_series:
        s = series_of(result, bins)
        for i, feature in enumerate(fc["features"]):
            props = feature["properties"]
            props["series_counts"] = [None if c != c else int(c) for c in s["counts"][i]]
            props["series_classes"] = s["classes"][i].tolist()
            if "z" in s:
                props["series_z"] = [round(float(z), 3) for z in s["z"][i]]
    return fc


@router.get("/emerging", summary="Opkomende hotspots: patronen per locatie (GeoJSON, WGS84)")
def emerging(
    request: Request,
    category: Annotated[str, Query(description="burglary, drugs or a category")],
    start: date | None = None,
    end: date | None = None,
    step: Annotated[str, Query(description="month, quarter or week")] = "month",
    time_window: Annotated[int, Query(ge=0, le=12)] = 1,
    locations: Annotated[str, Query(description="grid or buurt")] = "grid",
    cell: float = 100.0,
    band: float = 300.0,
    level: float = 0.10,
    series: Annotated[bool, Query(description="add each location's series per step")] = False,
    user: Principal = Depends(require_roles(ANALYST, PLANNER)),
    db: Database = Depends(get_db),
) -> JSONResponse:
    params = EmergingParams(step=step.strip().lower(), time_window=time_window, locations=locations.strip().lower(),
                            cell=cell, band=band, level=level)
    return JSONResponse(emerging_for_role(db, get_settings(request), user.role, category, start, end, params, series))
