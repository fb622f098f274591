"""Browser tests: a real `veilig serve`, real headless Chromium (Debian's), driven by Playwright.

Each role logs in on the form, opens every map its role may open, sees the Leaflet map with its
layer control and legend, finds no console error and no request to any other origin (tiles are
switched off), and gets 403 for the rest. An imported incident description and a buurt name
carrying script must not execute anywhere.
"""

from __future__ import annotations

from veilig.dates import today_local
import os
import subprocess
import sys

import httpx
import pytest

from browserkit import login as _login, settle as _settle, skip_reason as _skip_reason, watch as _watch
from helpers import ServerLog, add_users, free_port, require, run_cli, start_server, stop_server


from datetime import timedelta as _timedelta

# A pilot open today, whatever today is; invoices dated just after it opened.
OPENS = (today_local() - _timedelta(days=100)).isoformat()
CLOSES = (today_local() + _timedelta(days=200)).isoformat()
INVOICE = (today_local() - _timedelta(days=95)).isoformat()

pytestmark = pytest.mark.browser

XSS_DESCRIPTION = "<img src=x onerror=alert(1)> `${alert(2)}` <script>alert(3)</script>"
XSS_NAME = "<script>alert(4)</script><img src=y onerror=alert(5)>`x`"

OPEN_ALL_TOOLTIPS = """() => {
  // Open the tooltip of every feature in turn (groups bind one tooltip for their members)
  // and collect what the browser rendered.
  const map = Object.values(window).find(v => v instanceof L.Map);
  let opened = 0, text = [], elements = 0;
  map.eachLayer(group => {
    if (!(group.getTooltip && group.getTooltip() && group.eachLayer)) return;
    group.eachLayer(member => {
      if (!member.getBounds || !member.getBounds().isValid()) return;
      // As a hover would: the event propagates to the group, which opens the member's tooltip.
      member.fire('mouseover', {latlng: member.getBounds().getCenter()}, true);
      const el = group.getTooltip().getElement();
      if (el) {
        opened += 1;
        text.push(el.textContent);
        elements += el.querySelectorAll('script, img').length;
      }
    });
  });
  return {opened: opened, text: text.join(' | '), elements: elements};
}"""

ROLE_MAPS = {
    "analyst": ["/maps/hotspots?category=drugs", "/maps/hotspots?category=burglary", "/maps/rhythm?theme=jeugd"],
    "planner": ["/maps/hotspots?category=drugs", "/maps/rhythm?theme=jeugd", "/maps/rhythm?theme=alcohol&weekday=5&shift=00-08"],
    "subsidy": ["/maps/subsidy"],
    "admin": ["/maps/subsidy"],
}
ALL_MAPS = {"/maps/hotspots?category=drugs", "/maps/rhythm?theme=jeugd", "/maps/subsidy"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    reason = _skip_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("browser")
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp / 'b.db'}", "VEILIG_TILES_ENABLED": "false",
           "VEILIG_DATA_DIR": str(tmp)}
    tokens = add_users(env, ("analyst", "planner", "subsidy", "admin"), "b")
    stats = tmp / "kerncijfers.csv"
    stats.write_text("statcode,statnaam,inhabitants,dwellings\n"
                     f'BU06370002,"{XSS_NAME}",5400,3100\nBU06370003,Palenstein,7200,3500\n', encoding="utf-8")
    proc = run_cli("import", "buurtstats", str(stats), env=env)
    assert proc.returncode == 0, proc.stderr
    srv, base = start_server(env)
    analyst = {"Authorization": f"Bearer {tokens['analyst']}"}
    csv = ("id,occurred_at,category,x,y,description\n"
           f'XSS-1,2026-11-01T21:30:00+01:00,drugs,93494,452949,"{XSS_DESCRIPTION}"\n')
    r = httpx.post(f"{base}/api/v1/incidents", headers=analyst, files={"file": ("xss.csv", csv, "text/csv")})
    assert r.status_code == 201, r.text
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    r = httpx.post(f"{base}/api/v1/subsidy/pilots", headers=admin, json={
        "name": "Hang- en sluitwerk <b>2026</b>", "budget_cents": 500_000, "opens_on": OPENS,
        "closes_on": CLOSES})
    assert r.status_code == 201, r.text
    desk = {"Authorization": f"Bearer {tokens['subsidy']}"}
    for n in range(1, 8):
        r = httpx.post(f"{base}/api/v1/subsidy/applications", headers=desk, json={
            "applicant_name": "J. de Vries", "postcode": "2711 AB", "house_number": n, "buurt": "BU06370002",
            "object_type": "woning", "invoice_amount_cents": 40_000, "invoice_date": INVOICE,
            "products": ["SKG*** cilinderslot"], "iban": "NL91ABNA0417164300"})
        assert r.status_code == 201, r.text
    yield base, tokens
    stop_server(srv)




