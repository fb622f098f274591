"""The hotspot map: buurt choropleth, hotspot clusters, Gi* grid classes and (analysts only) points.

Pure: analysis results in (GeoDataFrames in RD New), one HTML page out. Incident points are drawn
on a canvas from one compact columnar array; they carry category and time only, never free text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from veilig.errors import VeiligError
from veilig.geo.categories import LABELS_NL
from veilig.geo.neighbourhoods import ATTRIBUTION
from veilig.geo.timeutil import TZ_NAME

from .base import TileOptions, add_layer_control, add_panel, make_map, render_page, title_html
from .classes import HIDDEN_COLOR_ON_GREY, NO_DATA_COLOR, SEQUENTIAL_GREY, LegendItem, classify, legend_html
from .geometry import COORD_SCALE, bounds_of, points_to_wgs84, polygon_payload, quantize, to_wgs84
from .runtime import DataLayer
from .text import escape_html, format_count, format_decimal, format_int, hidden_label, hide_small, is_missing

EMPTY_MESSAGE = "Geen incidenten in deze periode."

#: Gi* class -> (colour, label): diverging red (hot) / blue (cold), ColorBrewer RdBu.
GI_CLASSES: dict[int, tuple[str, str]] = {
    3: ("#b2182b", "heet, 99 %"),
    2: ("#ef8a62", "heet, 95 %"),
    1: ("#fddbc7", "heet, 90 %"),
    -1: ("#d1e5f0", "koud, 90 %"),
    -2: ("#67a9cf", "koud, 95 %"),
    -3: ("#2166ac", "koud, 99 %"),
}
GI_NOT_SIGNIFICANT = "niet significant"

CLUSTER_COLOR = "#54278f"

#: Point colours per category (the rest cycle through OTHER_POINT_COLORS).
POINT_COLORS: dict[str, str] = {
    "woninginbraak": "#d7301f",
    "inbraak_schuur": "#fc8d59",
    "drugs": "#6a3d9a",
    "overlast_jeugd": "#1f78b4",
    "alcohol": "#33a02c",
    "evenement": "#ff7f00",
    "melding_wijkzorg": "#b15928",
    "overig": "#636363",
}
OTHER_POINT_COLORS = ("#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1b9e77", "#7570b3")
RATE_COLUMNS = ("rate_per_1000", "rate_per_1000_dwellings")


def build_hotspot_map(
    buurten: gpd.GeoDataFrame,
    clusters: gpd.GeoDataFrame,
    grid: gpd.GeoDataFrame,
    points: pd.DataFrame | None = None,
    *,
    title: str,
    category_label: str,
    period_label: str,
    value_field: str = "n_incidents",
    tiles: TileOptions | None = None,
    synthetic: bool = False,
    hide_below: int | None = None,
    static_prefix: str = "/static",
    overlays: Sequence[tuple[DataLayer, tuple[str, list[LegendItem]]]] = (),
    analysis_note: str | None = None,
) -> str:
    """The hotspot map as one HTML page.

    Parameters
    ----------
    buurten : GeoDataFrame (EPSG:28992)
        ``statcode``, ``statnaam``, ``value_field`` (int, or None when hidden: shown as "<5"),
        ``gi_z``, ``gi_class``; optional ``rate_per_1000`` (or ``rate_per_1000_dwellings``): when it
        has values the choropleth shows the rate per 1,000 dwellings, otherwise the count.
    clusters : GeoDataFrame (EPSG:28992)
        ``cluster_id``, ``category``, ``n_incidents``, ``area_m2``, ``buurten`` (statcodes: a list
        or a comma-separated string).
    grid : GeoDataFrame (EPSG:28992)
        Study-grid cells: ``n_incidents``, ``gi_z``, ``gi_p``, ``gi_class`` (-3..3); class 0 is not drawn.
    points : DataFrame, optional
        Analysts only: ``x``, ``y`` (RD New), ``category``, ``occurred_at`` (timezone-aware; naive
        times are taken as Europe/Amsterdam wall time). Any other column is ignored: no free text
        ever reaches the page.
    title, category_label, period_label : str
        Shown in the title panel (escaped).
    value_field : str
        The buurt count column.
    tiles : TileOptions or None
        Background tiles, None for none.
    synthetic : bool
        Show the synthetic-data notice.
    hide_below : int, optional
        For non-analysts: counts ``1 .. hide_below-1`` in buurten, clusters and grid cells are
        shown as ``"<hide_below"`` (and the buurt rate with them); incident points are refused.
        Counts that arrive as None are shown hidden in any case.
    overlays : sequence of (layer, legend section)
        Layers built elsewhere (the emerging hot spots of :mod:`veilig.maps.emerging`, the alert
        zones of :mod:`veilig.maps.nearrepeat`), drawn after the clusters, each with its
        ``(heading, [LegendItem, ...])``; their privacy is the caller's.
    analysis_note : str, optional
        The null and the scale (e.g. from :func:`analysis_note`), added to the subtitle.

    Returns
    -------
    str
        A complete HTML document that loads only ``/static`` assets (and tiles, when on).

    Notes
    -----
    Size is linear in the features: about 40 bytes per grid cell, 100-300 per cluster and 14 per
    point, independent of how many incidents the aggregates summarise.
    """
    buurten = _frame(buurten, "buurten")
    clusters = _frame(clusters, "clusters")
    grid = _frame(grid, "grid")
    if value_field not in buurten.columns and len(buurten):
        raise VeiligError(f"buurten: no column '{value_field}'")
    if hide_below is not None:
        if points is not None:
            raise VeiligError("incident points are for analysts only: do not combine them with hide_below")
        buurten = _hide(buurten, value_field, hide_below)
        clusters = _hide(clusters, "n_incidents", hide_below)
        grid = _hide(grid, "n_incidents", hide_below)
    hidden = hidden_label(hide_below)

    names = dict(zip(buurten.get("statcode", []), buurten.get("statnaam", []), strict=False))
    all_cells, n_cells = grid, len(grid)
    grid = _significant_cells(grid)
    # Reprojected once each, at the map's edge; cluster outlines simplified to 2 m first.
    wgs = {
        "buurten": to_wgs84(buurten, "buurten"),
        "clusters": to_wgs84(clusters, "clusters", simplify_m=2.0),
        "grid": to_wgs84(grid, "grid"),
    }
    m = make_map(title, tiles, bounds_of(*wgs.values()), static_prefix=static_prefix)

    legend: list[tuple[str, list[LegendItem]]] = []
    notes: list[str] = []

    buurt_layer, buurt_legend, buurt_notes = _buurt_layer(buurten, wgs["buurten"], value_field, category_label, hidden)
    if buurt_layer is not None:
        buurt_layer.add_to(m)
        legend.append(buurt_legend)
        notes.extend(buurt_notes)

    grid_layer, grid_legend = _grid_layer(grid, wgs["grid"], hidden)
    if grid_layer is not None:
        grid_layer.add_to(m)
        legend.append(grid_legend)
    elif n_cells:
        notes.append("Gi*: geen significante rastercellen.")

    cluster_layer = _cluster_layer(clusters, wgs["clusters"], names, hidden)
    if cluster_layer is not None:
        cluster_layer.add_to(m)
        legend.append(("Hotspots (clusters)", [LegendItem(CLUSTER_COLOR, _cluster_label(clusters), "line")]))

    for layer, section in overlays:
        layer.add_to(m)
        legend.append(section)

    label_layer = _label_layer(wgs["buurten"])
    if label_layer is not None:
        label_layer.add_to(m)

    n_points = 0
    if points is not None:
        point_layer, point_legend, n_points = _point_layer(points)
        if point_layer is not None:
            point_layer.add_to(m)
            legend.append(point_legend)

    messages = [] if _has_incidents(buurten, value_field, clusters, all_cells, points) else [EMPTY_MESSAGE]
    subtitle = f"{category_label} · {period_label}"
    if analysis_note:
        subtitle += f" · {analysis_note}"
    if points is not None:
        subtitle += f" · {format_int(n_points)} incidenten als punten"
    add_panel(m, title_html(title, subtitle, synthetic=synthetic, messages=messages), "veilig-title", "veilig-title")
    notes.append(f"Grenzen: {ATTRIBUTION}.")
    add_panel(m, legend_html(legend, " ".join(notes)), "veilig-legend", "veilig-legend")
    add_layer_control(m)
    return render_page(m)


# ------------------------------------------------------------------------------ layers

_LABEL_CSS = (
    "<style>.veilig-buurtlabel div { font: 600 11px/1.2 system-ui, sans-serif; color: #1f2328; "
    "text-align: center; white-space: nowrap; text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff; "
    "pointer-events: none; }</style>"
)


def _label_layer(wgs: gpd.GeoDataFrame):
    """The buurt names as labels at a point inside each buurt; not interactive, so they never take
    the mouse from the polygons beneath. A layer of its own, to switch off in the layer control."""
    if not len(wgs) or "statnaam" not in wgs.columns:
        return None
    group = folium.FeatureGroup(name="Buurtnamen", show=True)
    group.add_child(folium.Element(_LABEL_CSS))
    for name, geom in zip(wgs["statnaam"], wgs.geometry.values, strict=True):
        if geom is None or geom.is_empty or is_missing(name):
            continue
        at = geom.representative_point()
        folium.Marker(
            location=[round(at.y, 6), round(at.x, 6)], interactive=False, keyboard=False,
            icon=folium.DivIcon(html=f"<div>{escape_html(str(name))}</div>", class_name="veilig-buurtlabel",
                                icon_size=(160, 14), icon_anchor=(80, 7)),
        ).add_to(group)
    return group


def _frame(gdf, name: str) -> gpd.GeoDataFrame:
    if gdf is None:
        return gpd.GeoDataFrame({"geometry": []}, geometry="geometry", crs="EPSG:28992")
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise VeiligError(f"{name}: expected a GeoDataFrame in EPSG:28992, got {type(gdf).__name__}")
    return gdf


def _rate_column(buurten: gpd.GeoDataFrame) -> str | None:
    for col in RATE_COLUMNS:
        if col in buurten.columns and pd.to_numeric(buurten[col], errors="coerce").notna().any():
            return col
    return None


def _gi_label(cls) -> str:
    if is_missing(cls):
        return "-"
    return GI_CLASSES.get(int(cls), (None, GI_NOT_SIGNIFICANT))[1]


def _z(value) -> str:
    return "-" if is_missing(value) else format_decimal(float(value), 2)


def _hide(gdf: gpd.GeoDataFrame, column: str, threshold: int) -> gpd.GeoDataFrame:
    if column not in gdf.columns or not len(gdf):
        return gdf
    out = gdf.copy()
    out[column] = [hide_small(v, threshold) for v in gdf[column]]
    return out


def _buurt_layer(buurten: gpd.GeoDataFrame, wgs: gpd.GeoDataFrame, value_field: str, category_label: str,
                 hidden_text: str):
    if not len(buurten):
        return None, None, []
    counts = list(buurten[value_field])
    hidden = [is_missing(c) for c in counts]
    rate_col = _rate_column(buurten)
    notes = []
    if rate_col:
        # A rate derived from a hidden count would reveal it: hide it with the count.
        shown = [None if h else buurten[rate_col].iloc[i] for i, h in enumerate(hidden)]
        classes = classify(shown, integer=False, decimals=1, palette=SEQUENTIAL_GREY)
        heading = f"{category_label} per 1.000 woningen (per buurt)"
        layer_name = "Buurten: incidenten per 1.000 woningen"
    else:
        shown = counts
        classes = classify(shown, integer=True, palette=SEQUENTIAL_GREY)
        heading = f"{category_label}: aantal per buurt"
        layer_name = "Buurten: aantal incidenten"
        notes.append("Geen woningaantallen bekend: de kaart toont aantallen, geen aantal per 1.000 woningen.")
    base = {"color": "#444444", "weight": 1, "opacity": 0.9, "fillOpacity": 0.55}
    styles = [{**base, "fillColor": c} for c in classes.colors]
    styles.append({**base, "fillColor": HIDDEN_COLOR_ON_GREY})  # hidden (<5)
    styles.append({**base, "fillColor": NO_DATA_COLOR})  # no rate (dwellings unknown)
    hidden_i, nodata_i = len(classes.colors), len(classes.colors) + 1
    style_index, values = [], []
    rate_values = buurten[rate_col] if rate_col else [None] * len(buurten)
    gi_z = buurten["gi_z"] if "gi_z" in buurten.columns else [None] * len(buurten)
    gi_class = buurten["gi_class"] if "gi_class" in buurten.columns else [None] * len(buurten)
    for i in range(len(buurten)):
        if hidden[i]:
            style_index.append(hidden_i)
        elif classes.index[i] < 0:
            style_index.append(nodata_i)
        else:
            style_index.append(int(classes.index[i]))
        rate = rate_values.iloc[i] if rate_col else None
        values.append([
            escape_html(buurten["statnaam"].iloc[i] if "statnaam" in buurten.columns else ""),
            escape_html(buurten["statcode"].iloc[i] if "statcode" in buurten.columns else ""),
            escape_html(format_count(counts[i], hidden_text)),
            escape_html("-" if hidden[i] or is_missing(rate) else format_decimal(float(rate), 1)),
            escape_html(_gi_label(gi_class.iloc[i] if hasattr(gi_class, "iloc") else gi_class[i])),
            escape_html(_z(gi_z.iloc[i] if hasattr(gi_z, "iloc") else gi_z[i])),
        ])
    tooltip = (
        "<b>{0}</b> ({1})<br>Incidenten: {2}"
        + ("<br>Per 1.000 woningen: {3}" if rate_col else "")
        + "<br>Gi*: {4} (z = {5})"
    )
    payload = polygon_payload(wgs.geometry.values, style_index, styles, tooltip, values)
    items = [LegendItem(c, lbl) for c, lbl in zip(classes.colors, classes.labels, strict=True)]
    if any(hidden):
        items.append(LegendItem(HIDDEN_COLOR_ON_GREY, f"{hidden_text} (verborgen)"))
        notes.append(f"Aantallen onder {hidden_text[1:]} zijn verborgen.")
    if rate_col and (classes.index < 0).any() and not all(hidden[i] for i in np.flatnonzero(classes.index < 0)):
        items.append(LegendItem(NO_DATA_COLOR, "geen woningaantal bekend"))
    return DataLayer("polygons", payload, layer_name), (heading, items), notes


def _significant_cells(grid: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The cells with a Gi* class other than 0 (only those are drawn)."""
    if not len(grid) or "gi_class" not in grid.columns:
        return grid.iloc[:0]
    cls = pd.to_numeric(grid["gi_class"], errors="coerce").to_numpy()
    return grid.loc[np.isfinite(cls) & (cls != 0)]


