"""HTML: the index page and the Folium maps, per role, cached per (map, parameters, role, data version)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from veilig.geo.categories import LABELS_NL
from veilig.geo.privacy import hide_small_counts
from veilig.settings import Settings
from veilig.storage import Database
from veilig.storage.auth import Principal, audit

from ..cache import data_version
from ..deps import ADMIN, ALL_ROLES, ANALYST, PLANNER, SUBSIDY, current_user, get_db, get_settings, require_roles
from ..services import check_period, hotspot_result, named_buurten

router = APIRouter(tags=["kaarten"])

MAP_ROLES = {
    "hotspots": (ANALYST, PLANNER),
    "rhythm": (ANALYST, PLANNER),
    "subsidy": (SUBSIDY, ADMIN),
}
MAP_LABELS = {"hotspots": "Hotspotkaart", "rhythm": "Ritme van de Stad", "subsidy": "Subsidiekaart hang- en sluitwerk"}


def tile_options(settings: Settings):
    from veilig.maps.base import TileOptions

    if not settings.tiles_enabled:
        return None
    return TileOptions(url=settings.tile_url, variant=settings.tile_variant)


def _cached(request: Request, user: Principal, key: tuple, build: Callable[[], str]) -> Response:
    """Serve from the cache when the data did not change; 304 when the browser already has it."""
    cache = request.app.state.map_cache
    db: Database = request.app.state.db
    full_key = (request.url.path, key, user.role, data_version(db), request.app.state.settings.tiles_enabled)
    etag = cache.etag_for(full_key)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Cookie, Authorization"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    html = cache.get(etag)
    if html is None:
        html = build()
        cache.put(etag, html)
    return HTMLResponse(html, headers=headers)


def _period_label(start: date | None, end: date | None) -> str:
    if start and end:
        return f"{start:%d-%m-%Y} t/m {end:%d-%m-%Y}"
    if start:
        return f"vanaf {start:%d-%m-%Y}"
    if end:
        return f"t/m {end:%d-%m-%Y}"
    return "alle beschikbare data"


@router.get("/", response_class=HTMLResponse, summary="Startpagina: de kaarten die uw rol mag openen")
def index(request: Request, user: Principal = Depends(current_user), db: Database = Depends(get_db)) -> HTMLResponse:
    from veilig.maps.pages import index_page
    from veilig.storage import ledger_repo

    links = [(MAP_LABELS[name] + (f" ({LABELS_NL.get(cat, cat)})" if cat else ""), href)
             for name, cat, href in (
                 ("hotspots", "drugs", "/maps/hotspots?category=drugs"),
                 ("hotspots", "burglary", "/maps/hotspots?category=burglary"),
                 ("rhythm", None, "/maps/rhythm?theme=jeugd"),
                 ("subsidy", None, "/maps/subsidy"))
             if user.role in MAP_ROLES[name]]
    budget = None
    if user.role in (SUBSIDY, ADMIN):
        try:
            budget = ledger_repo.budget(db).model_dump()
        except Exception:  # no pilot yet: the page says so
            budget = None
    return HTMLResponse(index_page(user.name, user.role, links, budget))


@router.get("/maps/hotspots", response_class=HTMLResponse, summary="Hotspotkaart (analisten met incidentpunten)")
def hotspot_map(
    request: Request,
    category: str = Query("drugs"),
    start: date | None = None,
    end: date | None = None,
    user: Principal = Depends(require_roles(*MAP_ROLES["hotspots"])),
    db: Database = Depends(get_db),
) -> Response:
    from veilig.maps.hotspots import build_hotspot_map

    check_period(start, end)
    settings = get_settings(request)
    result = hotspot_result(db, category, start, end)  # validates the category first

    def build() -> str:
        buurten = result.buurten.rename(columns={"rate_per_1000_dwellings": "rate_per_1000"})
        points = None
        if user.role == ANALYST:
            points = result.points.merge(
                _point_details(db, result), on="id", how="left") if len(result.points) else result.points
        else:
            buurten = hide_small_counts(result.buurten, settings.small_count_threshold).rename(
                columns={"rate_per_1000_dwellings": "rate_per_1000"})
        label = LABELS_NL.get(result.category, result.category)
        return build_hotspot_map(
            buurten, result.clusters, result.grid, points,
            title=f"Hotspots {label}", category_label=label,
            period_label=_period_label(result.start, result.end),
            tiles=tile_options(settings), synthetic=result.synthetic,
            hide_below=None if user.role == ANALYST else settings.small_count_threshold)

    if user.role == ANALYST:
        audit(db, user, "read_incident_points", f"/maps/hotspots?category={category}",
              f"{result.n_incidents} points, {start}..{end}")
    return _cached(request, user, (category.strip().lower(), start, end), build)


def _point_details(db: Database, result):
    """Category and time of each analysed point (no description: free text never goes into a map)."""
    import pandas as pd

    from veilig.storage.incidents import load_incidents

    incidents = load_incidents(db, categories=result.categories, start=result.start, end=result.end)
    return pd.DataFrame({"id": incidents["id"], "category": incidents["category"],
                         "occurred_at": incidents["occurred_at"]})


@router.get("/maps/subsidy", response_class=HTMLResponse, summary="Subsidiekaart: toekenningen naast inbraken")
def subsidy_map(
    request: Request,
    pilot_id: int | None = None,
    user: Principal = Depends(require_roles(*MAP_ROLES["subsidy"])),
    db: Database = Depends(get_db),
) -> Response:
    from veilig.maps.subsidy import build_subsidy_map
    from veilig.storage import ledger_repo

    settings = get_settings(request)

    def build() -> str:
        import pandas as pd

        budget = ledger_repo.budget(db, pilot_id)
        pilot = ledger_repo.get_pilot(db, pilot_id)
        rows = pd.DataFrame([r.model_dump() for r in ledger_repo.buurt_report(db, pilot_id)])
        burglary = hotspot_result(db, "burglary", pilot.opens_on, min(pilot.closes_on, date.today()))
        table = hide_small_counts(burglary.buurt_table(), settings.small_count_threshold)
        buurten = named_buurten(db).merge(
            table[["statcode", "n_incidents", "rate_per_1000_dwellings"]], on="statcode", how="left")
        if len(rows):
            rows = rows.rename(columns={"buurt": "statcode"})
            buurten = buurten.merge(rows[["statcode", "applications", "grants", "reserved_cents", "paid_cents"]],
                                    on="statcode", how="left")
        for col in ("applications", "grants", "reserved_cents", "paid_cents"):
            if col not in buurten:
                buurten[col] = 0
            buurten[col] = buurten[col].fillna(0).astype(int)
        buurten["granted_cents"] = buurten["reserved_cents"] + buurten["paid_cents"]
        buurten = buurten.rename(columns={"n_incidents": "burglaries", "rate_per_1000_dwellings": "burglary_rate"})
        return build_subsidy_map(buurten, budget.model_dump(), tiles=tile_options(settings),
                                 title=f"Subsidie hang- en sluitwerk: {pilot.name}",
                                 hide_below=settings.small_count_threshold)

    return _cached(request, user, (pilot_id,), build)


@router.get("/maps/rhythm", response_class=HTMLResponse, summary="Ritme van de Stad: gebieden per dienst")
def rhythm_map(
    request: Request,
    theme: str = "jeugd",
    week: str | None = None,
    weekday: int = Query(4, ge=0, le=6, description="0 = maandag"),
    shift: str | None = Query(None, description="e.g. 16-24"),
    pairs: int = 3,
    area: str | None = None,
    user: Principal = Depends(require_roles(*MAP_ROLES["rhythm"])),
    db: Database = Depends(get_db),
) -> Response:
    from veilig.maps.rhythm import build_rhythm_map

    from .rhythm import rhythm_map_inputs

    settings = get_settings(request)
    inputs = rhythm_map_inputs(db, user, settings, theme, week, weekday, shift, pairs, area)
    return _cached(request, user, (theme, week, weekday, shift, pairs, area),
                   lambda: build_rhythm_map(**inputs, tiles=tile_options(settings),
                                            hide_below=None if user.role == ANALYST else settings.small_count_threshold))
