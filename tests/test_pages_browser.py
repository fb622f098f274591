"""The pages of issue 10 in real Chromium against a real `veilig serve`: each role's workflow end to
end, a double submission, a cross-site form, axe-core on every page, and no third-party origin.

Every test watches every request the browser makes (:func:`test_browser._watch`): a request to any
origin other than the server fails the test (tiles are switched off).
"""

from __future__ import annotations

from veilig.dates import today_local
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from helpers import add_users, free_port, require, start_server, stop_server
from browserkit import skip_reason as _skip_reason, watch as _watch

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[1] / "api" / "static" / "vendor" / "axe-core" / "axe.min.js"
OPENS = today_local() - timedelta(days=60)
CLOSES = today_local() + timedelta(days=300)
INVOICE = today_local() - timedelta(days=10)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    reason = _skip_reason()
    require(reason is None, reason or "")
    require(AXE.exists(), "axe-core is not vendored (scripts/vendor_static.sh)")
    tmp = tmp_path_factory.mktemp("pages")
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp / 'p.db'}", "VEILIG_TILES_ENABLED": "false",
           "VEILIG_DATA_DIR": str(tmp)}
    tokens = add_users(env, ("analyst", "planner", "subsidy", "admin"), "p")
    srv, base = start_server(env)
    yield base, tokens
    stop_server(srv)


@pytest.fixture
def chromium(browser):
    """The session's Chromium (tests/conftest.py), under the name these tests use."""
    return browser


def _session(chromium, base, token):
    context = chromium.new_context()
    page = context.new_page()
    problems, _dialogs = _watch(page, base)
    page.goto(f"{base}/login")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")
    return context, page, problems


def _real(problems: list[str]) -> list[str]:
    """Requests to other origins, script errors and console errors; not Chromium's note that a page
    answered 4xx (a form with errors is a 422 on purpose)."""
    return [p for p in problems if not p.startswith("console error: Failed to load resource: the server responded with a status of 4")]


def _api(base, token):
    return httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)


def _ensure_pilot(base, tokens):
    """The admin test creates the pilot in the browser; other tests need one whatever the order."""
    with _api(base, tokens["admin"]) as api:
        if not api.get("/api/v1/subsidy/pilots").json():
            r = api.post("/api/v1/subsidy/pilots", json={
                "name": "Pilot hang- en sluitwerk", "budget_cents": 100_000, "opens_on": OPENS.isoformat(),
                "closes_on": CLOSES.isoformat()})
            assert r.status_code == 201, r.text


def _budget(base, tokens) -> dict:
    with _api(base, tokens["subsidy"]) as api:
        return api.get("/api/v1/subsidy/budget").json()


# --------------------------------------------------------------------------- admin


def test_admin_sees_everything_and_creates_a_pilot_and_a_user(site, chromium):
    base, tokens = site
    context, page, problems = _session(chromium, base, tokens["admin"])
    try:
        links = {a.get_attribute("href") for a in page.locator("a").all()}
        assert {"/beheer", "/beheer/gebruikers", "/beheer/audit", "/maps/subsidy"} <= links
        assert any(h and h.startswith("/maps/hotspots") for h in links)
        page.click("nav >> text=Beheer")
        # A Dutch date, a euro amount with a decimal comma.
        pilots_before = len(httpx.get(f"{base}/api/v1/subsidy/pilots",
                                      headers={"Authorization": f"Bearer {tokens['admin']}"}).json())
        if pilots_before == 0:
            page.fill("#name", "Pilot hang- en sluitwerk 2026")
            page.fill("#budget", "1.000,00")
            page.fill("#opens_on", OPENS.strftime("%d-%m-%Y"))
            page.fill("#closes_on", "31-13-2027")  # no month 13: refused, tied to its field
            page.click("text=Pilot aanmaken")
            assert page.locator("#closes_on-fout").inner_text().count("maand 13") == 1
            assert page.get_attribute("#closes_on", "aria-invalid") == "true"
            assert "closes_on-fout" in page.get_attribute("#closes_on", "aria-describedby")
            page.fill("#closes_on", CLOSES.strftime("%d-%m-%Y"))
            page.click("text=Pilot aanmaken")
            page.wait_for_url(f"{base}/beheer?gedaan=pilot")
            assert "Pilot hang- en sluitwerk 2026" in page.inner_text("table")
            assert "€ 1.000,00" in page.inner_text("table")
        page.click("nav >> text=Gebruikers")
        page.fill("#name", "balie-twee")
        page.select_option("#role", "subsidy")
        page.click("button:has-text('Toevoegen')")
        token = page.input_value("#nieuw-token")
        assert len(token) > 30
        assert "balie-twee" in page.inner_text("table")
        page.goto(f"{base}/beheer/gebruikers")
        assert token not in page.content()  # shown once
        assert _real(problems) == [], problems
    finally:
        context.close()
    # The new user's token works in a browser of its own.
    context, page, problems = _session(chromium, base, token)
    try:
        page.goto(f"{base}/balie")
        assert page.locator("h1").inner_text().startswith("Subsidiebalie")
    finally:
        context.close()