def _grid_layer(sub: gpd.GeoDataFrame, wgs: gpd.GeoDataFrame, hidden: str):
    if not len(sub):
        return None, None
    cls = pd.to_numeric(sub["gi_class"], errors="coerce").to_numpy()
    cell = _cell_size(sub)
    name = f"Gi*-raster ({format_int(cell)} m)" if cell else "Gi*-raster"
    # Each cell reports the most significant of the four windows (of the chosen band) centred in its
    # quarters (geo/gistar.py gi_star_grid_exact_fine).
    heading = "Gi* per rastercel (beste van vier vensters in de cel): significant na FDR, exacte binomiale toets"
    items = [LegendItem(GI_CLASSES[c][0], GI_CLASSES[c][1]) for c in (3, 2, 1, -1, -2, -3)]
    order = sorted(GI_CLASSES)
    styles = [{"stroke": False, "fillColor": GI_CLASSES[c][0], "fillOpacity": 0.75} for c in order]
    position = {c: i for i, c in enumerate(order)}
    style_index = [position[int(c)] for c in cls]
    n = _column(sub, "n_incidents")
    z = _column(sub, "gi_z")
    p = _column(sub, "gi_p")
    values = [
        [escape_html(format_count(ni, hidden)), escape_html(_z(zi)), escape_html("-" if is_missing(pi) else _p(pi))]
        for ni, zi, pi in zip(n, z, p, strict=True)
    ]
    tooltip = "<b>Gi*: {s}</b><br>z = {1}, p = {2}<br>Incidenten in de cel: {0}"
    payload = polygon_payload(wgs.geometry.values, style_index, styles, tooltip, values,
                              style_labels=[GI_CLASSES[c][1] for c in order])
    return DataLayer("polygons", payload, name), (heading, items)


