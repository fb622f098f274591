"""Map builders: offline pages, escaped values, legends and layers, size, empty inputs.

Pure tests: analysis results in, HTML out, checked as text (the browser tests drive Chromium).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from helpers import require

from veilig.errors import VeiligError
from veilig.geo.clusters import cluster_polygons
from veilig.geo.neighbourhoods import ATTRIBUTION, load_buurten
from veilig.maps.base import (
    COORD_SCALE,
    TileOptions,
    encode_polygons,
    escape_html,
    json_for_script,
)
from veilig.maps.hotspots import EMPTY_MESSAGE, build_hotspot_map
from veilig.maps.pages import index_page, login_page
from veilig.maps.rhythm import build_rhythm_map
from veilig.maps.subsidy import build_subsidy_map

REPO = Path(__file__).resolve().parents[1]
SCRIPT_XSS = "<script>alert(1)</script>"
IMG_XSS = "<img src=x onerror=alert(1)>"
HOSTILE = f"{SCRIPT_XSS}{IMG_XSS}`${{alert(2)}}`\\'\""
RAW_HOSTILE = (SCRIPT_XSS, IMG_XSS, "<img", "`", "${")
#: An event-handler attribute inside a tag (escaped text such as "onerror=" outside a tag is harmless).
EVENT_HANDLER = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
PDOK = "https://service.pdok.nl/"
ABSOLUTE_URL = re.compile(r"""https?://[^\s"'<>()\\]+""", re.IGNORECASE)
PROTOCOL_RELATIVE = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?//""", re.IGNORECASE)
PAYLOAD = re.compile(r"veiligMaps\.(polygons|symbols|points)\((\{.*?\})\);\n", re.DOTALL)


# --------------------------------------------------------------------------------- inputs


def hotspot_inputs(rng: np.random.Generator, n_clusters: int = 5, n_cells: int = 40, hostile: bool = False):
    buurten = load_buurten()
    buurten["n_incidents"] = [None if i % 9 == 4 else int(v) for i, v in enumerate(rng.integers(0, 80, len(buurten)))]
    buurten["gi_z"] = rng.normal(0, 2, len(buurten))
    buurten["gi_class"] = rng.integers(-3, 4, len(buurten))
    if hostile:
        buurten.loc[0, "statnaam"] = HOSTILE
    xmin, ymin, xmax, ymax = buurten.total_bounds
    centres = np.c_[rng.uniform(xmin, xmax, n_clusters), rng.uniform(ymin, ymax, n_clusters)]
    pts = np.repeat(centres, 20, axis=0) + rng.normal(0, 60, (n_clusters * 20, 2))
    polys = cluster_polygons(pts, np.repeat(np.arange(n_clusters), 20), 75.0)
    clusters = gpd.GeoDataFrame(
        {
            "cluster_id": np.arange(1, n_clusters + 1),
            "category": "burglary",
            "n_incidents": 20,
            "area_m2": shapely.area(polys),
            "buurten": [["BU06370101", "BU06370102"]] * n_clusters,
        },
        geometry=polys,
        crs="EPSG:28992",
    )
    if hostile:
        clusters["cluster_id"] = clusters["cluster_id"].astype(object)
        clusters.loc[0, "cluster_id"] = HOSTILE
        clusters.loc[0, "category"] = HOSTILE
        clusters.at[0, "buurten"] = f"BU06370101,{HOSTILE}"
    gx, gy = np.meshgrid(np.arange(xmin, xmax, 100), np.arange(ymin, ymax, 100))
    idx = rng.choice(gx.size, n_cells, replace=False)
    x0, y0 = gx.ravel()[idx], gy.ravel()[idx]
    grid = gpd.GeoDataFrame(
        {
            "n_incidents": rng.integers(0, 50, n_cells),
            "gi_z": rng.normal(0, 3, n_cells),
            "gi_p": rng.random(n_cells),
            "gi_class": rng.choice([-3, -2, -1, 1, 2, 3], n_cells),
        },
        geometry=shapely.box(x0, y0, x0 + 100, y0 + 100),
        crs="EPSG:28992",
    )
    return buurten, clusters, grid


