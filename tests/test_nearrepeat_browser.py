"""The alert zones and the outreach table in real Chromium, for the subsidy desk (and the analyst as control).

A real ``veilig serve`` (demo data plus three burglaries today around one address), Debian's
Chromium driven by Playwright as in tests/test_browser.py. What the desk's browser draws must
be 100 m grid squares only: every vertex of every zone polygon Leaflet holds is a corner of the
100 m RD grid. The analyst's map draws the discs (the same check fails there: it can fail).
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import numpy as np
import pyproj
import pytest

from helpers import add_users, require, start_server, stop_server
from browserkit import login as _login, skip_reason as _skip_reason, watch as _watch
from test_nearrepeat_api import BUURT, HOME, TODAY

from veilig.maps.nearrepeat import ZONE_LAYER_NAME

pytestmark = pytest.mark.browser

ZONE_VERTICES = """(name) => {
  // The layer control's overlay of that name, then every vertex of its polygons (lat, lng).
  const holder = Object.values(window).find(v => v && typeof v === 'object' && v.overlays && v.overlays[name]);
  if (!holder) return null;
  const out = [];
  const walk = ll => Array.isArray(ll) ? ll.forEach(walk) : out.push([ll.lat, ll.lng]);
  holder.overlays[name].eachLayer(l => { if (l.getLatLngs) walk(l.getLatLngs()); });
  return out;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    reason = _skip_reason()
    require(reason is None, reason or "")
    tmp = tmp_path_factory.mktemp("nrbrowser")
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp / 'b.db'}", "VEILIG_TILES_ENABLED": "false",
           "VEILIG_DATA_DIR": str(tmp)}
    tokens = add_users(env, ("analyst", "subsidy", "admin"), "nrb")
    srv, base = start_server(env)
    try:
        analyst = {"Authorization": f"Bearer {tokens['analyst']}"}
        rows = "\n".join(f"NRB-{i},{TODAY.isoformat()}T19:00:00,woninginbraak,{HOME[0] + dx},{HOME[1] + dy}"
                         for i, (dx, dy) in enumerate(((0, 0), (30, 20), (-25, 40))))
        r = httpx.post(f"{base}/api/v1/incidents", headers=analyst, timeout=120,
                       files={"file": ("nu.csv", "id,occurred_at,category,x,y\n" + rows + "\n", "text/csv")})
        assert r.status_code == 201, r.text
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        r = httpx.post(f"{base}/api/v1/subsidy/pilots", headers=admin, json={
            "name": "Pilot", "budget_cents": 500_000, "opens_on": (TODAY - timedelta(days=30)).isoformat(),
            "closes_on": (TODAY + timedelta(days=200)).isoformat()})
        assert r.status_code == 201, r.text
        desk = {"Authorization": f"Bearer {tokens['subsidy']}"}
        r = httpx.post(f"{base}/api/v1/subsidy/applications", headers=desk, json={
            "applicant_name": "J. de Vries", "postcode": "2711 AB", "house_number": 3, "buurt": BUURT,
            "object_type": "woning", "invoice_amount_cents": 40_000,
            "invoice_date": (TODAY - timedelta(days=2)).isoformat(), "products": ["SKG*** cilinderslot"],
            "iban": "NL91ABNA0417164300"})
        assert r.status_code == 201, r.text
        # The first request computes the zone window (Knox test on two years): warm it up here.
        r = httpx.get(f"{base}/api/v1/nearrepeat/zones", headers=desk, timeout=600)
        assert r.status_code == 200, r.text
        yield base, tokens
    finally:
        stop_server(srv)




def _grid_offsets(latlng: list) -> np.ndarray:
    t = pyproj.Transformer.from_crs(4326, 28992, always_xy=True)
    a = np.asarray(latlng)
    x, y = t.transform(a[:, 1], a[:, 0])
    v = np.column_stack([x, y])
    return np.abs(v - np.round(v / 100) * 100).max(axis=1)


def _open(browser, base, token, path):
    context, page = _login(browser, base, token)
    problems, dialogs = _watch(page, base)
    response = page.goto(f"{base}{path}", timeout=300_000)
    assert response.status == 200, response.status
    page.wait_for_selector(".leaflet-container", timeout=60_000)
    page.wait_for_function("document.querySelectorAll('.leaflet-overlay-pane canvas, .leaflet-overlay-pane path')"
                           ".length > 0", timeout=60_000)
    return context, page, problems, dialogs


def test_subsidy_desk_sees_zones_as_100m_cells_and_the_outreach_table(server, browser):
    base, tokens = server
    context, page, problems, dialogs = _open(browser, base, tokens["subsidy"], "/maps/subsidy")
    try:
        legend = page.locator(".veilig-legend").inner_text()
        assert "Inbraakalert" in legend and "100 m-rastercellen" in legend
        panel = page.locator("#veilig-outreach")
        assert panel.is_visible()
        text = panel.inner_text()
        assert "buurtbrief" in text and "2711" in text
        vertices = page.evaluate(ZONE_VERTICES, ZONE_LAYER_NAME)
        assert vertices, "the zone layer drew nothing"
        # Leaflet's coordinates are 1e-5 degree integers: ~1 m; every vertex is a grid corner.
        assert _grid_offsets(vertices).max() < 1.5
        # No incident point layer on the desk's page.
        assert "veiligMaps.points(" not in page.content()
        link = page.locator("#veilig-outreach a")
        assert link.get_attribute("href") == "/api/v1/nearrepeat/outreach.csv"
        with page.expect_download() as dl:
            link.click()
        assert dl.value.suggested_filename.startswith("inbraakalert_")
        assert problems == [] and dialogs == [], (problems, dialogs)
    finally:
        context.close()


def test_the_analyst_burglary_map_draws_the_discs(server, browser):
    base, tokens = server
    context, page, problems, _ = _open(browser, base, tokens["analyst"], "/maps/hotspots?category=burglary")
    try:
        vertices = page.evaluate(ZONE_VERTICES, ZONE_LAYER_NAME)
        assert vertices
        assert _grid_offsets(vertices).max() > 5  # a disc: off the grid (the desk's check would fail)
        assert problems == [], problems
    finally:
        context.close()