def _cluster_label(clusters: gpd.GeoDataFrame) -> str:
    """Legend text: a significant hotspot, or plain density clustering ("ruwe clustering")."""
    methods = clusters["cluster_method"].dropna().astype(str) if "cluster_method" in clusters.columns else []
    raw = [m for m in methods if m.startswith("ruwe clustering")]
    if raw:
        return f"{raw[0]}: dichtheid, geen significantietoets"
    if len(methods):
        return "hotspotgebied: Gi*-cellen heet op 95 % na FDR"
    return "hotspotgebied (cluster)"


def analysis_note(metadata: dict) -> str:
    """One Dutch line on a hotspot result's null and scale, for the map's subtitle."""
    from veilig.geo.exposure import describe

    ng = metadata.get("null_grid") or {}
    parts = []
    if ng.get("null_model"):
        parts.append("nulhypothese: " + describe(ng["null_model"], float(ng.get("area_mix") or 0.0)))
    scale = metadata.get("scale") or {}
    if scale.get("band"):
        how = "gekozen uit het aantal incidenten" if scale.get("band_chosen") else "opgegeven"
        parts.append(f"cel {scale['cell']:g} m, band {scale['band']:g} m ({how})")
    return " · ".join(parts)


def _column(gdf, name: str) -> list:
    """A column as a list (None-filled when absent): fast row access for the payload loops."""
    return gdf[name].tolist() if name in gdf.columns else [None] * len(gdf)