def incident_points(rng: np.random.Generator, n: int, buurten: gpd.GeoDataFrame) -> pd.DataFrame:
    xmin, ymin, xmax, ymax = buurten.total_bounds
    return pd.DataFrame(
        {
            "x": rng.uniform(xmin, xmax, n),
            "y": rng.uniform(ymin, ymax, n),
            "category": rng.choice(["woninginbraak", "inbraak_schuur", "drugs"], n),
            "occurred_at": pd.Timestamp("2023-01-01", tz="Europe/Amsterdam")
            + pd.to_timedelta(rng.integers(0, 3 * 365 * 24 * 60, n), unit="min"),
            "description": "VERTROUWELIJK-omschrijving",
        }
    )


def subsidy_inputs(rng: np.random.Generator, hostile: bool = False):
    buurten = load_buurten()
    buurten["burglaries"] = [None if i % 7 == 0 else int(v) for i, v in enumerate(rng.integers(5, 60, len(buurten)))]
    buurten["burglary_rate"] = [None if v is None else v / 3.1 for v in buurten["burglaries"]]
    buurten["grants"] = rng.integers(0, 30, len(buurten))
    buurten["granted_cents"] = buurten["grants"] * 25_000 + 56
    buurten.loc[1, "granted_cents"] = 123_456
    if hostile:
        buurten.loc[0, "statnaam"] = HOSTILE
    budget = {
        "pilot_id": 1,
        "total_cents": 10_000_000,
        "reserved_cents": 2_345_678,
        "paid_cents": 3_000_000,
        "remaining_cents": 4_654_322,
        "projected_exhaustion_date": date(2026, 9, 14),
    }
    return buurten, budget


def rhythm_inputs(rng: np.random.Generator, hostile: bool = False):
    from veilig.geo.shiftplan import build_areas

    buurten = load_buurten()
    if hostile:
        buurten.loc[0, "statnaam"] = HOSTILE
    hot = gpd.GeoDataFrame(
        {"cluster_id": [1, 2]},
        geometry=[buurten.geometry[3].centroid.buffer(300), buurten.geometry[10].centroid.buffer(250)],
        crs=buurten.crs,
    )
    areas = build_areas(buurten, hot, id_column="cluster_id")
    areas["expected"] = rng.random(len(areas)) * 3
    areas["rank"] = np.nan
    top = areas["expected"].sort_values(ascending=False).index[:4]
    areas.loc[top, "rank"] = [1, 2, 3, 4]
    counts = [[int(rng.poisson(6 + (10 if d >= 4 and 18 <= h <= 23 else 0))) for h in range(24)] for d in range(7)]
    counts[0][3] = None
    return areas, counts, str(areas.loc[top[0], "area_id"])


def all_pages(tiles: TileOptions | None, hostile: bool = False) -> dict[str, str]:
    rng = np.random.default_rng(7)
    buurten, clusters, grid = hotspot_inputs(rng, hostile=hostile)
    points = incident_points(rng, 300, buurten)
    if hostile:
        points.loc[0, "category"] = HOSTILE
    name = HOSTILE if hostile else "Stadscentrum"
    sub_buurten, budget = subsidy_inputs(rng, hostile)
    areas, counts, selected = rhythm_inputs(rng, hostile)
    return {
        "hotspots_analyst": build_hotspot_map(
            buurten, clusters, grid, points, title=f"Hotspots {name}", category_label=name,
            period_label=name, tiles=tiles, synthetic=True),
        "hotspots_planner": build_hotspot_map(
            buurten, clusters, grid, None, title="Hotspots inbraak", category_label="Inbraak",
            period_label="2025", tiles=tiles),
        "subsidy": build_subsidy_map(sub_buurten, budget, tiles=tiles, title=f"Subsidie {name}"),
        "rhythm": build_rhythm_map(
            areas, counts, theme_label=name, weekday_label="vrijdag", shift_label="16-24",
            selected_name=name, peaks=[(4, 21), (5, 22)], period_label="week 2026-W10",
            selected_id=selected, tiles=tiles),
        "login": login_page(name if hostile else "Onbekend of ongeldig token."),
        "index": index_page(name, "subsidy", [(f"Hotspotkaart {name}", "/maps/hotspots?category=drugs&x=1")], budget),
    }


def payloads(html: str) -> list[tuple[str, dict]]:
    return [(kind, json.loads(text)) for kind, text in PAYLOAD.findall(html)]


def strings_in(obj) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in strings_in(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in strings_in(v)]
    return []