@pytest.mark.parametrize("role", ["analyst", "planner", "subsidy", "admin"])
def test_each_role_opens_its_maps_offline_and_gets_403_for_the_rest(server, browser, role):
    base, tokens = server
    context, page = _login(browser, base, tokens[role])
    problems, dialogs = _watch(page, base)
    try:
        for path in ROLE_MAPS[role]:
            response = page.goto(f"{base}{path}")
            assert response.status == 200, (path, response.status)
            page.wait_for_selector(".leaflet-container", timeout=30_000)
            assert page.locator(".leaflet-control-layers").count() == 1, path
            assert page.locator(".veilig-legend").count() >= 1, path
            assert "Centraal Bureau voor de Statistiek" in page.content()
            # The map really drew something: Leaflet panes hold paths or canvases.
            page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane canvas, .leaflet-overlay-pane path').length > 0",
                                   timeout=30_000)
        page.goto(f"{base}/")
        links = {a.get_attribute("href") for a in page.locator("a").all()}
        assert ROLE_MAPS[role][0] in links
        assert problems == [], problems
        assert dialogs == [], dialogs
        # Maps of other roles: 403 (the browser logs the failed load; that is expected here).
        own = {p.split("?")[0] for p in ROLE_MAPS[role]}
        for path in sorted(p for p in ALL_MAPS if p.split("?")[0] not in own):
            assert path not in links
            response = page.goto(f"{base}{path}")
            assert response.status == 403, (role, path, response.status)
    finally:
        context.close()


def test_script_in_a_description_or_buurt_name_never_executes(server, browser):
    base, tokens = server
    for role, path in (("analyst", "/maps/hotspots?category=drugs"), ("planner", "/maps/hotspots?category=drugs"),
                       ("planner", "/maps/rhythm?theme=ondermijning"), ("subsidy", "/maps/subsidy"),
                       ("subsidy", "/")):
        context, page = _login(browser, base, tokens[role])
        problems, dialogs = _watch(page, base)
        page.add_init_script("window.__xss = 0;")
        try:
            response = page.goto(f"{base}{path}")
            assert response.status == 200
            if path.startswith("/maps"):
                page.wait_for_selector(".leaflet-container", timeout=30_000)
            # Open every popup/tooltip source we can reach: hover the buurt polygons' centre area.
            page.mouse.move(400, 300)
            _settle(page)
            html = page.content()
            assert dialogs == [], (role, path, dialogs)
            assert page.evaluate("document.querySelectorAll('img[src=\"x\"], img[src=\"y\"]').length") == 0
            assert XSS_DESCRIPTION not in html  # free text never reaches a map
            if path.startswith("/maps/hotspots") or path.startswith("/maps/subsidy"):
                assert "alert(4)" in html  # the hostile buurt name did reach the page, escaped
                # Open every tooltip on the map: the name must show as text, never as markup.
                shown = page.evaluate(OPEN_ALL_TOOLTIPS)
                assert shown["opened"] > 0
                assert "<script>alert(4)</script>" in shown["text"]
                assert shown["elements"] == 0
                _settle(page)
            assert problems == [], problems
        finally:
            context.close()


def test_the_one_time_login_link_works_once(tmp_path):
    require(_skip_reason() is None, _skip_reason() or "")
    # The printed link names the configured port, so this test needs a known port: it retries
    # on a bind conflict (another process took the port between free_port() and the bind).
    for attempt in range(3):
        port = free_port()
        env = {**os.environ, "VEILIG_DATABASE_URL": f"sqlite:///{tmp_path / f'o{attempt}.db'}",
               "VEILIG_TILES_ENABLED": "false", "VEILIG_PORT": str(port), "VEILIG_DATA_DIR": str(tmp_path)}
        srv = subprocess.Popen([sys.executable, "-m", "veilig.api", "serve"], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        log = ServerLog(srv.stdout)
        try:
            m = log.wait_for(r"(http://\S+/login/once\?token=\S+)|(Uvicorn running on)|(address already in use)",
                             timeout=300)
            if m.group(3):
                continue
            link = m.group(1) or log.wait_for(r"(http://\S+/login/once\?token=\S+)", timeout=60).group(1)
            log.wait_for(r"Uvicorn running on", timeout=300)
            assert link.startswith(f"http://127.0.0.1:{port}/login/once?token=")
            first = httpx.get(link, follow_redirects=False)
            assert first.status_code == 303
            cookie = first.headers["set-cookie"].lower()
            assert "httponly" in cookie and "samesite=strict" in cookie
            second = httpx.get(link, follow_redirects=False)
            assert second.status_code == 401
            return
        finally:
            srv.terminate()
            try:
                srv.wait(timeout=30)
            except subprocess.TimeoutExpired:
                srv.kill()
                srv.wait(timeout=30)
    pytest.fail("three ports in a row were taken before the server bound them")


def test_the_openapi_docs_load_offline(server, browser):
    base, _ = server
    context = browser.new_context()
    page = context.new_page()
    problems, dialogs = _watch(page, base)
    try:
        response = page.goto(f"{base}/docs")
        assert response.status == 200
        page.wait_for_selector(".swagger-ui .opblock", timeout=30_000)
        assert page.locator(".opblock").count() > 20  # every route is documented
        assert problems == [], problems
    finally:
        context.close()