# --------------------------------------------------------------------------- desk


def test_desk_registers_completes_approves_and_pays_and_sees_the_budget_move(site, chromium):
    base, tokens = site
    _ensure_pilot(base, tokens)
    before = _budget(base, tokens)
    context, page, problems = _session(chromium, base, tokens["subsidy"])
    try:
        page.goto(f"{base}/balie")
        assert page.locator("[data-budget=remaining]").count() == 1
        page.click("text=Nieuwe aanvraag >> nth=0")
        page.fill("#applicant_name", "M. Jansen")
        page.fill("#postcode", "2711 AB")
        page.fill("#house_number", "12")
        page.select_option("#buurt", "BU06370002")
        page.click("text=Aanvraag registreren")
        page.wait_for_url(re.compile(r".*/balie/aanvragen/\d+\?gedaan=nieuw$"))
        app_id = int(re.search(r"/aanvragen/(\d+)", page.url).group(1))
        assert page.inner_text("#status") == "ontvangen"
        page.click("a.button:has-text('Aanvullen')")
        page.select_option("#object_type", "woning")
        page.fill("#invoice_amount", "412,50")
        page.fill("#invoice_date", INVOICE.strftime("%d-%m-%Y"))
        page.fill("#products", "SKG** cilinderslot\nPKVW raambeveiliging")
        page.fill("#iban", "NL91 ABNA 0417 1643 00")
        page.click("text=Aanvulling opslaan")
        page.wait_for_url(f"{base}/balie/aanvragen/{app_id}?gedaan=aanvullen")
        assert page.inner_text("#status") == "gereserveerd"
        assert page.inner_text("[data-budget=reserved]") != ""
        mid = _budget(base, tokens)
        assert mid["reserved_cents"] == before["reserved_cents"] + 20_625  # 50 % of 412,50
        for label, status in (("Goedkeuren", "goedgekeurd"), ("Uitbetalen", "uitbetaald")):
            page.click(f"a.button:has-text('{label}')")
            assert "Ja, " in page.inner_text("main form button[type=submit]")
            assert page.inner_text("h1").startswith(label)
            page.click("main form button[type=submit]:has-text('Ja')")
            page.wait_for_url(re.compile(rf".*/balie/aanvragen/{app_id}\?gedaan=.*"))
            assert page.inner_text("#status") == status
        after = _budget(base, tokens)
        assert after["paid_cents"] == before["paid_cents"] + 20_625
        assert after["remaining_cents"] == before["remaining_cents"] - 20_625
        assert page.inner_text("[data-budget=paid]").replace("\u00a0", " ").endswith(
            f"{after['paid_cents'] // 100},{after['paid_cents'] % 100:02d}")
        trail = page.inner_text("#besluitspoor")
        for step in ("aanvraag geregistreerd", "gereserveerd", "goedgekeurd", "uitbetaald"):
            assert step in trail
        page.click("text=Beschikking (afdrukbaar)")
        assert "€ 206,25" in page.inner_text("article.letter")
        page.emulate_media(media="print")
        assert not page.locator("header.top").is_visible()
        page.emulate_media(media="screen")
        # The list finds it by name and by postcode; the filters are plain GET.
        page.goto(f"{base}/balie/aanvragen?zoek=jans")
        assert "M. Jansen" in page.inner_text("table")
        page.goto(f"{base}/balie/aanvragen?zoek=2711ab&status=paid")
        assert "M. Jansen" in page.inner_text("table")
        page.goto(f"{base}/balie/aanvragen?status=received")
        assert "M. Jansen" not in page.content()
        page.goto(f"{base}/balie")
        with page.expect_download() as download:
            page.click("text=Export voor financiën (CSV)")
        text = Path(download.value.path()).read_text(encoding="utf-8")
        assert text.startswith("aanvraag_id;") and "uitbetaald" in text
        assert _real(problems) == [], problems
    finally:
        context.close()