# -------------------------------------------------------------------------------- offline


@pytest.mark.parametrize("tiles_on", [False, True], ids=["tiles-off", "tiles-on"])
def test_pages_contact_no_origin_but_the_app_and_the_tile_server(tiles_on):
    pages = all_pages(TileOptions() if tiles_on else None)
    for name, html in pages.items():
        urls = ABSOLUTE_URL.findall(html)
        if tiles_on and name not in ("login", "index"):
            assert urls, name
            origins = {"{0.scheme}://{0.netloc}".format(urlsplit(u.rstrip(";"))) for u in urls}
            assert origins == {"https://service.pdok.nl"}, (name, sorted(set(urls)))
        else:
            assert urls == [], (name, urls)
        assert not PROTOCOL_RELATIVE.search(html), name
        for src in re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", html):
            assert src.startswith("/static/"), (name, src)
        for href in re.findall(r"<link[^>]*\bhref=\"([^\"]*)\"", html):
            assert href.startswith("/static/") or href == "data:,", (name, href)


def test_maps_load_only_the_vendored_leaflet_no_jquery_bootstrap_or_fonts():
    html = all_pages(None)["hotspots_planner"]
    scripts = re.findall(r"<script[^>]*\bsrc=\"([^\"]*)\"", html)
    styles = re.findall(r"<link[^>]*rel=\"stylesheet\"[^>]*href=\"([^\"]*)\"", html) or re.findall(
        r"<link[^>]*href=\"([^\"]*\.css)\"", html)
    assert scripts == ["/static/vendor/leaflet/leaflet.js"]
    assert styles == ["/static/vendor/leaflet/leaflet.css"]
    lowered = html.lower()
    for word in ("jquery", "bootstrap", "fontawesome", "font-awesome", "awesome-markers", "glyphicon", "$("):
        assert word not in lowered, word


def test_vendored_layout_matches_the_urls_the_maps_use():
    vendor = REPO / "api" / "static" / "vendor" / "leaflet"
    require((vendor / ".version").exists(), "Leaflet not vendored here: run scripts/vendor_static.sh")
    assert (vendor / ".version").read_text().strip() == "leaflet@1.9.4"
    for f in ("leaflet.js", "leaflet.css", "images/layers.png"):
        assert (vendor / f).is_file(), f
    # leaflet.css finds its images next to it and loads nothing from another origin.
    css = (vendor / "leaflet.css").read_text()
    refs = re.findall(r"url\(\s*['\"]?([^'\")]+)", css)
    assert "images/layers.png" in refs
    assert all(not re.match(r"(?:[a-z]+:)?//", r) for r in refs), refs


def test_a_page_that_would_load_a_cdn_asset_is_refused_not_served():
    from folium.plugins import MarkerCluster

    from veilig.maps.base import make_map, render_page

    m = make_map("t", None)
    MarkerCluster().add_to(m)  # a plugin whose script and styles come from a public CDN
    with pytest.raises(ValueError, match="third-party origin"):
        render_page(m)


def test_every_page_carries_a_csp_that_allows_only_its_own_inline_scripts():
    for tiles in (None, TileOptions()):
        for name, html in all_pages(tiles).items():
            csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', html)
            assert csp, name
            policy = csp.group(1)
            assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0], name
            inline = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
            for body in inline:
                digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in policy, name
            img = policy.split("img-src")[1].split(";")[0]
            assert ("https://service.pdok.nl" in img) == (tiles is not None and name not in ("login", "index"))
            assert '<html lang="nl">' in html


def test_tile_options_are_pdok_variants_with_kadaster_attribution_and_zoom_6_to_19():
    html = build_hotspot_map(*hotspot_inputs(np.random.default_rng(1)), title="t", category_label="c",
                             period_label="p", tiles=TileOptions(variant="pastel"))
    for variant in ("standaard", "grijs", "pastel", "water"):
        assert f"{PDOK}brt/achtergrondkaart/wmts/v2_0/{variant}/EPSG:3857/{{z}}/{{x}}/{{y}}.png" in html
    assert "Kaartgegevens \\u0026copy; Kadaster" in html
    assert '"minZoom": 6' in html and '"maxZoom": 19' in html
    with pytest.raises(VeiligError):
        TileOptions(variant="satelliet")
    with pytest.raises(VeiligError):
        TileOptions(url="ftp://tiles.example/{z}/{x}/{y}.png")


