"""The pages' pure parts and their storage, without a browser: the date parser, the intake form's
messages per field, place names of plan areas, the plan's rows, error pages for browsers and JSON
for API clients, user administration and the desk's searches (SQLite and PostgreSQL)."""

from __future__ import annotations

from veilig.dates import today_local
from datetime import date, timedelta

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from hypothesis import given
from hypothesis import strategies as st

from helpers import run_cli
from veilig.dates import DateInputError, format_date_nl, parse_date
from veilig.errors import ConflictError
from veilig.ledger.schemas import ApplicationIn, PilotIn
from veilig.storage import ledger_repo as L
from veilig.storage.auth import (
    Principal,
    add_user,
    list_all_users,
    rotate_token,
    search_audit,
    set_user_active,
    user_for_token,
    audit,
)
from veilig.storage.ledger_queries import ApplicationFilter, search_applications, waiting_list
from veilig.web import desk as view
from veilig.web import planner as plan_view

TODAY = today_local()


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("text", ["2026-03-31", "31-03-2026", "31/03/2026", "31.03.2026", "31-3-2026"])
def test_dates_are_read_iso_or_dutch_day_first(text):
    assert parse_date(text, "datum") == date(2026, 3, 31)


@pytest.mark.parametrize("text, words", [
    ("2025-13-01", "maand 13 bestaat niet"), ("31-02-2026", "dag 31 bestaat niet"), ("1-1-26", "geen datum"),
    ("morgen", "geen datum"), ("2026/03/31", "geen datum"), ("01-01-1850", "buiten 1900-2200"),
])
def test_a_date_that_is_no_date_is_refused_in_dutch_naming_the_field(text, words):
    with pytest.raises(DateInputError) as info:
        parse_date(text, "--start")
    assert str(info.value).startswith("--start: ") and words in str(info.value)
    assert info.value.status_code == 422


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)))
def test_a_dutch_date_reads_back_as_itself(day):
    assert parse_date(format_date_nl(day)) == day
    assert parse_date(day.isoformat()) == day


def test_the_cli_calls_month_13_an_input_error_not_an_internal_error(tmp_path):
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp_path / 'c.db'}", "VEILIG_DATA_DIR": str(tmp_path)}
    proc = run_cli("hotspots", "--category", "burglary", "--start", "2025-13-01", env=env)
    assert proc.returncode == 2
    assert "maand 13 bestaat niet" in proc.stderr and "interne fout" not in proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- the intake form


def _pilot(**kw) -> PilotIn:
    return PilotIn(name="Pilot", budget_cents=kw.pop("budget_cents", 100_000),
                   opens_on=TODAY - timedelta(days=30), closes_on=TODAY + timedelta(days=300), **kw)


def _pilot_model():
    from datetime import datetime, UTC

    from veilig.ledger.schemas import Pilot

    return Pilot(**_pilot().model_dump(), id=1, created_at=datetime.now(UTC))


@pytest.mark.parametrize("typed, cents", [("412,50", 41250), ("412.50", 41250), ("412", 41200),
                                          ("€ 1.234,56", 123456), (" 7,5 ", 750)])
def test_a_euro_field_reads_euros(typed, cents):
    assert view.euros_to_cents(typed) == cents


def test_every_wrong_field_gets_its_own_dutch_message():
    form = view.read_intake({
        "applicant_name": "A. Aanvrager", "postcode": "9999 ZZ", "house_number": "twaalf",
        "invoice_amount": "veel", "invoice_date": "2025-13-01", "products": "gewoon slot",
        "iban": "NL00ABNA0000000000", "buurt": "BU99999999", "object_type": "kasteel",
    }, _pilot_model(), TODAY, L.known_buurten())
    assert not form.ok
    assert set(form.errors) == {"postcode", "house_number", "invoice_amount", "invoice_date", "products", "iban",
                                "buurt", "object_type"}
    assert "buiten het gebied" in form.errors["postcode"]
    assert "maand 13" in form.errors["invoice_date"]
    assert "SKG" in form.errors["products"]
    assert all("[regel:" not in m for m in form.errors.values())


