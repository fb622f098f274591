"""Ritme van de Stad over HTTP: the weekday x hour rhythm per theme, and the shift plan."""

from __future__ import annotations

from datetime import date, timedelta

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from veilig.dates import today_local
from veilig.geo.privacy import (
    DISCLOSURE_NOTE_NL,
    coarsen_shapes,
    public_plan,
    public_rhythm,
    with_record_keys,
)
from veilig.geo.rhythm import rhythm as compute_rhythm
from veilig.geo.rhythm import theme_categories
from veilig.geo.shiftplan import ShiftPlan, shift_plan
from veilig.storage import Database
from veilig.storage.auth import Principal
from veilig.storage.incidents import incident_span, load_incidents

from ..deps import ANALYST, PLANNER, get_db, get_settings, require_roles
from ..services import check_period, disclosure_secret, hotspot_result, named_buurten, public_period

router = APIRouter(prefix="/api/v1/rhythm", tags=["ritme van de stad"])
planners = require_roles(ANALYST, PLANNER)

#: Theme -> the hotspot category (group) whose clusters become plan areas.
_HOTSPOT_CATEGORY = {"inbraak": "burglary", "ondermijning": "drugs"}


def _hotspot_category(theme: str, categories: tuple[str, ...]) -> str:
    if theme in _HOTSPOT_CATEGORY:
        return _HOTSPOT_CATEGORY[theme]
    return categories[0]


def plan_for(db: Database, theme: str, week: str | None, start: date | None, end: date | None,
             pairs: int, day: date | None = None, incidents=None) -> ShiftPlan:
    """The shift plan, with the hotspot polygons of the year before its back-test period as extra areas."""
    theme = theme.strip().lower()
    categories = theme_categories(theme)
    if day is not None:
        start, end = day, day
    span = incident_span(db)
    if incidents is None:
        incidents = load_incidents(db, categories=categories)
    hotspots = None
    if span is not None:
        plan_start = start
        if plan_start is None and week:
            from veilig.geo.shiftplan import plan_period

            plan_start = plan_period(week, None, None).start
        if plan_start is not None:
            # The areas come from data that end before the back-test period (the previous period
            # of the plan's length), so the back-test does not score polygons drawn around the
            # very incidents it counts.
            plan_days = 7 if (week and start is None) else ((end - start).days + 1 if start and end else 1)
            last = min(plan_start - timedelta(days=plan_days + 1), span[1])
            first = max(last - timedelta(days=364), span[0])
            if first <= last:
                result = hotspot_result(db, _hotspot_category(theme, categories), first, last)
                if len(result.clusters):
                    # Snapped like the hotspot map's outlines (veilig.geo.privacy): the plan areas
                    # reach planners' maps, and circle fits to the buffer arcs would give
                    # incident locations back. The buurten cut by them inherit the snapped edges.
                    hotspots = coarsen_shapes(result.clusters)
    buurten = named_buurten(db)
    if hotspots is not None:
        from veilig.geo.placenames import place_names

        # Planners know buurten, not cluster numbers: name each area by where it lies.
        hotspots = hotspots.copy()
        hotspots["place_name"] = place_names(hotspots, buurten)
    return shift_plan(incidents, theme, week=week, start=start, end=end, pairs=pairs, hotspots=hotspots,
                      buurten=buurten,
                      hotspot_id_column="cluster_id",
                      hotspot_name_column="place_name" if hotspots is not None else None,
                      data_start=span[0] if span else None, data_end=span[1] if span else None)


@router.get("", summary="Weekdag x uur-ritme van een thema (lokale tijd Europe/Amsterdam)")
def rhythm(
    request: Request,
    theme: str,
    start: date | None = None,
    end: date | None = None,
    buurt: str | None = None,
    user: Principal = Depends(planners),
    db: Database = Depends(get_db),
) -> JSONResponse:
    check_period(start, end)
    categories = theme_categories(theme.strip().lower())
    settings = get_settings(request)
    if user.role != ANALYST:
        # An aligned period and the disclosure layer (veilig.geo.privacy).
        period = public_period(db, start, end)
        if period is not None:
            start, end = period.start, period.end
    incidents = load_incidents(db, categories=categories, start=start, end=end)
    if start is None or end is None:
        span = incident_span(db)
        if span is not None:
            start, end = start or span[0], end or span[1]
    if user.role == ANALYST:
        return JSONResponse(compute_rhythm(incidents, theme.strip().lower(), start, end, buurt).to_dict())
    incidents = with_record_keys(incidents, disclosure_secret(settings))
    result = public_rhythm(compute_rhythm(incidents, theme.strip().lower(), start, end, buurt),
                           settings.small_count_threshold)
    return JSONResponse({**result.to_dict(), "disclosure": DISCLOSURE_NOTE_NL})