# ------------------------------------------------------------------------------- escaping


def test_hostile_names_never_reach_a_page_unescaped():
    pages = all_pages(TileOptions(), hostile=True)
    for name, html in pages.items():
        for raw in RAW_HOSTILE:
            assert raw not in html, (name, raw)
        assert not EVENT_HANDLER.search(html), (name, EVENT_HANDLER.search(html).group(0))
        # The escaped form is there: the name is shown, literally (written out by hand, not by
        # the escaping functions under test).
        shown = "&lt;script&gt;alert(1)&lt;/script&gt;"
        in_script = "\\u0026lt;script\\u0026gt;alert(1)\\u0026lt;/script\\u0026gt;"
        assert shown in html or in_script in html, name


def test_values_that_reach_innerhtml_are_escaped_before_they_are_embedded():
    html = all_pages(None, hostile=True)["hotspots_analyst"]
    found = payloads(html)
    assert {k for k, _ in found} == {"polygons", "points"}
    for kind, payload in found:
        trusted = payload.get("t") if isinstance(payload.get("t"), str) else None
        for s in strings_in(payload):
            if s == trusted:
                continue
            assert not set(s) & set("<>\"'`$\\"), (kind, s)
    buurt_values = found[0][1]["f"][0][2]
    assert buurt_values[0] == ("&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
                               "&#96;&#36;{alert(2)}&#96;&#92;&#x27;&quot;")


def test_escape_helpers():
    assert escape_html(IMG_XSS) == "&lt;img src=x onerror=alert(1)&gt;"
    assert escape_html(SCRIPT_XSS) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert escape_html("https://a///b") == "https:/&#47;a/&#47;/b"
    assert escape_html("`${x}`\\") == "&#96;&#36;{x}&#96;&#92;"
    assert escape_html(None) == "" and escape_html(float("nan")) == ""
    text = json_for_script({"a": "</script><!-- & ' \u2028"})
    assert "</" not in text and "<!--" not in text and "&" not in text and "'" not in text
    assert json.loads(text) == {"a": "</script><!-- & ' \u2028"}
    with pytest.raises(ValueError):
        json_for_script({"a": float("nan")})


def test_a_name_that_looks_like_a_url_is_shown_not_refused():
    rng = np.random.default_rng(14)
    buurten, clusters, grid = hotspot_inputs(rng)
    buurten.loc[0, "statnaam"] = "https://evil.example/x.js"
    buurten.loc[1, "statnaam"] = "//evil.example/y.js"
    html = build_hotspot_map(buurten, clusters, grid, None, title="t", category_label="c", period_label="p")
    assert "evil.example" in html
    assert not ABSOLUTE_URL.search(html) and "//evil" not in html


def test_incident_descriptions_never_appear_in_the_map():
    rng = np.random.default_rng(3)
    buurten, clusters, grid = hotspot_inputs(rng)
    points = incident_points(rng, 200, buurten)
    html = build_hotspot_map(buurten, clusters, grid, points, title="t", category_label="c", period_label="p")
    assert "VERTROUWELIJK" not in html


def test_index_page_refuses_links_off_the_site():
    for href in ("javascript:alert(1)", "//evil.example/x", "https://evil.example/", "/\\evil"):
        with pytest.raises(ValueError):
            index_page("u", "planner", [("x", href)], None)


# -------------------------------------------------------------------- legends and layers


def test_hotspot_map_has_dutch_legend_and_named_layers():
    rng = np.random.default_rng(5)
    buurten, clusters, grid = hotspot_inputs(rng)
    points = incident_points(rng, 100, buurten)
    html = build_hotspot_map(buurten, clusters, grid, points, title="Hotspots inbraak",
                             category_label="Inbraak", period_label="2025", tiles=None, synthetic=True)
    for text in ("Legenda", "Buurten: aantal incidenten", "Gi*-raster (100 m)", "Hotspots (clusters)",
                 "Incidenten (punten)", "heet, 99 %", "koud, 95 %", "L.control.layers", "Synthetische data",
                 "Geen woningaantallen bekend", "&lt;5 (verborgen)", ATTRIBUTION, 'id="veilig-legend"'):
        assert text in html, text
    planner = build_hotspot_map(buurten, clusters, grid, None, title="t", category_label="c", period_label="p")
    assert "Incidenten (punten)" not in planner and "veiligMaps.points" not in planner
    assert "Synthetische data" not in planner