def test_a_double_submitted_form_reserves_once(site, chromium):
    base, tokens = site
    _ensure_pilot(base, tokens)
    before = _budget(base, tokens)
    context, page, problems = _session(chromium, base, tokens["subsidy"])
    try:
        page.goto(f"{base}/balie/aanvragen/nieuw")
        values = {"#applicant_name": "K. Dubbel", "#postcode": "2712CD", "#house_number": "7",
                  "#invoice_amount": "300", "#invoice_date": INVOICE.isoformat(),
                  "#products": "SKG*** slot, PKVW scharnier", "#iban": "NL91ABNA0417164300"}
        for sel, value in values.items():
            page.fill(sel, value)
        page.select_option("#buurt", "BU06370003")
        page.select_option("#object_type", "schuur")
        form = page.evaluate("() => Object.fromEntries(new FormData(document.querySelector("
                             "'form[action=\"/balie/aanvragen/nieuw\"]')))")
        page.dblclick("text=Aanvraag registreren")
        page.wait_for_url(re.compile(r".*/balie/aanvragen/\d+\?gedaan=nieuw$"))
        first = page.url
        # The same form sent again (a resubmission after a timeout, a third click).
        replay = context.request.post(f"{base}/balie/aanvragen/nieuw", form=form,
                                      headers={"Origin": base, "Referer": f"{base}/balie/aanvragen/nieuw"},
                                      max_redirects=0)
        assert replay.status == 303
        assert replay.headers["location"] in first
        after = _budget(base, tokens)
        assert after["reserved_cents"] == before["reserved_cents"] + 15_000
        with _api(base, tokens["subsidy"]) as api:
            mine = [a for a in api.get("/api/v1/subsidy/applications").json() if a["applicant_name"] == "K. Dubbel"]
        assert len(mine) == 1 and mine[0]["status"] == "reserved"
        assert _real(problems) == [], problems
    finally:
        context.close()


# --------------------------------------------------------------------------- planner


def test_planner_picks_a_week_and_a_shift_and_prints_the_plan(site, chromium):
    base, tokens = site
    context, page, problems = _session(chromium, base, tokens["planner"])
    try:
        page.click("nav >> text=Dienstenplan")
        week = page.input_value("#p-week")
        assert re.fullmatch(r"\d{4}-W\d{2}", week)
        page.select_option("#p-thema", "jeugd")
        page.select_option("#p-dag", "4")
        page.select_option("#p-dienst", "16-24")
        page.click("text=Plan tonen")
        page.wait_for_url(re.compile(r".*/planning\?.*dienst=16-24.*"))
        assert "vrijdag" in page.inner_text("h1")
        table = page.inner_text("#plan")
        assert "Hotspot " not in table  # areas are named by place
        assert "0,00" not in table
        names = page.locator("#plan tbody td:nth-child(4)").all_inner_texts() or \
            page.locator("#plan tbody td:nth-child(2)").all_inner_texts()
        assert names
        sentence = page.inner_text("#terugblik")
        assert "trefkans" in sentence and "PAI" in sentence
        with page.expect_download() as download:
            page.click("text=Dienstenplan als CSV")
        csv = Path(download.value.path()).read_text(encoding="utf-8")
        assert csv.splitlines()[0].startswith("datum;weekdag;dienst;")
        assert all(";16-24;" in line for line in csv.splitlines()[1:])
        page.click("text=Afdrukversie")
        page.emulate_media(media="print")
        assert not page.locator("header.top").is_visible()
        assert page.locator("#plan").is_visible()
        pdf = page.pdf(format="A4")
        assert pdf[:4] == b"%PDF" and len(pdf) > 2000
        assert _real(problems) == [], problems
    finally:
        context.close()


# --------------------------------------------------------------------------- safety


