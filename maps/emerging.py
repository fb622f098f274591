"""The map layer "Opkomende hotspots": the emerging hot spot pattern of each location, a chart in its popup.

Pure: the per-location table and series in (RD New), a Folium layer and its legend out. Only
locations with a pattern are drawn. Each popup holds a small inline SVG chart (no script, no
external origin) of the location's counts per step, coloured by the bin's Gi* class, with the
z-score line for analysts. Counts that arrive as None (hidden below the threshold for
non-analysts) are drawn as a grey marker labelled "<5", never as a bar of their size.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
from folium.map import Layer
from folium.template import Template

from veilig.geo.emerging import PATTERN_NL, PATTERNS

from .classes import LegendItem
from .geometry import polygon_payload, to_wgs84
from .text import escape_html, format_count, format_decimal, is_missing, json_for_script

LAYER_NAME = "Opkomende hotspots"

#: Pattern colours: reds for hot patterns, blues for cold ones (darker = more established).
PATTERN_COLORS: dict[str, str] = {
    "new_hot": "#fcbba1", "consecutive_hot": "#fc9272", "intensifying_hot": "#a50f15", "persistent_hot": "#de2d26",
    "diminishing_hot": "#fb6a4a", "sporadic_hot": "#fee0d2", "oscillating_hot": "#e7298a", "historical_hot": "#7f2704",
    "new_cold": "#c6dbef", "consecutive_cold": "#9ecae1", "intensifying_cold": "#08519c", "persistent_cold": "#3182bd",
    "diminishing_cold": "#6baed6", "sporadic_cold": "#deebf7", "oscillating_cold": "#756bb1", "historical_cold": "#08306b",
}
CLASS_BAR = {1: "#d6604d", -1: "#4393c3", 0: "#9e9e9e"}


class PopupPolygons(Layer):
    """Polygons from a :func:`polygon_payload`, with a popup per feature from ``popups`` (trusted HTML)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = (function (d, popups) {
              var g = veiligMaps.polygons(d);
              g.eachLayer(function (layer) {
                if (layer._vi !== undefined) { layer.bindPopup(popups[layer._vi], {maxWidth: 360}); }
              });
              return g;
            })({{ this.payload }}, {{ this.popups }});
        {% endmacro %}
        """
    )

    def __init__(self, payload: dict, popups: Sequence[str], name: str, show: bool = True):
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "PopupPolygons"
        self.payload = json_for_script(payload)
        self.popups = json_for_script(list(popups))


def series_svg(labels: Sequence[str], counts: Sequence, classes: Sequence[int], z: Sequence[float] | None = None,
               hidden_label: str = "<5", width: int = 320, height: int = 120) -> str:
    """A bar chart of counts per step (bar colour: the bin's class sign), optional z line; inline SVG.

    Every text is escaped; the SVG has no script, link or namespace URL (inline SVG in HTML
    needs none), so it passes the page's origin check and CSP.
    """
    T = len(labels)
    left, right, top, bottom = 26, 6, 8, 22
    w, h = width - left - right, height - top - bottom
    vals = [None if is_missing(c) else float(c) for c in counts]
    vmax = max([v for v in vals if v is not None] + [1.0])
    bw = w / max(T, 1)
    parts = [f'<svg class="veilig-chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             f'role="img" aria-label="{escape_html("aantal per tijdstap")}">',
             f'<line x1="{left}" y1="{top + h}" x2="{left + w}" y2="{top + h}" stroke="#555" stroke-width="1"/>',
             f'<text x="{left - 3}" y="{top + 8}" font-size="9" text-anchor="end">{escape_html(format_count(vmax))}</text>',
             f'<text x="{left - 3}" y="{top + h}" font-size="9" text-anchor="end">0</text>']
    for i, (v, c) in enumerate(zip(vals, classes)):
        x = left + i * bw
        color = CLASS_BAR[int(np.sign(c))] if not is_missing(c) else CLASS_BAR[0]
        if v is None:
            parts.append(f'<rect x="{x + bw * 0.15:.1f}" y="{top + h - 6:.1f}" width="{bw * 0.7:.1f}" height="6" '
                         f'fill="#e3cf9a" stroke="#8a7a4a" stroke-width="0.5"><title>{escape_html(labels[i])}: '
                         f'{escape_html(hidden_label)}</title></rect>')
        else:
            bh = h * v / vmax
            parts.append(f'<rect x="{x + bw * 0.15:.1f}" y="{top + h - bh:.1f}" width="{bw * 0.7:.1f}" '
                         f'height="{bh:.1f}" fill="{color}"><title>{escape_html(labels[i])}: '
                         f'{escape_html(format_count(v))}</title></rect>')
    if z is not None and T:
        zs = np.asarray(z, dtype=np.float64)
        zmax = max(float(np.nanmax(np.abs(zs))) if zs.size else 1.0, 1.0)
        pts = " ".join(f"{left + (i + 0.5) * bw:.1f},{top + h / 2 - (h / 2) * zs[i] / zmax:.1f}" for i in range(T))
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#222" stroke-width="1.2"/>')
    for i in sorted({0, T // 2, T - 1}) if T else []:
        parts.append(f'<text x="{left + (i + 0.5) * bw:.1f}" y="{height - 8}" font-size="9" '
                     f'text-anchor="middle">{escape_html(labels[i])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def emerging_layer(locations: gpd.GeoDataFrame, step_labels: Sequence[str], counts: np.ndarray,
                   classes: np.ndarray, z: np.ndarray | None = None, hidden_label: str = "<5",
                   level: float = 0.10, show: bool = True):
    """The "Opkomende hotspots" layer and its legend section, or (None, None) when no location has a pattern.

    Parameters
    ----------
    locations : GeoDataFrame (EPSG:28992)
        ``pattern``, ``trend_tau``, ``trend_p``, ``n_significant_hot``, ``n_significant_cold``,
        ``last_class``, ``n_incidents`` (None when hidden); optional ``name``.
    step_labels : the steps' labels
    counts, classes : arrays (L, T)
        Counts per step (NaN when hidden) and the bins' classes.
    z : array (L, T), optional
        Analysts only: the z-scores, drawn as a line.
    """
    pattern = locations["pattern"].to_numpy().astype(str)
    keep = np.flatnonzero(pattern != "no_pattern")
    if not keep.size:
        return None, None
    sub = locations.iloc[keep]
    wgs = to_wgs84(sub, "emerging")
    order = [p for p in PATTERNS if p != "no_pattern"]
    pos = {p: i for i, p in enumerate(order)}
    styles = [{"color": "#333333", "weight": 0.6, "fillColor": PATTERN_COLORS[p], "fillOpacity": 0.8} for p in order]
    style_index = [pos[p] for p in pattern[keep]]
    names = sub["name"].tolist() if "name" in sub.columns else [None] * len(sub)
    popups = []
    for j, i in enumerate(keep):
        row = sub.iloc[j]
        title = PATTERN_NL[pattern[i]]
        where = names[j] if names[j] and not is_missing(names[j]) else row["location_id"]
        chart = series_svg(step_labels, counts[i], classes[i], None if z is None else z[i], hidden_label)
        tau = "-" if is_missing(row["trend_tau"]) else format_decimal(float(row["trend_tau"]), 2)
        p = "-" if is_missing(row["trend_p"]) else ("<0,001" if row["trend_p"] < 0.001 else format_decimal(float(row["trend_p"]), 3))
        popups.append(
            f"<b>{escape_html(title)}</b><br>{escape_html(where)}<br>"
            f"Incidenten: {escape_html(format_count(row['n_incidents'], hidden_label))}; "
            f"significant heet: {escape_html(row['n_significant_hot'])}, koud: {escape_html(row['n_significant_cold'])} "
            f"van {len(step_labels)} stappen<br>Trend (Mann-Kendall op z): tau {escape_html(tau)}, p {escape_html(p)}<br>"
            + chart
        )
    tooltip = "<b>{s}</b><br>{0}"
    values = [[escape_html(names[j] if names[j] and not is_missing(names[j]) else sub.iloc[j]["location_id"])]
              for j in range(len(sub))]
    payload = polygon_payload(wgs.geometry.values, style_index, styles, tooltip, values,
                              style_labels=[PATTERN_NL[p] for p in order])
    present = [p for p in order if p in set(pattern[keep])]
    items = [LegendItem(PATTERN_COLORS[p], PATTERN_NL[p]) for p in present]
    heading = f"{LAYER_NAME} (Gi* in ruimte en tijd, significant bij {format_decimal(level * 100, 0)} % na FDR)"
    return PopupPolygons(payload, popups, LAYER_NAME, show=show), (heading, items)