def test_choropleth_shows_the_rate_per_1000_dwellings_when_known():
    rng = np.random.default_rng(6)
    buurten, clusters, grid = hotspot_inputs(rng)
    buurten["rate_per_1000"] = [None if n is None else n / 2.5 for n in buurten["n_incidents"]]
    html = build_hotspot_map(buurten, clusters, grid, None, title="t", category_label="Inbraak", period_label="p")
    assert "Inbraak per 1.000 woningen (per buurt)" in html
    assert "Buurten: incidenten per 1.000 woningen" in html
    assert "Geen woningaantallen bekend" not in html


def test_choropleth_classes_are_labelled_with_the_values_they_hold():
    from veilig.maps.base import classify

    classes = classify([0, 0, 0, None, 5, 6, 7, 8, 9, 16, 31, None], k=5)
    # Zero is a class of its own, the rest are quantiles of the positive counts; not "1 – 6": 1-4 are hidden.
    assert classes.labels == ("0", "5 – 7", "8", "9", "16 – 31")
    assert list(classes.index) == [0, 0, 0, -1, 1, 1, 1, 2, 3, 4, 4, -1]
    assert classes.colors[0] != classes.colors[-1]
    assert classify([1.94, 5.9, 12.3], integer=False).labels == ("1,9", "5,9", "12,3")
    assert classify([None, None]).labels == ()


def test_subsidy_map_shows_grants_burglaries_and_the_budget_in_dutch():
    buurten, budget = subsidy_inputs(np.random.default_rng(8))
    html = build_subsidy_map(buurten, budget, tiles=None)
    for text in ("Inbraken per 1.000 woningen", "Subsidies: toegekend bedrag", "Legenda",
                 "€ 100.000,00", "€ 23.456,78", "€ 30.000,00", "€ 46.543,22", "14 september 2026",
                 "Totaal (subsidieplafond)", "Gereserveerd", "Uitbetaald", "Resterend", "€ 1.234,56"):
        assert text in html, text
    no_pace = build_subsidy_map(buurten, {**budget, "projected_exhaustion_date": None})
    assert "geen voorspelling" in no_pace
    assert "nog geen subsidiepilot" in build_subsidy_map(buurten, None)


def test_rhythm_map_draws_the_heat_table_with_peaks_and_the_ranked_areas():
    areas, counts, selected = rhythm_inputs(np.random.default_rng(9))
    html = build_rhythm_map(areas, counts, theme_label="Jeugd", weekday_label="vrijdag", shift_label="16-24",
                            selected_name="Stadscentrum", peaks=[(4, 21), (5, 22)], selected_id=selected)
    svg = re.search(r"<svg class=\"veilig-heat\".*?</svg>", html, re.DOTALL).group(0)
    cells = re.findall(r"<rect[^>]*><title>([^<]*)</title></rect>", svg)
    assert len([c for c in cells if c != "gekozen dienst"]) == 7 * 24
    assert sum("(piek)" in c for c in cells) == 2
    assert "maandag 03:00-04:00: &lt;5 (verborgen)" in cells
    assert any(c == "gekozen dienst" for c in cells)  # vrijdag 16-24 framed
    for text in ("Gebieden in het dienstplan", "rang 1 (hoogste verwachting)", "Ritme: gebied 1 \u2014 Stadscentrum",
                 "Ritme van de Stad: Jeugd"):
        assert text in html, text
    labels = [p for k, p in payloads(html) if k == "polygons"][0]
    assert sorted(f[3][2] for f in labels["f"] if len(f) > 3) == ["1", "2", "3", "4"]
    by_name = build_rhythm_map(areas, counts, theme_label="Jeugd", weekday_label="vrijdag", shift_label="16-24",
                               selected_name=str(areas.set_index("area_id").loc[selected, "area_name"]))
    assert "gekozen gebied (ritme rechtsonder)" in by_name
    with pytest.raises(VeiligError):
        build_rhythm_map(areas, counts[:6], theme_label="j", weekday_label="vrijdag", shift_label="16-24",
                         selected_name="x")


