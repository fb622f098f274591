"""The subsidy desk in the browser (``/balie``): intake, list, application page, actions, waiting list,
finance export and the printable beschikking.

Every change goes through the same ledger functions as the JSON API (:mod:`veilig.storage.ledger_repo`)
with the form's own idempotency key (a hidden ``form_key``), so a double click or a resubmitted form
is answered with the first result and reserves once. Every action is a POST behind a confirmation page
(a GET that changes nothing), so it works without JavaScript. A successful POST redirects (303).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from veilig.dates import DateInputError, parse_date, today_local
from veilig.errors import NotFoundError, VeiligError
from veilig.ledger.schemas import ApplicationIn
from veilig.ledger.status import Status, label
from veilig.storage import Database
from veilig.storage import ledger_repo as repo
from veilig.storage.auth import Principal, audit
from veilig.storage.ledger_queries import ApplicationFilter, search_applications, waiting_list
from veilig.web import desk as view
from veilig.web.render import page

from ..deps import SUBSIDY, get_db, require_roles

router = APIRouter(prefix="/balie", tags=["pagina's"], include_in_schema=False)
desk = require_roles(SUBSIDY)
AppId = Annotated[int, Path(ge=1, le=2**53)]


def _today() -> date:
    return today_local()


def _pilot_and_budget(db: Database, pilot_id: int | None = None):
    """The pilot (open, else latest) and its budget; ``(None, None)`` before any pilot exists."""
    try:
        pilot = repo.get_pilot(db, pilot_id)
        return pilot, repo.budget(db, pilot.id)
    except NotFoundError:
        return None, None


def _desk_page(request: Request, template: str, user: Principal, db: Database, status_code: int = 200,
               pilot_id: int | None = None, **ctx) -> HTMLResponse:
    """Every desk page carries the budget meter of the pilot it is about."""
    pilot, budget = _pilot_and_budget(db, pilot_id)
    return page(request, template, user, status_code=status_code, pilot=pilot, budget=budget, **ctx)


def _buurt_options() -> list[tuple[str, str]]:
    names = repo.known_buurten()
    return sorted(((code, f"{name} ({code})") for code, name in names.items()), key=lambda kv: kv[1].lower())


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _to_ledger(fields: dict) -> ApplicationIn:
    return ApplicationIn(**{k: v for k, v in fields.items() if k in ApplicationIn.model_fields})


def _form_page(request: Request, user: Principal, db: Database, form: view.IntakeForm, form_key: str, *,
               app=None, status_code: int = 200) -> HTMLResponse:
    common = dict(form=form, form_key=form_key, labels=view.FIELD_LABELS, buurten=_buurt_options(),
                  object_types=list(view.OBJECT_LABELS.items()),
                  buurt_hint="Staat het adres in de CBS-postcodetabel, dan vult de balie de buurt daaruit in; "
                             "anders kiest u hier de buurt.")
    if app is None:
        return _desk_page(request, "desk/form.html", user, db, status_code=status_code, heading="Nieuwe aanvraag",
                          action="/balie/aanvragen/nieuw", submit="Aanvraag registreren", cancel="/balie", **common)
    return _desk_page(request, "desk/form.html", user, db, status_code=status_code, pilot_id=app.pilot_id,
                      heading=f"Aanvraag {app.id} aanvullen", action=f"/balie/aanvragen/{app.id}/aanvullen",
                      submit="Aanvulling opslaan", cancel=f"/balie/aanvragen/{app.id}",
                      intro="Vul aan wat ontbreekt of verbeter wat niet klopt. Is de aanvraag daarna volledig, "
                            "dan wordt hij direct beslist.", **common)


@router.get("", response_class=HTMLResponse)
def home(request: Request, user: Principal = Depends(desk), db: Database = Depends(get_db)) -> HTMLResponse:
    counts, cents = {}, {}
    try:
        report = repo.status_report(db)
        counts, cents = report.counts, report.grant_cents_by_status
    except NotFoundError:
        pass
    return _desk_page(request, "desk/home.html", user, db, counts=counts, cents=cents)


@router.get("/aanvragen", response_class=HTMLResponse)
def applications(request: Request, user: Principal = Depends(desk), db: Database = Depends(get_db)) -> HTMLResponse:
    q = request.query_params
    raw = {k: (q.get(k) or "").strip() for k in ("status", "buurt", "van", "tot", "zoek")}
    errors: dict[str, str] = {}
    dates: dict[str, date | None] = {}
    for key, what in (("van", "ontvangen vanaf"), ("tot", "ontvangen tot en met")):
        try:
            dates[key] = parse_date(raw[key], what)
        except DateInputError as exc:
            errors[key], dates[key] = exc.reason, None
    status = raw["status"] if raw["status"] in {s.value for s in Status} else None
    buurt = raw["buurt"].upper() if raw["buurt"].upper() in repo.known_buurten() else None
    flt = ApplicationFilter(status=status, buurt=buurt, received_from=dates["van"], received_to=dates["tot"],
                            search=raw["zoek"][:100] or None)
    try:
        pagina = max(1, min(int(q.get("pagina") or 1), 10**6))
    except ValueError:
        pagina = 1
    result = None
    try:
        result = search_applications(db, flt, page=pagina)
        audit(db, user, "subsidy_list_applications", "/balie/aanvragen", f"{len(result.items)} of {result.total}")
    except NotFoundError:
        pass
    query = urlencode({k: v for k, v in raw.items() if v})
    return _desk_page(request, "desk/list.html", user, db, status_code=422 if errors else 200, result=result,
                      f=flt, raw=raw, errors=errors, query=query, buurt_names=repo.known_buurten(),
                      statuses=[(s.value, label(s)) for s in Status], buurten=_buurt_options())


@router.get("/aanvragen/nieuw", response_class=HTMLResponse)
def new_form(request: Request, user: Principal = Depends(desk), db: Database = Depends(get_db)) -> HTMLResponse:
    return _form_page(request, user, db, view.IntakeForm(raw={}), view.new_form_key())


@router.post("/aanvragen/nieuw", response_class=HTMLResponse)
async def new_submit(request: Request, user: Principal = Depends(desk), db: Database = Depends(get_db)) -> Response:
    data = await _form(request)
    key = view.clean_form_key(data.get("form_key")) or view.new_form_key()
    pilot, _budget = _pilot_and_budget(db)
    form = view.read_intake(data, pilot, _today(), repo.known_buurten())
    if form.ok:
        try:
            app = repo.apply(db, _to_ledger(form.fields), idempotency_key=key)
        except VeiligError as exc:
            form.fail(exc)
        else:
            audit(db, user, "subsidy_apply", f"application {app.id}")
            return RedirectResponse(f"/balie/aanvragen/{app.id}?gedaan=nieuw", status_code=303)
    return _form_page(request, user, db, form, key, status_code=422)


_DONE = {
    "nieuw": "De aanvraag is geregistreerd.", "aanvullen": "De aanvulling is opgeslagen.",
    "goedkeuren": "De aanvraag is goedgekeurd.", "afwijzen": "De aanvraag is afgewezen.",
    "intrekken": "De aanvraag is ingetrokken.", "uitbetalen": "De subsidie is uitbetaald.",
}


@router.get("/aanvragen/{application_id}", response_class=HTMLResponse)
def application(request: Request, application_id: AppId, user: Principal = Depends(desk),
                db: Database = Depends(get_db)) -> HTMLResponse:
    app = repo.get_application(db, application_id)
    trail = repo.decision_trail(db, application_id)
    audit(db, user, "subsidy_read_application", f"application {application_id}")
    return _desk_page(request, "desk/detail.html", user, db, pilot_id=app.pilot_id, app=app, trail=trail,
                      actions=view.allowed_actions(app.status), slugs=view.SLUG_OF,
                      action_labels=view.ACTION_LABELS, trail_actions=view.TRAIL_ACTIONS,
                      objects=view.OBJECT_LABELS, buurt_names=repo.known_buurten(),
                      done=_DONE.get(request.query_params.get("gedaan", "")))


_QUESTIONS = {
    "approve": "De factuur en de producten zijn gecontroleerd. Wilt u deze aanvraag goedkeuren?",
    "pay": "Wilt u de gereserveerde subsidie nu uitbetalen?",
    "reject": "Wilt u deze aanvraag afwijzen? Een reservering wordt vrijgegeven.",
    "withdraw": "Trekt de aanvrager de aanvraag in? Een reservering wordt vrijgegeven.",
}


def _action_of(slug: str) -> str:
    action = view.ACTION_SLUGS.get(slug)
    if action is None:
        raise NotFoundError(f"onbekende actie '{slug}'")
    return action


def _confirm_page(request, user, db, app, action, key, raw=None, errors=None, general=None, status_code=200):
    return _desk_page(request, "desk/confirm.html", user, db, status_code=status_code, pilot_id=app.pilot_id,
                      app=app, action=action, slug=view.SLUG_OF[action], action_label=view.ACTION_LABELS[action],
                      question=_QUESTIONS[action], form_key=key, raw=raw or {}, errors=errors or {},
                      general=general or [])


@router.get("/aanvragen/{application_id}/beschikking", response_class=HTMLResponse)
def letter(request: Request, application_id: AppId, user: Principal = Depends(desk),
           db: Database = Depends(get_db)) -> HTMLResponse:
    app = repo.get_application(db, application_id)
    audit(db, user, "subsidy_read_application", f"application {application_id} (beschikking)")
    return _desk_page(request, "desk/letter.html", user, db, pilot_id=app.pilot_id, app=app,
                      objects=view.OBJECT_LABELS, today=_today())


@router.get("/aanvragen/{application_id}/{slug}", response_class=HTMLResponse)
def confirm(request: Request, application_id: AppId, slug: str, user: Principal = Depends(desk),
            db: Database = Depends(get_db)) -> HTMLResponse:
    action = _action_of(slug)
    app = repo.get_application(db, application_id)
    audit(db, user, "subsidy_read_application", f"application {application_id}")
    if action not in view.allowed_actions(app.status):
        return RedirectResponse(f"/balie/aanvragen/{application_id}", status_code=303)
    if action == "complete":
        form = view.IntakeForm(raw=view.application_form_values(app))
        return _form_page(request, user, db, form, view.new_form_key(), app=app)
    return _confirm_page(request, user, db, app, action, view.new_form_key())


@router.post("/aanvragen/{application_id}/{slug}", response_class=HTMLResponse)
async def act(request: Request, application_id: AppId, slug: str, user: Principal = Depends(desk),
              db: Database = Depends(get_db)) -> Response:
    action = _action_of(slug)
    data = await _form(request)
    key = view.clean_form_key(data.get("form_key")) or view.new_form_key()
    app = repo.get_application(db, application_id)
    if action == "complete":
        pilot = repo.get_pilot(db, app.pilot_id)
        form = view.read_intake(data, pilot, _today(), repo.known_buurten())
        if form.ok:
            try:
                repo.complete(db, application_id, _to_ledger(form.fields), idempotency_key=key)
            except VeiligError as exc:
                form.fail(exc)
            else:
                audit(db, user, "subsidy_complete", f"application {application_id}")
                return RedirectResponse(f"/balie/aanvragen/{application_id}?gedaan=aanvullen", status_code=303)
        return _form_page(request, user, db, form, key, app=app, status_code=422)
    raw = {"reason": data.get("reason", ""), "iban": data.get("iban", "")}
    try:
        if action == "approve":
            repo.approve(db, application_id, idempotency_key=key)
        elif action == "pay":
            repo.pay(db, application_id, iban=raw["iban"].strip() or None, idempotency_key=key)
        elif action == "reject":
            repo.reject(db, application_id, raw["reason"], idempotency_key=key)
        else:
            repo.withdraw(db, application_id, raw["reason"] or None, idempotency_key=key)
    except VeiligError as exc:
        rule = getattr(exc, "rule", "")
        field = {"afwijzen_met_reden": "reason"}.get(rule) or ("iban" if rule.startswith("iban") else None)
        errors = {field: view.message_of(exc)} if field else {}
        general = [] if field else [view.message_of(exc)]
        fresh = repo.get_application(db, application_id)
        if action not in view.allowed_actions(fresh.status):
            # Someone else (or an earlier click) already moved it on: show where it stands.
            return RedirectResponse(f"/balie/aanvragen/{application_id}", status_code=303)
        return _confirm_page(request, user, db, fresh, action, key, raw, errors, general, status_code=422)
    audit(db, user, f"subsidy_{action}", f"application {application_id}")
    return RedirectResponse(f"/balie/aanvragen/{application_id}?gedaan={slug}", status_code=303)


@router.get("/wachtlijst", response_class=HTMLResponse)
def queue(request: Request, user: Principal = Depends(desk), db: Database = Depends(get_db)) -> HTMLResponse:
    try:
        items = waiting_list(db)
    except NotFoundError:
        items = []
    audit(db, user, "subsidy_list_applications", "/balie/wachtlijst", f"{len(items)} waiting")
    return _desk_page(request, "desk/waiting.html", user, db, items=items)


@router.get("/export.csv")
def export(user: Principal = Depends(desk), db: Database = Depends(get_db)) -> Response:
    audit(db, user, "subsidy_export", "pilot open (balie)")
    return Response(repo.export_applications_csv(db), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="subsidie-financien.csv"',
                             "Cache-Control": "no-store"})