def _p(p) -> str:
    p = float(p)
    return "<0,001" if p < 0.001 else format_decimal(p, 3)


def _cell_size(grid: gpd.GeoDataFrame) -> int | None:
    areas = grid.geometry.area.to_numpy()
    areas = areas[np.isfinite(areas) & (areas > 0)]
    return int(round(math.sqrt(float(np.median(areas))))) if areas.size else None


def _buurt_codes(value) -> list[str]:
    if is_missing_list(value):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return [str(v) for v in value]


def is_missing_list(value) -> bool:
    if value is None:
        return True
    if isinstance(value, (str, list, tuple, np.ndarray)):
        return False
    return is_missing(value)


def _cluster_layer(clusters: gpd.GeoDataFrame, wgs: gpd.GeoDataFrame, names: dict, hidden: str):
    if not len(clusters):
        return None
    styles = [{"color": CLUSTER_COLOR, "weight": 2, "opacity": 0.9, "fillColor": CLUSTER_COLOR, "fillOpacity": 0.12}]
    ids = _column(clusters, "cluster_id")
    values = []
    for i, (cid, category, codes, n, area) in enumerate(zip(
            ids, _column(clusters, "category"), _column(clusters, "buurten"),
            _column(clusters, "n_incidents"), _column(clusters, "area_m2"), strict=True)):
        buurt_names = ", ".join(str(names.get(c, c)) for c in _buurt_codes(codes)) or "-"
        values.append([
            escape_html(i + 1 if is_missing(cid) else cid),
            escape_html(LABELS_NL.get(category, category) if not is_missing(category) else "-"),
            escape_html(format_count(n, hidden)),
            escape_html("-" if is_missing(area) else f"{format_decimal(float(area) / 10_000, 1)} ha"),
            escape_html(buurt_names),
        ])
    tooltip = "<b>Hotspot {0}</b><br>{1}<br>Incidenten: {2}<br>Oppervlakte: {3}<br>Buurten: {4}"
    payload = polygon_payload(wgs.geometry.values, [0] * len(clusters), styles, tooltip, values)
    return DataLayer("polygons", payload, "Hotspots (clusters)")