def test_small_counts_are_hidden_from_non_analysts_in_every_layer():
    rng = np.random.default_rng(13)
    buurten, clusters, grid = hotspot_inputs(rng, n_clusters=2, n_cells=3)
    buurten["n_incidents"] = [3, 0] + [20] * (len(buurten) - 2)
    buurten["rate_per_1000"] = [1.5, 0.0] + [9.0] * (len(buurten) - 2)
    clusters["n_incidents"] = [4, 30]
    grid["n_incidents"] = [1, 0, 12]
    html = build_hotspot_map(buurten, clusters, grid, None, title="t", category_label="c", period_label="p",
                             hide_below=5)
    polygons = [p for k, p in payloads(html) if k == "polygons"]
    buurt_values = {f[2][1]: f[2] for f in polygons[0]["f"]}
    first, second = buurten["statcode"].iloc[0], buurten["statcode"].iloc[1]
    assert buurt_values[first][2:4] == ["&lt;5", "-"]  # count and its rate hidden
    assert buurt_values[second][2] == "0"  # zero reveals nobody
    assert sorted(f[2][0] for f in polygons[1]["f"]) == sorted(["0", "12", "&lt;5"])  # grid cells
    assert sorted(f[2][2] for f in polygons[2]["f"]) == sorted(["30", "&lt;5"])  # clusters
    with pytest.raises(VeiligError, match="analysts only"):
        build_hotspot_map(buurten, clusters, grid, incident_points(rng, 5, buurten), title="t",
                          category_label="c", period_label="p", hide_below=5)
    ten = build_hotspot_map(buurten, clusters, grid, None, title="t", category_label="c", period_label="p",
                            hide_below=10)
    assert "&lt;10 (verborgen)" in ten and "Aantallen onder 10 zijn verborgen." in ten
    areas, counts, selected = rhythm_inputs(rng)
    counts[4][21] = 3
    rhythm = build_rhythm_map(areas, counts, theme_label="j", weekday_label="vrijdag", shift_label="16-24",
                              selected_name="x", peaks=[(4, 21), (5, 22)], hide_below=5)
    assert "vrijdag 21:00-22:00: &lt;5 (verborgen)" in rhythm
    assert rhythm.count("(piek)") == 1


# ------------------------------------------------------------------------ reprojection


def test_polygons_are_reprojected_from_rd_new_and_decode_to_within_a_metre():
    buurten = load_buurten()
    holed = buurten.geometry[0].difference(buurten.geometry[0].centroid.buffer(100))
    multi = shapely.MultiPolygon([buurten.geometry[1], buurten.geometry[2].buffer(-50)])
    rd = gpd.GeoSeries([holed, multi], crs="EPSG:28992")
    wgs = rd.to_crs("EPSG:4326")
    origin = (5_200_000, 440_000)
    for geom, enc in zip(wgs, encode_polygons(wgs.values, origin), strict=True):
        polys = []
        for part in enc:
            rings = []
            for ring in part:
                lat, lon = origin[0] + np.cumsum(ring[0::2]), origin[1] + np.cumsum(ring[1::2])
                rings.append(np.c_[lon, lat] / COORD_SCALE)
            polys.append(shapely.Polygon(rings[0], rings[1:]))
        decoded = shapely.MultiPolygon(polys) if len(polys) > 1 else polys[0]
        assert decoded.geom_type == geom.geom_type
        assert len(shapely.get_rings(decoded)) == len(shapely.get_rings(geom))
        assert shapely.hausdorff_distance(decoded, geom) < 1.5 / COORD_SCALE


def test_layers_not_in_rd_new_are_refused():
    buurten, clusters, grid = hotspot_inputs(np.random.default_rng(2))
    with pytest.raises(VeiligError, match="RD New"):
        build_hotspot_map(buurten.to_crs(4326), clusters, grid, title="t", category_label="c", period_label="p")


# ------------------------------------------------------------------------------ size


def test_50000_points_are_one_compact_array_on_canvas():
    rng = np.random.default_rng(11)
    buurten, clusters, grid = hotspot_inputs(rng)
    base = build_hotspot_map(buurten, clusters, grid, None, title="t", category_label="c", period_label="p")
    points = incident_points(rng, 50_000, buurten)
    html = build_hotspot_map(buurten, clusters, grid, points, title="t", category_label="c", period_label="p")
    per_point = (len(html) - len(base)) / 50_000
    print(f"\n50,000 points: {len(html):,} bytes ({per_point:.1f} bytes per point; without points {len(base):,})")
    assert per_point < 20
    assert len(html) < 1_500_000
    assert html.count("L.circleMarker(") == 2  # the runtime's two uses, no marker per point
    (kind, payload), = [(k, p) for k, p in payloads(html) if k == "points"]
    assert len(payload["lat"]) == len(payload["lon"]) == len(payload["t"]) == len(payload["c"]) == 50_000


