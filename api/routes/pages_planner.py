"""The planner's *Dienstenplan* page (``/planning``): week, day and shift pickers, the plan as a table of
places, the back-test in one sentence, the CSV and a print view for the briefing.

A plain GET form: every choice is in the address, so a plan can be bookmarked, printed or mailed.
The plan is the same one as ``GET /api/v1/rhythm/plan`` (:func:`veilig.api.routes.rhythm.plan_for`),
with small counts hidden for non-analysts.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from veilig.dates import today_local
from veilig.errors import VeiligError
from veilig.geo import calendar_nl as cal
from veilig.geo.rhythm import THEME_LABELS_NL
from veilig.storage import Database
from veilig.storage.auth import Principal
from veilig.storage.incidents import incident_span
from veilig.web import planner as view
from veilig.web.render import page

from ..deps import ANALYST, PLANNER, get_db, get_settings, require_roles
from .rhythm import plan_for, public_plan

router = APIRouter(prefix="/planning", tags=["pagina's"], include_in_schema=False)
planners = require_roles(ANALYST, PLANNER)
SHIFTS = ("08-16", "16-24", "00-08")


def _choices(request: Request, db: Database) -> tuple[dict, dict[str, str]]:
    """The form's values (typed or default) and a Dutch message per wrong one."""
    q = request.query_params
    errors: dict[str, str] = {}
    theme = (q.get("thema") or "jeugd").strip().lower()
    if theme not in THEME_LABELS_NL:
        errors["thema"] = f"thema '{theme}' bestaat niet"
        theme = "jeugd"
    week = (q.get("week") or "").strip()
    if week:
        try:
            cal.parse_iso_week(week)
        except (VeiligError, ValueError):
            errors["week"] = f"week '{week}' is geen ISO-week; schrijf bijvoorbeeld 2026-W05"
            week = ""
    if not week:
        span = incident_span(db)
        week = cal.iso_week_of((span[1] if span else today_local()) + timedelta(days=1))
    day_text = (q.get("dag") or "").strip()
    weekday = int(day_text) if day_text in {str(i) for i in range(7)} else None
    shift = (q.get("dienst") or "").strip()
    if shift and shift not in SHIFTS:
        errors["dienst"] = f"dienst '{shift}' bestaat niet"
        shift = ""
    pairs_text = (q.get("koppels") or "2").strip()
    pairs = int(pairs_text) if pairs_text.isdigit() and 1 <= int(pairs_text) <= 6 else 2
    if pairs_text and not (pairs_text.isdigit() and 1 <= int(pairs_text) <= 6):
        errors["koppels"] = "kies 1 tot 6 koppels"
    return {"thema": theme, "week": week, "dag": weekday, "dienst": shift, "koppels": pairs}, errors


def _plan(request: Request, db: Database, user: Principal, c: dict):
    result = plan_for(db, c["thema"], c["week"], None, None, c["koppels"])
    if user.role != ANALYST:
        result = public_plan(result, get_settings(request).small_count_threshold)  # the disclosure layer
    return result


def _query(c: dict) -> str:
    return urlencode({k: ("" if v is None else v) for k, v in c.items()})


@router.get("", response_class=HTMLResponse)
def planning(request: Request, user: Principal = Depends(planners), db: Database = Depends(get_db)) -> HTMLResponse:
    c, errors = _choices(request, db)
    plan, problem = None, None
    try:
        plan = _plan(request, db, user, c)
    except VeiligError as exc:
        problem = ("Voor deze week is geen plan te maken: er zijn geen incidenten van dit thema in de weken "
                   "ervoor of in dezelfde weken vorig jaar. Kies een andere week of een ander thema.")
        import logging

        logging.getLogger("veilig").info("plan refused: %s", exc)
    blocks, sentence, period = [], None, None
    if plan is not None:
        blocks = view.blocks(plan.table, c["dag"], c["dienst"])
        d = plan.to_dict()
        sentence = view.backtest_sentence(d["coverage"], d["coverage_note"])
        period = f"{plan.start:%d-%m-%Y} t/m {plan.end:%d-%m-%Y}"
    print_view = request.query_params.get("afdruk") == "1"
    return page(request, "planner/plan.html", user, status_code=422 if errors else 200, c=c, errors=errors,
                themes=list(THEME_LABELS_NL.items()), weekdays=list(enumerate(cal.WEEKDAYS_NL)), shifts=SHIFTS,
                blocks=blocks, sentence=sentence, period=period, problem=problem, query=_query(c),
                print_view=print_view, theme_label=THEME_LABELS_NL[c["thema"]],
                weekday_label=cal.WEEKDAYS_NL[c["dag"]] if c["dag"] is not None else None)


@router.get("/dienstenplan.csv")
def planning_csv(request: Request, user: Principal = Depends(planners), db: Database = Depends(get_db)) -> Response:
    c, _errors = _choices(request, db)
    plan = _plan(request, db, user, c)
    table = plan.table
    if c["dag"] is not None:
        table = table[table["weekday"] == c["dag"]]
    if c["dienst"]:
        table = table[table["shift"] == c["dienst"]]
    name = f"dienstenplan-{c['thema']}-{c['week']}.csv"
    return Response(view.plan_csv(table), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