def _point_layer(points: pd.DataFrame):
    missing = [c for c in ("x", "y", "category", "occurred_at") if c not in points.columns]
    if missing:
        raise VeiligError(f"points: missing column(s) {', '.join(missing)}")
    x = pd.to_numeric(points["x"], errors="coerce").to_numpy(dtype="float64")
    y = pd.to_numeric(points["y"], errors="coerce").to_numpy(dtype="float64")
    wall = _wall_minutes(points["occurred_at"])
    ok = np.isfinite(x) & np.isfinite(y) & (wall >= 0) & points["category"].notna().to_numpy()
    x, y, wall = x[ok], y[ok], wall[ok]
    cats = points["category"].to_numpy()[ok].astype(str)
    heading = "Incidenten (punten)"
    if not x.size:
        return None, (heading, []), 0
    order = np.argsort(wall, kind="stable")
    x, y, wall, cats = x[order], y[order], wall[order], cats[order]
    lat, lon = points_to_wgs84(x, y)
    qlat, qlon = quantize(lat, lon)
    o = (int(qlat.min()), int(qlon.min()))
    kinds, code = np.unique(cats, return_inverse=True)
    if len(kinds) > 40:
        raise VeiligError(f"points: {len(kinds)} categories; at most 40 can be drawn")
    colors = []
    extra = iter(OTHER_POINT_COLORS * 7)
    for k in kinds:
        colors.append(POINT_COLORS.get(k) or next(extra))
    # One character per point: its category's index (from "0"), a string instead of a list.
    cat_string = "".join(chr(48 + int(c)) for c in code) if len(kinds) > 1 else "0" * len(code)
    payload = {
        "o": [o[0], o[1]],
        "q": COORD_SCALE,
        "lat": (qlat - o[0]).tolist(),
        "lon": (qlon - o[1]).tolist(),
        "t0": int(wall[0]),
        "t": np.diff(wall, prepend=wall[0]).tolist(),
        "c": cat_string,
        "cat": [escape_html(LABELS_NL.get(k, k)) for k in kinds],
        "col": colors,
        "r": 3 if x.size < 20_000 else 2,
    }
    items = [LegendItem(c, LABELS_NL.get(k, k), "dot") for k, c in zip(kinds, colors, strict=True)]
    return DataLayer("points", payload, "Incidenten (punten)"), (heading, items), int(x.size)


