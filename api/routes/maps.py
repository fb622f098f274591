"""HTML: the index page and the Folium maps, per role, cached per (map, parameters, role, data version)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from veilig.geo.categories import LABELS_NL
from veilig.storage import Database
from veilig.storage.auth import Principal, audit

from ..cache import data_version
from ..deps import ADMIN, ANALYST, PLANNER, SUBSIDY, current_user, get_db, get_settings, require_roles
from ..mapviews import hotspot_map_html, rhythm_map_html, subsidy_map_html
from ..services import check_period, hotspot_result

router = APIRouter(tags=["kaarten"])

MAP_ROLES = {
    "hotspots": (ANALYST, PLANNER),
    "rhythm": (ANALYST, PLANNER),
    "subsidy": (SUBSIDY, ADMIN),
}
MAP_LABELS = {"hotspots": "Hotspotkaart", "rhythm": "Ritme van de Stad", "subsidy": "Subsidiekaart hang- en sluitwerk"}


def _cached(request: Request, user: Principal, key: tuple, build: Callable[[], str],
            uses_ledger: bool = False) -> Response:
    """Serve from the cache when the data did not change; 304 when the browser already has it.

    Only the subsidy map depends on the ledger, so only its key carries the ledger version: a
    subsidy decision does not throw away the hotspot and rhythm maps.
    """
    cache = request.app.state.map_cache
    db: Database = request.app.state.db
    incidents_version, ledger_version = data_version(db, ledger=uses_ledger)
    full_key = (request.url.path, key, user.role, incidents_version, ledger_version,
                request.app.state.settings.tiles_enabled)
    etag = cache.etag_for(full_key)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache", "Vary": "Cookie, Authorization"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    html = cache.get(etag)
    if html is None:
        html = build()
        cache.put(etag, html)
    from ..security import policy_for_html

    # The header CSP must allow what the page's own <meta> CSP allows (both are enforced).
    headers["Content-Security-Policy"] = policy_for_html(html, None)
    return HTMLResponse(html, headers=headers)


@router.get("/", response_class=HTMLResponse, summary="Startpagina: de kaarten die uw rol mag openen")
def index(request: Request, user: Principal = Depends(current_user), db: Database = Depends(get_db)) -> HTMLResponse:
    from markupsafe import Markup

    from veilig.maps.subsidy import budget_html
    from veilig.storage import ledger_repo
    from veilig.web.render import page

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
            pilot = ledger_repo.get_pilot(db)
            budget = {**ledger_repo.budget(db, pilot.id).model_dump(), "closes_on": pilot.closes_on}
        except Exception:  # no pilot yet: the page says so
            budget = None
    panel = None
    if user.role in (SUBSIDY, ADMIN):
        # budget_html escapes every value it prints; it is markup built by our own code.
        panel = Markup(budget_html(budget).replace(
            "<h2>Budget</h2>", '<h2 id="budget-kop">Budget subsidie hang- en sluitwerk</h2>'))
    return page(request, "index.html", user, links=links, budget_html=panel)


@router.get("/maps/hotspots", response_class=HTMLResponse, summary="Hotspotkaart (analisten met incidentpunten)")
def hotspot_map(
    request: Request,
    category: str = Query("drugs"),
    start: str | None = Query(None, description="DD-MM-JJJJ of JJJJ-MM-DD"),
    end: str | None = Query(None, description="DD-MM-JJJJ of JJJJ-MM-DD"),
    method: str = "dbscan",
    eps: float = 150.0,
    min_samples: int = 5,
    cell: float | None = None,
    user: Principal = Depends(require_roles(*MAP_ROLES["hotspots"])),
    db: Database = Depends(get_db),
) -> Response:
    from fastapi import HTTPException

    from veilig.dates import parse_date
    from veilig.geo.hotspots import HotspotParams
    from veilig.web.mapcontrols import control_bar, with_control_bar

    start_d, end_d = parse_date(start, "start"), parse_date(end, "end")
    check_period(start_d, end_d)
    from .geo import _params

    params = _params(method, eps, min_samples, cell)
    if user.role != ANALYST and params != HotspotParams():
        raise HTTPException(status_code=403, detail="alleen analisten mogen methode, eps, min_samples of cel wijzigen")
    settings = get_settings(request)
    result = hotspot_result(db, category, start_d, end_d, params)  # validates the category first
    if user.role == ANALYST:
        audit(db, user, "read_incident_points", f"/maps/hotspots?category={category}",
              f"{result.n_incidents} points, {start_d}..{end_d}")
    category = category.strip().lower()

    def build() -> str:
        html = hotspot_map_html(db, settings, user.role, category, start_d, end_d, result=result)
        bar = control_bar(category, start_d, end_d, params.validated(), user.role == ANALYST)
        return with_control_bar(html, bar)

    return _cached(request, user, (category, start_d, end_d, params), build)


@router.get("/maps/subsidy", response_class=HTMLResponse, summary="Subsidiekaart: toekenningen naast inbraken")
def subsidy_map(
    request: Request,
    pilot_id: int | None = Query(None, ge=1, le=2**53),
    user: Principal = Depends(require_roles(*MAP_ROLES["subsidy"])),
    db: Database = Depends(get_db),
) -> Response:
    if pilot_id is not None:
        from veilig.storage import ledger_repo

        ledger_repo.get_pilot(db, pilot_id)  # 404 for an unknown pilot
    settings = get_settings(request)
    return _cached(request, user, (pilot_id,), lambda: subsidy_map_html(db, settings, pilot_id), uses_ledger=True)


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
    settings = get_settings(request)
    return _cached(request, user, (theme, week, weekday, shift, pairs, area),
                   lambda: rhythm_map_html(db, settings, user.role, theme, week, weekday, shift, pairs, area))
