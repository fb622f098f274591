"""The admin in the browser (``/beheer``): pilots (set up, top up), users (add, disable, rotate a token;
the token shown once) and the audit log with filters.

Pilots and top-ups go through the ledger's own functions with the form's idempotency key, so a
resubmitted form opens one pilot and tops up once. A new or rotated token is shown once, on the
answer to the POST itself (``Cache-Control: no-store``), and is never stored or logged in clear.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from veilig.dates import DateInputError, parse_date
from veilig.errors import NotFoundError, VeiligError
from veilig.ledger.schemas import PilotIn
from veilig.storage import Database
from veilig.storage import ledger_repo as repo
from veilig.storage.auth import (
    ROLES,
    Principal,
    add_user,
    audit,
    audit_actions,
    list_all_users,
    rotate_token,
    search_audit,
    set_user_active,
)
from veilig.web.desk import clean_form_key, euros_to_cents, message_of, new_form_key
from veilig.web.render import ROLE_LABELS, page

from ..deps import ADMIN, get_db, require_roles

router = APIRouter(prefix="/beheer", tags=["pagina's"], include_in_schema=False)
admin_only = require_roles(ADMIN)
UserId = Annotated[int, Path(ge=1, le=2**53)]
AMSTERDAM = ZoneInfo("Europe/Amsterdam")

PILOT_LABELS = {
    "name": "Naam", "budget": "Budget (euro)", "opens_on": "Opent op", "closes_on": "Sluit op",
    "grant_percentage": "Subsidiepercentage", "max_grant": "Maximale subsidie per adres (euro)",
    "waiting_list": "Wachtlijst", "amount": "Bedrag (euro)", "memo": "Toelichting",
}


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _pilots_page(request: Request, user: Principal, db: Database, *, raw=None, errors=None, general=None,
                 topup_errors=None, done: str | None = None, status_code: int = 200) -> HTMLResponse:
    pilots = repo.list_pilots(db)
    budgets = {}
    for p in pilots:
        budgets[p.id] = repo.budget(db, p.id)
    return page(request, "admin/home.html", user, status_code=status_code, pilots=pilots, budgets=budgets,
                raw=raw or {"grant_percentage": "50", "max_grant": "250,00"}, errors=errors or {},
                general=general or [], topup_errors=topup_errors or {}, labels=PILOT_LABELS,
                form_key=new_form_key(), done=done)


@router.get("", response_class=HTMLResponse)
def home(request: Request, user: Principal = Depends(admin_only), db: Database = Depends(get_db)) -> HTMLResponse:
    done = {"pilot": "De pilot is aangemaakt.", "ophoging": "Het budget is opgehoogd."}.get(
        request.query_params.get("gedaan", ""))
    return _pilots_page(request, user, db, done=done)


_PILOT_RULE_FIELD = {
    "pilot_naam": "name", "bedrag_in_centen": "budget", "bedrag_te_laag": "budget", "bedrag_absurd": "budget",
    "pilot_periode": "closes_on", "subsidiepercentage": "grant_percentage", "maximum_boven_budget": "max_grant",
    "pilots_overlappen": "opens_on",
}


@router.post("/pilots", response_class=HTMLResponse)
async def create_pilot(request: Request, user: Principal = Depends(admin_only),
                       db: Database = Depends(get_db)) -> Response:
    data = await _form(request)
    raw = {k: data.get(k, "") for k in PILOT_LABELS}
    key = clean_form_key(data.get("form_key")) or new_form_key()
    errors: dict[str, str] = {}
    values: dict = {"waiting_list": data.get("waiting_list") == "ja"}
    if not raw["name"].strip():
        errors["name"] = "een pilot heeft een naam nodig"
    values["name"] = raw["name"].strip()
    for field, target in (("budget", "budget_cents"), ("max_grant", "max_grant_cents")):
        try:
            values[target] = euros_to_cents(raw[field])
        except VeiligError as exc:
            errors[field] = message_of(exc)
    for field, what in (("opens_on", "opent op"), ("closes_on", "sluit op")):
        try:
            values[field] = parse_date(raw[field], what)
            if values[field] is None:
                errors[field] = f"{what}: vul een datum in (DD-MM-JJJJ)"
        except DateInputError as exc:
            errors[field] = exc.reason
    pct = raw["grant_percentage"].strip().rstrip("%").strip()
    if pct.isdigit():
        values["grant_percentage"] = int(pct)
    else:
        errors["grant_percentage"] = "subsidiepercentage moet een geheel getal van 1 tot 100 zijn"
    if not errors:
        try:
            repo.create_pilot(db, PilotIn(**values), idempotency_key=key)
        except VeiligError as exc:
            field = _PILOT_RULE_FIELD.get(getattr(exc, "rule", ""))
            if field:
                errors[field] = message_of(exc)
            else:
                return _pilots_page(request, user, db, raw=raw, general=[message_of(exc)], status_code=422)
        else:
            audit(db, user, "pilot_create", values["name"])
            return RedirectResponse("/beheer?gedaan=pilot", status_code=303)
    return _pilots_page(request, user, db, raw=raw, errors=errors, status_code=422)


@router.post("/pilots/{pilot_id}/ophogen", response_class=HTMLResponse)
async def top_up(request: Request, pilot_id: UserId, user: Principal = Depends(admin_only),
                 db: Database = Depends(get_db)) -> Response:
    data = await _form(request)
    key = clean_form_key(data.get("form_key")) or new_form_key()
    repo.get_pilot(db, pilot_id)  # 404 for an unknown pilot
    try:
        amount = euros_to_cents(data.get("amount", ""))
        repo.top_up(db, amount, pilot_id=pilot_id, memo=(data.get("memo") or "").strip() or None,
                    idempotency_key=key)
    except VeiligError as exc:
        return _pilots_page(request, user, db, topup_errors={pilot_id: message_of(exc)}, status_code=422)
    audit(db, user, "pilot_top_up", f"pilot {pilot_id}", f"{amount} cent")
    return RedirectResponse("/beheer?gedaan=ophoging", status_code=303)


# --------------------------------------------------------------------------- users


def _users_page(request: Request, user: Principal, db: Database, *, new_token: tuple[str, str] | None = None,
                raw=None, errors=None, general=None, done=None, status_code: int = 200) -> HTMLResponse:
    response = page(request, "admin/users.html", user, status_code=status_code, users=list_all_users(db),
                    roles=[(r, ROLE_LABELS[r]) for r in ROLES], role_labels=ROLE_LABELS, new_token=new_token,
                    raw=raw or {}, errors=errors or {}, general=general or [], done=done)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/gebruikers", response_class=HTMLResponse)
def users(request: Request, user: Principal = Depends(admin_only), db: Database = Depends(get_db)) -> HTMLResponse:
    done = {"uit": "De gebruiker is uitgeschakeld; lopende sessies zijn beëindigd.",
            "aan": "De gebruiker is weer ingeschakeld."}.get(request.query_params.get("gedaan", ""))
    return _users_page(request, user, db, done=done)


@router.post("/gebruikers", response_class=HTMLResponse)
async def create_user(request: Request, user: Principal = Depends(admin_only),
                      db: Database = Depends(get_db)) -> HTMLResponse:
    data = await _form(request)
    raw = {"name": data.get("name", ""), "role": data.get("role", "")}
    errors = {}
    if not raw["name"].strip():
        errors["name"] = "vul een naam in"
    if raw["role"] not in ROLES:
        errors["role"] = "kies een rol"
    if errors:
        return _users_page(request, user, db, raw=raw, errors=errors, status_code=422)
    try:
        token = add_user(db, raw["name"], raw["role"])
    except VeiligError as exc:
        return _users_page(request, user, db, raw=raw, errors={"name": message_of(exc).removeprefix("naam: ")},
                           status_code=409)
    audit(db, user, "user_add", raw["name"].strip(), raw["role"])
    return _users_page(request, user, db, new_token=(raw["name"].strip(), token), status_code=201)


@router.post("/gebruikers/{user_id}/{what}", response_class=HTMLResponse)
async def change_user(request: Request, user_id: UserId, what: str, user: Principal = Depends(admin_only),
                      db: Database = Depends(get_db)) -> Response:
    target = next((u for u in list_all_users(db) if u.id == user_id), None)
    if target is None:
        raise NotFoundError(f"gebruiker {user_id} bestaat niet")
    if what == "nieuw-token":
        token = rotate_token(db, user_id)
        audit(db, user, "user_rotate_token", target.name)
        return _users_page(request, user, db, new_token=(target.name, token))
    if what not in ("uitschakelen", "inschakelen"):
        raise NotFoundError(f"onbekende handeling '{what}'")
    try:
        set_user_active(db, user_id, what == "inschakelen", by=user)
    except VeiligError as exc:
        return _users_page(request, user, db, general=[message_of(exc)], status_code=409)
    audit(db, user, "user_disable" if what == "uitschakelen" else "user_enable", target.name)
    return RedirectResponse(f"/beheer/gebruikers?gedaan={'uit' if what == 'uitschakelen' else 'aan'}",
                            status_code=303)


# --------------------------------------------------------------------------- audit log


@router.get("/audit", response_class=HTMLResponse)
def audit_log(request: Request, user: Principal = Depends(admin_only), db: Database = Depends(get_db)) -> HTMLResponse:
    q = request.query_params
    raw = {k: (q.get(k) or "").strip() for k in ("gebruiker", "actie", "van", "tot")}
    errors: dict[str, str] = {}
    bounds: dict[str, datetime | None] = {"van": None, "tot": None}
    for key, what in (("van", "vanaf"), ("tot", "tot en met")):
        try:
            day = parse_date(raw[key], what)
        except DateInputError as exc:
            errors[key] = exc.reason
            continue
        if day is not None:
            day = day + timedelta(days=1) if key == "tot" else day
            bounds[key] = datetime.combine(day, time(0), tzinfo=AMSTERDAM).astimezone(UTC)
    try:
        pagina = max(1, min(int(q.get("pagina") or 1), 10**6))
    except ValueError:
        pagina = 1
    per_page = 100
    rows, total = search_audit(db, user_name=raw["gebruiker"] or None, action=raw["actie"] or None,
                               start=bounds["van"], end=bounds["tot"], offset=(pagina - 1) * per_page,
                               limit=per_page)
    pages = max(1, -(-total // per_page))
    return page(request, "admin/audit.html", user, status_code=422 if errors else 200, rows=rows, total=total,
                pagina=pagina, pages=pages, raw=raw, errors=errors, actions=audit_actions(db),
                users=[u.name for u in list_all_users(db)],
                query=urlencode({k: v for k, v in raw.items() if v}))