def _wall_minutes(values: pd.Series) -> np.ndarray:
    """Europe/Amsterdam wall-clock minutes since 1970-01-01 (-1 where missing)."""
    try:
        t = pd.to_datetime(pd.Series(values), errors="coerce")
    except (ValueError, TypeError):  # mixed UTC offsets: one instant each
        t = pd.to_datetime(pd.Series(values), errors="coerce", utc=True)
    if getattr(t.dt, "tz", None) is not None:
        t = t.dt.tz_convert(TZ_NAME).dt.tz_localize(None)
    ns = t.to_numpy(dtype="datetime64[ns]")
    out = np.full(ns.shape, -1, dtype=np.int64)
    ok = ~np.isnat(ns)
    out[ok] = ns[ok].astype(np.int64) // 60_000_000_000
    return out


def _has_incidents(buurten, value_field, clusters, grid, points) -> bool:
    if points is not None:
        return len(points) > 0
    if len(clusters):
        return True
    if len(buurten) and value_field in buurten.columns:
        vals = list(buurten[value_field])
        if any(is_missing(v) or float(v) > 0 for v in vals):
            return True
    if len(grid) and "n_incidents" in grid.columns:
        n = pd.to_numeric(grid["n_incidents"], errors="coerce")
        if (n > 0).any():
            return True
    return False


__all__: Sequence[str] = ["build_hotspot_map", "analysis_note", "GI_CLASSES", "EMPTY_MESSAGE"]