def test_a_good_form_gives_the_ledger_its_fields():
    form = view.read_intake({
        "applicant_name": "A. Aanvrager", "postcode": "2711ab", "house_number": "12",
        "invoice_amount": "412,50", "invoice_date": (TODAY - timedelta(days=1)).strftime("%d-%m-%Y"),
        "products": "SKG** slot, PKVW scharnier\nSKG*** cilinder", "iban": "NL91 ABNA 0417 1643 00",
        "buurt": "BU06370002", "object_type": "woning",
    }, _pilot_model(), TODAY, L.known_buurten())
    assert form.ok, form.errors
    assert form.fields["invoice_amount_cents"] == 41250
    assert form.fields["products"] == ["SKG** slot", "PKVW scharnier", "SKG*** cilinder"]
    ApplicationIn(**{k: v for k, v in form.fields.items()})  # the API's own model takes them as they are


def test_the_status_machine_decides_which_actions_a_page_offers():
    assert view.allowed_actions("received") == ["complete", "reject", "withdraw"]
    assert view.allowed_actions("reserved") == ["approve", "reject", "withdraw"]
    assert view.allowed_actions("approved") == ["pay", "reject", "withdraw"]
    assert view.allowed_actions("paid") == []


# --------------------------------------------------------------------------- place names and the plan


def _square(x, y, r):
    return shapely.box(x - r, y - r, x + r, y + r)


def test_plan_areas_are_named_by_their_buurt_and_where_in_it():
    from veilig.geo.placenames import place_names

    buurten = gpd.GeoDataFrame({"statnaam": ["Centrum", "Palenstein"]},
                               geometry=[_square(0, 0, 1000), _square(2000, 0, 1000)], crs=28992)
    areas = gpd.GeoDataFrame(geometry=[_square(700, 700, 100), _square(0, 0, 100), _square(0, 0, 90),
                                       _square(1000, -600, 150), _square(-700, 0, 100)], crs=28992)
    names = place_names(areas, buurten)
    assert names[0] == "Centrum — noordoostelijk deel"
    assert names[1] == "Centrum — midden"
    assert names[2] == "Centrum — midden (2)"  # never two areas with one name
    assert names[3].startswith("Centrum — zuidoostelijk deel, deels Palenstein") or \
        names[3].startswith("Palenstein — zuidwestelijk deel, deels Centrum")
    assert names[4] == "Centrum — westelijk deel"


def test_a_shift_without_expected_incidents_has_no_priority_area():
    table = pd.DataFrame([
        {"date": "2026-03-06", "weekday": 4, "weekday_label": "vrijdag", "shift": "16-24", "pair": 1,
         "area_name": "Centrum — midden", "area_kind": "hotspot", "statcode": "BU1", "expected": 1.234,
         "calendar": "", "shift_start": "", "shift_end": "", "hours": 8.0, "area_id": "hotspot-1"},
        {"date": "2026-03-06", "weekday": 4, "weekday_label": "vrijdag", "shift": "16-24", "pair": 2,
         "area_name": "Palenstein", "area_kind": "buurt", "statcode": "BU2", "expected": 0.001,
         "calendar": "", "shift_start": "", "shift_end": "", "hours": 8.0, "area_id": "BU2"},
        {"date": "2026-03-06", "weekday": 4, "weekday_label": "vrijdag", "shift": "00-08", "pair": 1,
         "area_name": "Seghwaert", "area_kind": "buurt", "statcode": "BU3", "expected": 0.0,
         "calendar": "", "shift_start": "", "shift_end": "", "hours": 8.0, "area_id": "BU3"},
    ])
    blocks = plan_view.blocks(table, 4, None)
    assert [(b.shift, [r["area_name"] for r in b.rows]) for b in blocks] == [("16-24", ["Centrum — midden"]), ("00-08", [])]
    assert blocks[0].rows[0]["expected"] == "1,23"
    csv = plan_view.plan_csv(table)
    assert csv.splitlines()[0].startswith("datum;weekdag;dienst;begin;einde;uren;koppel;gebied")
    assert len(csv.splitlines()) == 2 and ";1,234;" in csv