@router.get("/plan", summary="Dienstenplan: welke gebieden per dienst, met terugblik (trefkans, PAI)")
def plan(
    request: Request,
    theme: str,
    week: str | None = None,
    start: date | None = None,
    end: date | None = None,
    day: date | None = Query(None, alias="date", description="plan one day"),
    pairs: int = 2,
    user: Principal = Depends(planners),
    db: Database = Depends(get_db),
) -> Response:
    check_period(start, end)
    check_period(day, day)
    if user.role != ANALYST and (start is not None or end is not None):
        public_period(db, start, end)  # whole weeks, months, quarters or years only (400 otherwise)
    result = plan_for(db, theme, week, start, end, pairs, day)
    if user.role != ANALYST:
        result = public_plan(result, get_settings(request).small_count_threshold)
    if "text/csv" in request.headers.get("accept", ""):
        from veilig.web.planner import plan_csv

        return Response(plan_csv(result.table, drop_no_priority=False), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="dienstenplan.csv"'})
    return JSONResponse(result.to_dict())


def rhythm_map_inputs(db: Database, role: str, settings, theme: str, week: str | None, weekday: int,
                      shift: str | None, pairs: int, area: str | None) -> dict:
    """What the rhythm map shows: the ranked areas of one weekday and shift, and one area's rhythm."""

    from veilig.geo import calendar_nl as cal
    from veilig.geo.rhythm import THEME_LABELS_NL
    from veilig.geo.shiftplan import area_rhythm

    theme = theme.strip().lower()
    categories = theme_categories(theme)
    span = incident_span(db)
    incidents = load_incidents(db, categories=categories)
    if role != ANALYST:
        incidents = with_record_keys(incidents, disclosure_secret(settings))
    if week is None:
        last = span[1] if span else today_local()
        week = cal.iso_week_of(last + timedelta(days=1))
    plan = plan_for(db, theme, week, None, None, pairs, incidents=incidents)
    if role != ANALYST:
        plan = public_plan(plan, settings.small_count_threshold)
    table = plan.table
    shift_name = shift or (plan.shifts[1].name if len(plan.shifts) > 1 else plan.shifts[0].name)
    shift_names = [s.name for s in plan.shifts]
    if shift_name not in shift_names:
        from veilig.errors import VeiligError

        raise VeiligError(f"shift: '{shift_name}' is not one of {', '.join(shift_names)}")
    rows = table[(table["weekday"] == weekday) & (table["shift"] == shift_name)]
    ranked = rows[["area_id", "expected"]].reset_index(drop=True)
    ranked["rank"] = range(1, len(ranked) + 1)
    areas = plan.areas.merge(ranked, on="area_id", how="left")
    selected = area or (ranked["area_id"].iloc[0] if len(ranked) else None)
    counts = [[None] * 24 for _ in range(7)]
    selected_name = "-"
    peaks: list = []
    if selected is not None:
        if selected not in set(plan.areas["area_id"]):
            from veilig.errors import NotFoundError

            raise NotFoundError(f"area: '{selected}' is not one of the plan's areas")
        first, last = (span[0], span[1]) if span else (None, None)
        if role != ANALYST and span:
            whole_years = public_period(db, None, None)  # an aligned period: the data's whole years
            first, last = whole_years.start, whole_years.end
        result = area_rhythm(incidents, theme, selected, plan.areas, first, last)
        if role != ANALYST:
            result = public_rhythm(result, settings.small_count_threshold)
        counts = result.counts
        peaks = [(p.weekday, p.hour) for p in result.peaks]
        names = plan.areas.set_index("area_id")
        selected_name = str(names.loc[selected, "area_name"]) if "area_name" in names else str(selected)
    return {
        "areas": areas,
        "selected_counts": counts,
        "peaks": peaks,
        "theme_label": THEME_LABELS_NL.get(theme, theme),
        "weekday_label": cal.WEEKDAYS_NL[weekday],
        "shift_label": shift_name,
        "selected_name": selected_name,
        "selected_id": selected,
        "weekday": weekday,
        "shift_hours": next(s.clock_hours for s in plan.shifts if s.name == shift_name),
        "period_label": f"week {week}" + ("" if role == ANALYST else " (aantallen afgerond/verstoord)"),
        "synthetic": bool((incidents["source"] == "demo").any()),
    }
