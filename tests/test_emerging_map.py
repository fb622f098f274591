"""The "Opkomende hotspots" layer: pure builder (chart, escaping, hidden counts) and, in Chromium,
the layer on the hotspot map for analysts and planners with the synthetic-data label."""

from __future__ import annotations


import geopandas as gpd
import numpy as np
import pytest
import shapely

from veilig.maps.base import check_origins
from veilig.maps.emerging import LAYER_NAME, emerging_layer, series_svg
from veilig.maps.hotspots import build_hotspot_map

from browserkit import login as _login, skip_reason as _skip_reason, watch as _watch
from helpers import add_users, require, start_server, stop_server


def test_chart_escapes_labels_and_draws_hidden_counts_as_markers_not_bars():
    svg = series_svg(["2025-01", "<b>x</b>", "2025-03"], [7, None, 0], [3, 0, -2], z=None, hidden_label="<5")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    assert "&lt;5" in svg  # the hidden step says so
    assert svg.count("<rect") == 3 and "<polyline" not in svg
    check_origins(svg)  # no namespace URL or any other origin
    with_z = series_svg(["a", "b"], [1, 2], [0, 1], z=[0.5, -1.0])
    assert "<polyline" in with_z


def _locations(patterns):
    cells = [shapely.box(93000 + 100 * i, 452000, 93100 + 100 * i, 452100) for i in range(len(patterns))]
    return gpd.GeoDataFrame({
        "location_id": [f"c{i}" for i in range(len(patterns))], "pattern": patterns,
        "trend_tau": [0.5] * len(patterns), "trend_p": [0.01] * len(patterns),
        "n_significant_hot": [3] * len(patterns), "n_significant_cold": [0] * len(patterns),
        "last_class": [3] * len(patterns), "n_incidents": [None] + [12] * (len(patterns) - 1),
    }, geometry=cells, crs="EPSG:28992")


def test_layer_draws_only_locations_with_a_pattern_and_its_legend_is_dutch():
    locs = _locations(["no_pattern", "new_hot", "persistent_cold"])
    counts = np.array([[1, 2, 3], [np.nan, 6, 9], [5, 5, 5]], dtype=float)
    classes = np.array([[0, 0, 0], [0, 0, 3], [-3, -3, -3]])
    layer, (heading, items) = emerging_layer(locs, ["2025-01", "2025-02", "2025-03"], counts, classes)
    assert heading.startswith(LAYER_NAME)
    assert [i.label for i in items] == ["hotspot: nieuw", "coldspot: aanhoudend"]
    popups = layer.popups
    assert "hotspot: nieuw" in popups and "coldspot: aanhoudend" in popups and "geen patroon" not in popups
    assert emerging_layer(_locations(["no_pattern"]), ["a"], np.zeros((1, 1)), np.zeros((1, 1), int)) == (None, None)
    html = build_hotspot_map(gpd.GeoDataFrame({"statcode": [], "statnaam": [], "n_incidents": []},
                                              geometry=[], crs="EPSG:28992"), None, None,
                             title="Hotspots", category_label="Inbraak", period_label="2025", tiles=None,
                             synthetic=True, overlays=[(layer, (heading, items))])
    assert LAYER_NAME in html and "hotspot: nieuw" in html and "veilig-synthetic" in html


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    reason = _skip_reason()
    require(reason is None, reason or "")
    tmp = tmp_path_factory.mktemp("emerging_browser")
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp / 'e.db'}", "VEILIG_TILES_ENABLED": "false",
           "VEILIG_DATA_DIR": str(tmp)}
    tokens = add_users(env, ("analyst", "planner"), "e")
    srv, base = start_server(env)  # an empty database: serve loads three years of demo data
    yield base, tokens
    stop_server(srv)




OPEN_FIRST_POPUP = """(name) => {
  const map = Object.values(window).find(v => v instanceof L.Map);
  let opened = null;
  map.eachLayer(group => {
    if (opened || !group.eachLayer || !group.getLayers) return;
    group.eachLayer(member => {
      if (opened || !member.getPopup || !member.getPopup()) return;
      member.openPopup(member.getBounds().getCenter());
      opened = document.querySelector('.leaflet-popup-content');
    });
  });
  return opened ? {html: opened.innerHTML, svg: opened.querySelectorAll('svg rect').length,
                   scripts: opened.querySelectorAll('script').length} : null;
}"""


@pytest.mark.browser
@pytest.mark.parametrize("role", ["analyst", "planner"])
def test_the_emerging_layer_shows_on_the_hotspot_map_with_a_chart(server, browser, role):
    base, tokens = server
    context, page = _login(browser, base, tokens[role])
    problems, dialogs = _watch(page, base)
    try:
        response = page.goto(f"{base}/maps/hotspots?category=drugs")
        assert response.status == 200
        page.wait_for_selector(".leaflet-container", timeout=60_000)
        control = page.locator(".leaflet-control-layers").inner_text()
        assert LAYER_NAME in control
        legend = page.locator(".veilig-legend").inner_text()
        assert LAYER_NAME in legend and "hotspot:" in legend
        assert "Synthetische data" in page.locator(".veilig-title").inner_text()
        popup = page.evaluate(OPEN_FIRST_POPUP, LAYER_NAME)
        assert popup is not None and popup["svg"] > 0 and popup["scripts"] == 0
        assert "Trend (Mann-Kendall op z)" in popup["html"]
        if role == "planner":
            assert "polyline" not in popup["html"]  # no z line for planners
        assert problems == [], problems
        assert dialogs == [], dialogs
    finally:
        context.close()