class _Attacker(BaseHTTPRequestHandler):
    target = ""
    fields: dict[str, str] = {}

    def do_GET(self):  # noqa: N802
        inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in self.fields.items())
        body = (f'<!DOCTYPE html><html><body><form id="f" method="post" action="{self.target}">{inputs}</form>'
                '<script>document.getElementById("f").submit();</script></body></html>').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _attack(chromium, base, token, target: str, fields: dict[str, str]) -> int:
    """Open a page on another port of 127.0.0.1 that auto-submits a form to ``target``; return the status."""
    handler = type("Attack", (_Attacker,), {"target": f"{base}{target}", "fields": fields})
    port = free_port()
    evil = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    context, page, _problems = _session(chromium, base, token)
    try:
        with page.expect_response(lambda r: r.url.startswith(f"{base}{target}")) as answer:
            page.goto(f"http://127.0.0.1:{port}/")
        return answer.value.status
    finally:
        context.close()
        evil.shutdown()


def test_a_cross_site_form_post_changes_nothing(site, chromium):
    base, tokens = site
    _ensure_pilot(base, tokens)
    with _api(base, tokens["subsidy"]) as api:
        r = api.post("/api/v1/subsidy/applications", json={
            "applicant_name": "Doelwit", "postcode": "2713 EF", "house_number": 1, "buurt": "BU06370002",
            "object_type": "woning", "invoice_amount_cents": 10_000, "invoice_date": INVOICE.isoformat(),
            "products": ["SKG** slot"], "iban": "NL91ABNA0417164300"})
        assert r.status_code == 201, r.text
        app_id = r.json()["id"]
        assert r.json()["status"] == "reserved"
    status = _attack(chromium, base, tokens["subsidy"], f"/balie/aanvragen/{app_id}/goedkeuren",
                     {"form_key": "web-attackerattacker"})
    assert status == 403
    with _api(base, tokens["subsidy"]) as api:
        assert api.get(f"/api/v1/subsidy/applications/{app_id}").json()["status"] == "reserved"
    with _api(base, tokens["admin"]) as api:
        pilots = len(api.get("/api/v1/subsidy/pilots").json())
        users = len(api.get("/api/v1/users").json())
    status = _attack(chromium, base, tokens["admin"], "/beheer/pilots", {
        "name": "Vals", "budget": "9.999,00", "opens_on": "01-01-2040", "closes_on": "31-12-2040",
        "grant_percentage": "100", "max_grant": "9.999,00"})
    assert status == 403
    status = _attack(chromium, base, tokens["admin"], "/beheer/gebruikers", {"name": "indringer", "role": "admin"})
    assert status == 403
    with _api(base, tokens["admin"]) as api:
        assert len(api.get("/api/v1/subsidy/pilots").json()) == pilots
        assert len(api.get("/api/v1/users").json()) == users


# --------------------------------------------------------------------------- accessibility