def test_the_backtest_sentence_explains_trefkans_and_pai():
    s = plan_view.backtest_sentence({"start": "2026-02-23", "end": "2026-03-01", "n_incidents": 40, "n_captured": 10,
                                     "hit_rate": 0.25, "area_share": 0.05, "pai": 5.0}, "")
    assert "25 %" in s and "(de trefkans)" in s and "PAI" in s and "5,0" in s and "23-02-2026" in s
    assert "te weinig" in plan_view.backtest_sentence(None, "geen data")


# --------------------------------------------------------------------------- error pages


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    import os

    from fastapi.testclient import TestClient

    tmp = tmp_path_factory.mktemp("pages")
    old = {k: os.environ.get(k) for k in ("VEILIG_DATABASE_URL", "VEILIG_TILES_ENABLED", "VEILIG_DATA_DIR")}
    os.environ.update(VEILIG_DATABASE_URL=f"sqlite:///{tmp / 'e.db'}", VEILIG_TILES_ENABLED="false",
                      VEILIG_DATA_DIR=str(tmp))
    from veilig.api.app import create_app
    from veilig.settings import Settings

    app = create_app(Settings(), load_demo=False)
    with TestClient(app) as c:
        c.tokens = {r: add_user(app.state.db, f"e-{r}", r) for r in ("subsidy", "planner")}
        yield c
    for k, v in old.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


HTML = {"Accept": "text/html,application/xhtml+xml"}


def test_a_browser_gets_a_dutch_page_and_an_api_client_json(client):
    planner = {"Authorization": f"Bearer {client.tokens['planner']}"}
    page = client.get("/balie", headers={**HTML, **planner})
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert "Geen toegang" in page.text and "uw rol (planner)" in page.text
    api = client.get("/api/v1/subsidy/budget", headers={**HTML, **planner})
    assert api.status_code == 403 and api.json()["detail"].startswith("uw rol (planner) mag dit niet")
    missing = client.get("/bestaat-niet", headers=HTML)
    assert missing.status_code == 404 and "Niet gevonden" in missing.text
    assert client.get("/bestaat-niet").json() == {"detail": "Not Found"}  # API clients: JSON as before
    desk = {"Authorization": f"Bearer {client.tokens['subsidy']}"}
    bad = client.get("/balie/aanvragen/abc", headers={**HTML, **desk})
    assert bad.status_code == 422 and "Invoer klopt niet" in bad.text
    assert "Traceback" not in bad.text