def test_planner_map_of_1000_clusters_and_3000_cells_stays_under_1_mb():
    rng = np.random.default_rng(12)
    buurten, clusters, grid = hotspot_inputs(rng, n_clusters=1000, n_cells=3000)
    html = build_hotspot_map(buurten, clusters, grid, None, title="Hotspots inbraak", category_label="Inbraak",
                             period_label="2025", tiles=TileOptions())
    print(f"\nplanner map, 26 buurten + 1,000 clusters + 3,000 Gi* cells: {len(html.encode()):,} bytes")
    assert len(html.encode()) < 1_000_000
    drawn = [len(p["f"]) for _, p in payloads(html)]
    assert sorted(drawn) == [26, 1000, 3000]


def test_same_results_give_the_same_bytes():
    rng1, rng2 = np.random.default_rng(4), np.random.default_rng(4)
    a = build_hotspot_map(*hotspot_inputs(rng1), title="t", category_label="c", period_label="p")
    b = build_hotspot_map(*hotspot_inputs(rng2), title="t", category_label="c", period_label="p")
    assert a == b


# ------------------------------------------------------------------------- empty inputs


def _empty(columns: list[str]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs="EPSG:28992")


def _assert_valid_page(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "L.map(" in html and 'id="veilig-legend"' in html


def test_empty_inputs_give_a_valid_map_that_says_so():
    buurten = _empty(["statcode", "statnaam", "n_incidents", "gi_z", "gi_class"])
    clusters = _empty(["cluster_id", "category", "n_incidents", "area_m2", "buurten"])
    grid = _empty(["n_incidents", "gi_z", "gi_p", "gi_class"])
    points = pd.DataFrame({"x": [], "y": [], "category": [], "occurred_at": pd.to_datetime([], utc=True)})
    for pts in (None, points):
        html = build_hotspot_map(buurten, clusters, grid, pts, title="t", category_label="c", period_label="p")
        _assert_valid_page(html)
        assert EMPTY_MESSAGE in html
    # Real buurten with nothing in them: the choropleth is drawn, and the message is there.
    zero = load_buurten().assign(n_incidents=0, gi_z=0.0, gi_class=0)
    html = build_hotspot_map(zero, clusters, grid, None, title="t", category_label="c", period_label="p")
    _assert_valid_page(html)
    assert EMPTY_MESSAGE in html
    sub = _empty(["statcode", "statnaam", "grants", "granted_cents", "burglaries"])
    _assert_valid_page(build_subsidy_map(sub, None))
    areas = _empty(["area_id", "area_name", "rank", "expected"])
    html = build_rhythm_map(areas, [[0] * 24 for _ in range(7)], theme_label="Jeugd", weekday_label="vrijdag",
                            shift_label="16-24", selected_name="-", peaks=[])
    _assert_valid_page(html)
    assert "Geen incidenten in deze periode." in html and "geen significante pieken" in html


def test_builders_work_on_the_hotspot_pipeline_output():
    from veilig.geo.demo import generate_incidents
    from veilig.geo.hotspots import compute_hotspots

    incidents = generate_incidents(2, 6000)
    result = compute_hotspots(incidents, "burglary")
    # The pipeline's points carry category and time; a description column must still never show.
    points = result.points.merge(incidents[["id", "description"]], on="id")
    html = build_hotspot_map(result.buurten, result.clusters, result.grid, points, title="Hotspots",
                             category_label="Inbraak", period_label="demo", synthetic=result.synthetic)
    _assert_valid_page(html)
    assert "Synthetische data" in html
    kind, buurt_layer = payloads(html)[0]
    assert kind == "polygons" and len(buurt_layer["f"]) == 26
    descriptions = [d for d in incidents["description"].dropna().unique() if len(d) > 12]
    assert descriptions and not any(escape_html(d) in html or d in html for d in descriptions)
