"""Neighbourhoods, hotspots, per-buurt statistics and incident upload (JSON under /api/v1)."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import (
    APIRouter,
    Depends,
    HTTPException,
    Query,
    Request,
)
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from veilig.geo.categories import GROUPS
from veilig.geo.hotspots import HotspotParams
from veilig.geo.privacy import DISCLOSURE_NOTE_NL
from veilig.storage import Database
from veilig.storage.auth import Principal

from ..deps import (
    ALL_ROLES,
    ANALYST,
    PLANNER,
    SUBSIDY,
    get_db,
    get_settings,
    require_roles,
)
from ..services import hotspot_result, named_buurten, public_hotspot_result

router = APIRouter(prefix="/api/v1", tags=["analyse"])

BURGLARY = set(GROUPS["burglary"]) | {"burglary"}


def check_category_for_role(user: Principal, category: str) -> None:
    """The subsidy desk sees burglary aggregates only (no drug-crime or other themes)."""
    if user.role == SUBSIDY and category.strip().lower() not in BURGLARY:
        raise HTTPException(status_code=403, detail="de subsidiebalie ziet alleen inbraakcijfers")


class BuurtStats(BaseModel):
    statcode: str
    statnaam: str
    wijkcode: str | None = None
    n_incidents: int | None
    share: float | None = None
    dwellings: float | None = None
    rate_per_1000_dwellings: float | None = None
    n_clusters: int | None = None
    share_in_clusters: float | None = None
    gi_z: float | None = None
    gi_p: float | None = None
    gi_p_fdr: float | None = None
    gi_class: int | None = None
    n_previous: int | None = None
    change: float | None = None
    change_pct: float | None = None
    suppressed: bool = False


class StatsResponse(BaseModel):
    category: str
    start: date | None
    end: date | None
    n_incidents: int | None
    rates_available: bool
    note: str | None
    synthetic: bool
    disclosure: str | None = None
    buurten: list[BuurtStats]


def _clean(value: Any) -> Any:
    import math

    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
        if isinstance(value, float) and math.isnan(value):
            return None
    return value


def _params(method: str, eps: float, min_samples: int, cell: float | None) -> HotspotParams:
    cell = HotspotParams().cell if cell is None else cell  # default cell: the engine's own
    return HotspotParams(method=method.strip().lower(), eps=eps, min_samples=min_samples, cell=cell)


@router.get("/neighbourhoods", summary="De 26 buurten als GeoJSON (WGS84)")
def neighbourhoods(_user: Principal = Depends(require_roles(*ALL_ROLES)), db: Database = Depends(get_db)) -> dict:
    import json

    buurten = named_buurten(db).to_crs(4326)
    return json.loads(buurten.to_json(drop_id=True))


@router.get("/hotspots", summary="Hotspots: clusters, Gi*-rastercellen en buurten (GeoJSON, WGS84)")
def hotspots(
    request: Request,
    category: Annotated[str, Query(description="burglary, drugs or a category")],
    start: date | None = None,
    end: date | None = None,
    method: str = "dbscan",
    eps: float = 150.0,
    min_samples: int = 5,
    cell: float | None = None,
    fmt: Annotated[str, Query(alias="format", pattern="^(json|geojson|gpkg|csv)$",
                              description="json (default), or a download: geojson, gpkg (RD New), csv")] = "json",
    user: Principal = Depends(require_roles(ANALYST, PLANNER)),
    db: Database = Depends(get_db),
) -> Response:
    params = _params(method, eps, min_samples, cell)
    if user.role != ANALYST and params != HotspotParams():
        # A tiny eps with min_samples 1 would turn every incident into its own "cluster".
        raise HTTPException(status_code=403, detail="alleen analisten mogen methode, eps, min_samples of cel wijzigen")
    if user.role == ANALYST:
        shown = hotspot_result(db, category, start, end, params)
        collection = shown.to_geojson()
    else:
        # Non-analysts: an aligned period and the disclosure layer (veilig.geo.privacy).
        shown = public_hotspot_result(db, get_settings(request), category, start, end)
        collection = shown.to_geojson()
        collection.setdefault("metadata", {})["disclosure"] = DISCLOSURE_NOTE_NL
    if fmt == "json":
        return JSONResponse(collection)
    from veilig.maps.base import hidden_label

    label = f"{hidden_label(get_settings(request).small_count_threshold)} (verborgen)"
    return hotspot_download(shown, collection, fmt, category, start, end, hidden=label)


#: Dutch column names of the hotspot CSV (the GeoJSON's property names, which clients rely on, stay).
CSV_COLUMNS_NL = {
    "kind": "soort", "cluster_id": "hotspot", "cell_id": "cel", "statcode": "buurtcode", "statnaam": "buurt",
    "category": "categorie", "n_incidents": "aantal_incidenten", "area_m2": "oppervlakte_m2",
    "buurten": "buurten", "gi_z": "gi_z", "gi_p": "gi_p", "gi_class": "gi_klasse",
}


def hotspot_download(result, collection: dict, fmt: str, category: str, start: date | None,
                     end: date | None, hidden: str = "<5 (verborgen)") -> Response:
    """What the map shows as a file: GeoJSON (WGS84), GeoPackage (RD New) or CSV (one row per feature)."""
    import json

    import pandas as pd

    from veilig.csvout import frame_csv
    from ..exports import write_hotspot_file

    stem = f"hotspots-{category.strip().lower()}" + (f"-{start}" if start else "") + (f"-{end}" if end else "")
    if fmt == "geojson":
        body = json.dumps(collection, ensure_ascii=False).encode()
        media = "application/geo+json"
    elif fmt == "gpkg":
        with tempfile.TemporaryDirectory() as tmp:
            # Styled for QGIS (layer_styles), with Dutch layer descriptions and the attribution.
            path = write_hotspot_file(result, Path(tmp) / "hotspots.gpkg", hidden_label=hidden)
            body = path.read_bytes()
        media = "application/geopackage+sqlite3"
    else:
        rows = []
        for feature in collection.get("features", []):
            props = dict(feature.get("properties") or {})
            props = {k: (", ".join(map(str, v)) if isinstance(v, list) else v) for k, v in props.items()
                     if not isinstance(v, dict)}
            rows.append(props)
        frame = pd.DataFrame(rows)
        ordered = [c for c in CSV_COLUMNS_NL if c in frame.columns] + \
            [c for c in frame.columns if c not in CSV_COLUMNS_NL]
        frame = frame[ordered].rename(columns=CSV_COLUMNS_NL) if len(frame.columns) else frame
        body = frame_csv(frame, delimiter=";").encode()
        media = "text/csv; charset=utf-8"
    ext = {"geojson": "geojson", "gpkg": "gpkg", "csv": "csv"}[fmt]
    return Response(body, media_type=media,
                    headers={"Content-Disposition": f'attachment; filename="{stem}.{ext}"'})


@router.get("/neighbourhoods/stats", response_model=StatsResponse,
            summary="Per buurt: aantallen, aandeel, rate per 1.000 woningen, clusters, Gi*, verandering")
def neighbourhood_stats(
    request: Request,
    category: str,
    start: date | None = None,
    end: date | None = None,
    user: Principal = Depends(require_roles(ANALYST, PLANNER, SUBSIDY)),
    db: Database = Depends(get_db),
) -> StatsResponse:
    check_category_for_role(user, category)
    if user.role == ANALYST:
        result = hotspot_result(db, category, start, end)
    else:
        # Non-analysts: an aligned period, the change against the previous unit, and the
        # disclosure layer (veilig.geo.privacy): perturbed counts, no z/p, no total beside a hidden count.
        result = public_hotspot_result(db, get_settings(request), category, start, end, with_previous=True)
    table = result.buurt_table()
    rows = [BuurtStats(**{k: _clean(v) for k, v in rec.items() if k in BuurtStats.model_fields})
            for rec in table.to_dict("records")]
    rates = bool(table["dwellings"].notna().any()) if "dwellings" in table else False
    return StatsResponse(
        category=result.category, start=result.start, end=result.end,
        n_incidents=result.n_incidents,
        rates_available=rates,
        note=None if rates else "Geen woningaantallen geïmporteerd: alleen aantallen, geen rate per 1.000 woningen.",
        synthetic=result.synthetic, buurten=rows,
        disclosure=None if user.role == ANALYST else DISCLOSURE_NOTE_NL,
    )


# The incident upload lives in .imports (it reads its body itself, after authentication).