def test_a_browser_without_a_session_is_sent_to_the_login(client):
    client.cookies.clear()
    r = client.get("/balie", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    r = client.get("/api/v1/subsidy/budget", headers=HTML)
    assert r.status_code == 401 and "token ontbreekt" in r.json()["detail"]


def test_a_cookie_post_without_the_csrf_token_is_refused(client):
    import re

    client.cookies.clear()
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    r = client.post("/login", data={"token": client.tokens["subsidy"], "csrf_token": token},
                    headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert r.status_code == 303
    r = client.post("/balie/aanvragen/nieuw", data={"applicant_name": "X", "postcode": "2711AB", "house_number": "1"},
                    headers={**HTML, "Origin": "http://testserver"})
    assert r.status_code == 403 and "CSRF" in r.text
    client.cookies.clear()


# --------------------------------------------------------------------------- storage: users, audit, desk searches


def test_disabling_a_user_stops_their_token_and_guards_the_last_admin(db):
    admin_token = add_user(db, "beheer", "admin")
    admin = user_for_token(db, admin_token)
    token = add_user(db, "balie", "subsidy")
    balie = user_for_token(db, token)
    set_user_active(db, balie.id, False, by=admin)
    assert user_for_token(db, token) is None
    assert [u.active for u in list_all_users(db) if u.name == "balie"] == [False]
    set_user_active(db, balie.id, True, by=admin)
    assert user_for_token(db, token) == balie
    with pytest.raises(ConflictError):
        set_user_active(db, admin.id, False, by=admin)
    other = Principal(id=0, name="x", role="admin")
    with pytest.raises(ConflictError, match="laatste actieve beheerder"):
        set_user_active(db, admin.id, False, by=other)
    new = rotate_token(db, balie.id)
    assert user_for_token(db, token) is None and user_for_token(db, new) == balie


def test_the_audit_log_filters_by_user_and_action(db):
    a = Principal(id=1, name="anna", role="subsidy")
    b = Principal(id=2, name="bert", role="admin")
    audit(db, a, "subsidy_read_application", "application 1")
    audit(db, a, "subsidy_export", "pilot 1")
    audit(db, b, "user_add", "carla")
    rows, total = search_audit(db, user_name="anna")
    assert total == 2 and {r["action"] for r in rows} == {"subsidy_read_application", "subsidy_export"}
    rows, total = search_audit(db, action="subsidy_")
    assert total == 2
    rows, total = search_audit(db, action="user_add", user_name="anna")
    assert total == 0
    _rows, total = search_audit(db, start=pd.Timestamp.now(tz="UTC").to_pydatetime() + timedelta(days=1))
    assert total == 0


def test_the_desk_list_filters_and_pages_in_sql(db):
    pilot = L.create_pilot(db, _pilot(budget_cents=30_000, waiting_list=True))
    names = ["Jansen", "de Vries", "Jansen-Bakker", "100%_zeker"]
    for n, name in enumerate(names, start=1):
        L.apply(db, ApplicationIn(applicant_name=name, postcode=f"27{10 + n} AB", house_number=n,
                                  buurt="BU06370002" if n % 2 else "BU06370003", object_type="woning",
                                  invoice_amount_cents=50_000, invoice_date=TODAY - timedelta(days=1),
                                  products=["SKG** slot"], iban="NL91ABNA0417164300"))
    every = search_applications(db, ApplicationFilter(), pilot_id=pilot.id)
    assert every.total == 4 and [a.applicant_name for a in every.items] == names
    assert search_applications(db, ApplicationFilter(search="jansen"), pilot_id=pilot.id).total == 2
    assert search_applications(db, ApplicationFilter(search="2712ab"), pilot_id=pilot.id).total == 1
    assert search_applications(db, ApplicationFilter(search="2712 AB"), pilot_id=pilot.id).total == 1
    assert search_applications(db, ApplicationFilter(search="%"), pilot_id=pilot.id).total == 1  # literal %
    assert search_applications(db, ApplicationFilter(buurt="BU06370003"), pilot_id=pilot.id).total == 2
    assert search_applications(db, ApplicationFilter(status="reserved"), pilot_id=pilot.id).total == 1
    assert search_applications(db, ApplicationFilter(received_from=TODAY + timedelta(days=1)),
                               pilot_id=pilot.id).total == 0
    assert search_applications(db, ApplicationFilter(received_from=TODAY, received_to=TODAY),
                               pilot_id=pilot.id).total == 4
    paged = search_applications(db, ApplicationFilter(), page=2, per_page=3, pilot_id=pilot.id)
    assert paged.pages == 2 and [a.applicant_name for a in paged.items] == ["100%_zeker"]
    # 30.000 cent budget, 25.000 a grant: one reserved, the other three queue in order of completion.
    assert [a.applicant_name for a in waiting_list(db, pilot.id)] == names[1:]


def test_every_openapi_operation_has_a_dutch_summary(client):
    """One language in the API documentation: every operation has a summary of its own (FastAPI's
    fallback is the English function name, e.g. "List Pilots")."""
    spec = client.app.openapi()
    fallback = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            name = op.get("operationId", "").split("_")[0]
            if op.get("summary", "").lower().replace(" ", "_") == name.lower() or \
                    op.get("summary", "") == op.get("operationId", "").split("_api")[0].replace("_", " ").title():
                fallback.append(f"{method.upper()} {path}: {op.get('summary')}")
    assert fallback == []