ROLE_PAGES = {
    "subsidy": ["/", "/balie", "/balie/aanvragen", "/balie/aanvragen/nieuw", "/balie/wachtlijst",
                "/balie/aanvragen/{app}", "/balie/aanvragen/{app}/afwijzen", "/balie/aanvragen/{app}/beschikking",
                "/balie/aanvragen?van=31-02-2026", "/balie/aanvragen/999999", "/beheer"],
    "admin": ["/", "/beheer", "/beheer/gebruikers", "/beheer/audit", "/beheer/audit?van=1-1-2026", "/maps/subsidy"],
    "planner": ["/", "/planning", "/planning?dag=5&dienst=00-08&afdruk=1", "/balie", "/maps/hotspots?category=burglary"],
    "analyst": ["/", "/planning?thema=ondermijning", "/maps/hotspots?category=drugs", "/maps/rhythm?theme=jeugd"],
}
AXE_RUN = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ': ' + v.help + ' @ ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', '));
}"""


@pytest.mark.parametrize("role", list(ROLE_PAGES))
def test_every_page_passes_axe_core(site, chromium, role):
    base, tokens = site
    _ensure_pilot(base, tokens)
    with _api(base, tokens["subsidy"]) as api:
        apps = api.get("/api/v1/subsidy/applications").json()
        app_id = next((a["id"] for a in apps if a["status"] in ("received", "reserved")), None)
        if app_id is None:
            r = api.post("/api/v1/subsidy/applications", json={
                "applicant_name": "Axe", "postcode": "2714 GH", "house_number": 3, "buurt": "BU06370002"})
            app_id = r.json()["id"]
    context, page, problems = _session(chromium, base, tokens[role])
    found = {}
    try:
        for path in ROLE_PAGES[role]:
            page.goto(f"{base}{path.format(app=app_id)}")
            page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
            bad = page.evaluate(AXE_RUN)
            if bad:
                found[path] = bad
        # A form with errors: the messages tied to the fields must pass as well.
        if role == "subsidy":
            page.goto(f"{base}/balie/aanvragen/nieuw")
            page.fill("#house_number", "twaalf")
            page.fill("#invoice_date", "2025-13-01")
            page.click("text=Aanvraag registreren")
            assert page.locator(".error-summary").count() == 1
            page.add_script_tag(url="/static/vendor/axe-core/axe.min.js")
            bad = page.evaluate(AXE_RUN)
            if bad:
                found["/balie/aanvragen/nieuw (met fouten)"] = bad
        assert found == {}, found
        # axe and the pages load from this origin only.
        assert _real(problems) == [], problems
    finally:
        context.close()


# --------------------------------------------------------------------------- analyst map


def test_analyst_changes_the_hotspot_map_with_the_control_bar_and_downloads_it(site, chromium):
    base, tokens = site
    context, page, problems = _session(chromium, base, tokens["analyst"])
    try:
        page.goto(f"{base}/maps/hotspots?category=drugs")
        page.wait_for_selector(".leaflet-container", timeout=60_000)
        assert page.locator(".veilig-buurtlabel").count() == 26  # every buurt named on the map
        page.select_option("#vc-category", "burglary")
        page.fill("#vc-start", "01-01-2025")
        page.fill("#vc-end", "31-12-2025")
        page.fill("#vc-eps", "200")
        page.click("text=Kaart verversen")
        page.wait_for_url(re.compile(r".*category=burglary.*start=01-01-2025.*eps=200.*"))
        page.wait_for_selector(".leaflet-container", timeout=60_000)
        assert "Inbraak" in page.inner_text(".veilig-title")
        assert "01-01-2025" in page.inner_text(".veilig-title")
        assert page.input_value("#vc-eps") == "200"
        for kind, magic in (("GeoPackage", b"SQLite format 3"), ("GeoJSON", b'{"type": "FeatureCollection"'),
                            ("CSV", "soort;".encode())):
            href = page.get_attribute(f".veilig-controls a:has-text('{kind}')", "href")
            assert "start=2025-01-01" in href and "eps=200" in href
            answer = context.request.get(f"{base}{href}")
            assert answer.status == 200, (kind, answer.status)
            assert answer.body().startswith(magic), kind
        assert _real(problems) == [], problems
    finally:
        context.close()
    # A planner has the bar without the method fields, and cannot force them through the address.
    context, page, problems = _session(chromium, base, tokens["planner"])
    try:
        page.goto(f"{base}/maps/hotspots?category=burglary")
        assert page.locator("#vc-category").count() == 1 and page.locator("#vc-eps").count() == 0
        response = page.goto(f"{base}/maps/hotspots?category=burglary&eps=1&min_samples=1")
        assert response.status == 403
        assert "Geen toegang" in page.inner_text("h1")
    finally:
        context.close()


def test_the_intake_form_works_from_the_keyboard_alone(site, chromium):
    """Skip link first, then the fields in reading order; Enter submits; the error summary links to the field."""
    base, tokens = site
    _ensure_pilot(base, tokens)
    context, page, problems = _session(chromium, base, tokens["subsidy"])
    try:
        page.goto(f"{base}/balie/aanvragen/nieuw")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Naar de inhoud"
        page.focus("#applicant_name")
        order = []
        for _ in range(5):
            order.append(page.evaluate("document.activeElement.id"))
            page.keyboard.press("Tab")
        assert order == ["applicant_name", "postcode", "house_number", "house_number_addition", "buurt"]
        page.focus("#applicant_name")
        page.keyboard.type("T. Toetsenbord")
        page.keyboard.press("Tab")
        page.keyboard.type("2715 KL")
        page.keyboard.press("Tab")
        page.keyboard.type("negen")
        page.keyboard.press("Enter")
        page.wait_for_selector(".error-summary")
        link = page.locator(".error-summary a[href='#house_number']")
        assert link.count() == 1
        link.focus()
        page.keyboard.press("Enter")
        assert page.evaluate("location.hash") == "#house_number"
        assert _real(problems) == [], problems
    finally:
        context.close()
