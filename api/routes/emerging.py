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


def whole_steps(start: date, end: date, step: str) -> tuple[date, date]:
    """The whole steps inside ``start .. end`` (a partial first or last step dropped)."""
    from veilig.geo.spacetime import time_steps

    steps = time_steps(start, end, step)
    whole = [i for i in range(len(steps)) if i not in steps.partial]
    if not whole:
        return start, end  # no whole step: the alignment check below refuses it clearly
    return steps.starts[whole[0]], steps.ends[whole[-1]]


def emerging_for_role(db: Database, role: str, threshold: int, category: str, start: date | None,
                      end: date | None, params: EmergingParams, with_series: bool = False) -> dict:
    """The FeatureCollection a role may see (shared by the route and the map)."""
    from veilig.geo.emerging_export import emerging_geojson_bytes

    params = params.validated()
    given = (start, end)
    start, end = default_period(db, start, end)
    if role != ANALYST and given == (None, None):
        start, end = whole_steps(start, end, params.step)  # the data's span, cut to whole steps
    if role != ANALYST:
        if (params.cell, params.band) != (EmergingParams.cell, EmergingParams.band):
            raise HTTPException(status_code=403, detail="only analysts may change cell or band")
        if not is_aligned(start, end, params.step):
            # Overlapping periods that differ by a few days would let small counts be differenced out.
            raise HTTPException(status_code=422, detail=(
                f"periode {start} t/m {end} bestaat niet uit hele stappen ({params.step}); "
                "kies een begin en einde op een maand-, kwartaal- of weekgrens"))
    result = emerging_result(db, category, start, end, params)
    meta = result.metadata()
    if role == ANALYST:
        table, bins = result.locations, None
    else:
        table, bins = public_tables(result, threshold)
        meta["n_incidents"] = None  # the total minus visible counts would give hidden ones back
        meta["n_outside"] = None
        meta["suppressed_below"] = threshold
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
    threshold = get_settings(request).small_count_threshold
    return JSONResponse(emerging_for_role(db, user.role, threshold, category, start, end, params, series))
