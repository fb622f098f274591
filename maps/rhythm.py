"""The Ritme van de Stad map: the ranked areas of one shift, and the selected area's rhythm.

Pure: a shift plan's areas and one weekday x hour matrix in, one HTML page out. The matrix is an
inline SVG heat table (Monday first, local hours), with the significant peaks outlined and the
chosen weekday and shift framed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import geopandas as gpd
import numpy as np

from veilig.errors import VeiligError
from veilig.geo.calendar_nl import WEEKDAYS_NL, WEEKDAYS_SHORT_NL
from veilig.geo.neighbourhoods import ATTRIBUTION

from .base import (
    HIDDEN_COLOR,
    HIDDEN_LABEL,
    SEQUENTIAL,
    DataLayer,
    LegendItem,
    TileOptions,
    add_layer_control,
    add_panel,
    bounds_of,
    escape_html,
    format_count,
    format_decimal,
    format_int,
    hidden_label,
    hide_small,
    is_missing,
    legend_html,
    make_map,
    polygon_payload,
    render_page,
    title_html,
    to_wgs84,
)

#: Rank 1 darkest: ColorBrewer Reds, dark to light.
RANK_COLORS = ("#a50f15", "#de2d26", "#fb6a4a", "#fc9272", "#fcbba1", "#fee0d2")
UNRANKED_COLOR = "#9e9e9e"
SELECTED_COLOR = "#1f4e9c"
PEAK_COLOR = "#000000"
EMPTY_MESSAGE = "Geen incidenten in deze periode."
_SHIFT_RE = re.compile(r"^\s*(\d{1,2})\s*-\s*(\d{1,2})\s*$")

CELL_W, CELL_H, LABEL_W, LABEL_H = 18, 16, 30, 16


def build_rhythm_map(
    areas: gpd.GeoDataFrame,
    selected_counts: Sequence[Sequence[int | None]],
    *,
    theme_label: str,
    weekday_label: str,
    shift_label: str,
    selected_name: str,
    tiles: TileOptions | None = None,
    peaks: Iterable | None = None,
    period_label: str | None = None,
    selected_id: str | None = None,
    weekday: int | None = None,
    shift_hours: Iterable[int] | None = None,
    synthetic: bool = False,
    hide_below: int | None = None,
    static_prefix: str = "/static",
) -> str:
    """The rhythm map as one HTML page.

    Parameters
    ----------
    areas : GeoDataFrame (EPSG:28992)
        The plan's areas: ``area_id``, ``area_name``, ``rank`` (1 = most expected incidents; NaN
        for areas not in the plan for this shift), ``expected`` (incidents per shift, may be NaN);
        optional ``area_kind`` (``hotspot``/``buurt``; else read from an ``hotspot-`` id prefix).
    selected_counts : 7 x 24 nested sequence
        The selected area's rhythm, Monday first, local hours 0-23; None where hidden (< 5).
    theme_label, weekday_label, shift_label, selected_name : str
        Shown in the panels (escaped). ``weekday_label`` (a Dutch weekday) and ``shift_label``
        (``"16-24"``) also frame the chosen shift in the heat table, unless ``weekday`` /
        ``shift_hours`` are given.
    peaks : iterable, optional
        Cells that stand out: ``(weekday, hour)`` pairs, dicts or objects with ``weekday`` and
        ``hour`` (as :class:`veilig.geo.rhythm.Peak`). Outlined in the table.
    period_label : str, optional
        E.g. ``"week 2026-W10"``.
    selected_id : str, optional
        ``area_id`` of the selected area, outlined on the map; when omitted, the area whose
        ``area_name`` is ``selected_name`` (if exactly one is).
    hide_below : int, optional
        Matrix counts ``1 .. hide_below-1`` are shown hidden, and peaks on them are not marked;
        None cells are shown hidden in any case.
    """
    if not isinstance(areas, gpd.GeoDataFrame):
        raise VeiligError(f"areas: expected a GeoDataFrame in EPSG:28992, got {type(areas).__name__}")
    missing = [c for c in ("area_id", "area_name", "rank", "expected") if c not in areas.columns]
    if missing and len(areas):
        raise VeiligError(f"areas: missing column(s) {', '.join(missing)}")
    counts = [[hide_small(v, hide_below) for v in row] for row in _check_matrix(selected_counts)]
    peak_cells = _peak_cells(peaks)
    if peak_cells is not None:
        peak_cells = {(d, h) for d, h in peak_cells if counts[d][h] is not None}
    if weekday is None:
        weekday = WEEKDAYS_NL.index(weekday_label.strip().lower()) if weekday_label.strip().lower() in WEEKDAYS_NL else None
    hours = sorted(set(int(h) % 24 for h in shift_hours)) if shift_hours is not None else _shift_hours(shift_label)

    if selected_id is None and len(areas):
        match = areas.loc[areas["area_name"].astype(str) == str(selected_name), "area_id"]
        selected_id = str(match.iloc[0]) if len(match) == 1 else None
    wgs = to_wgs84(areas, "areas")
    title = f"Ritme van de Stad: {theme_label}"
    m = make_map(title, tiles, bounds_of(wgs), static_prefix=static_prefix)
    legend: list = []
    messages = []
    if len(areas):
        layer, section = _area_layer(areas, wgs, selected_id)
        layer.add_to(m)
        legend.append(section)
    else:
        messages.append("Geen gebieden in dit plan.")
    if not any(v for row in counts for v in row if v is not None) and not any(
            v is None for row in counts for v in row):
        messages.append(EMPTY_MESSAGE)

    subtitle = f"{weekday_label}, dienst {shift_label}" + (f" · {period_label}" if period_label else "")
    add_panel(m, title_html(title, subtitle, synthetic=synthetic, messages=messages), "veilig-title", "veilig-title")
    panel = (
        f"<h2>Ritme: {escape_html(_heading_name(areas, selected_id, selected_name))}</h2>"
        f"<p>{escape_html(theme_label)} · incidenten per weekdag en uur (lokale tijd)</p>"
        + heat_table_svg(counts, peak_cells, weekday, hours, hidden_label(hide_below))
    )
    add_panel(m, panel, "veilig-corner veilig-rhythm", "veilig-rhythm")
    add_panel(m, legend_html(legend, f"Grenzen: {ATTRIBUTION}."), "veilig-legend", "veilig-legend")
    add_layer_control(m)
    return render_page(m)


_GENERIC_HOTSPOT_RE = re.compile(r"^\s*hotspot\s+\d+\s*$", re.IGNORECASE)


def _heading_name(areas: gpd.GeoDataFrame, selected_id: str | None, selected_name: str) -> str:
    """The selected area as the map labels it: "gebied 1" (its rank, the number on the map),
    with its place name when it has one; a hotspot's own number ("Hotspot 2") is left out, as it
    would contradict the label. An area not in this shift's plan carries no number: its name."""
    if selected_id is None or not len(areas) or "rank" not in areas:
        return selected_name
    match = areas.loc[areas["area_id"].astype(str) == str(selected_id)]
    if len(match) != 1 or is_missing(match["rank"].iloc[0]):
        return selected_name
    label = f"gebied {int(match['rank'].iloc[0])}"
    name = str(selected_name).strip()
    if name and name != "-" and not _GENERIC_HOTSPOT_RE.match(name):
        label += f" \u2014 {name}"
    return label


def _check_matrix(counts) -> list[list[int | None]]:
    rows = [list(r) for r in counts] if counts is not None else []
    if len(rows) != 7 or any(len(r) != 24 for r in rows):
        raise VeiligError("selected_counts: expected 7 rows (Monday first) of 24 hourly counts")
    out = []
    for r in rows:
        out.append([None if is_missing(v) else int(v) for v in r])
    return out


def _peak_cells(peaks) -> set[tuple[int, int]] | None:
    if peaks is None:
        return None
    cells = set()
    for p in peaks:
        if isinstance(p, dict):
            wd, hr = p["weekday"], p["hour"]
        elif hasattr(p, "weekday") and hasattr(p, "hour") and not isinstance(p, tuple):
            wd, hr = p.weekday, p.hour
        else:
            wd, hr = p
        if not (0 <= int(wd) < 7 and 0 <= int(hr) < 24):
            raise VeiligError(f"peaks: ({wd}, {hr}) is not a weekday 0-6 and hour 0-23")
        cells.add((int(wd), int(hr)))
    return cells


def _shift_hours(label: str) -> list[int]:
    m = _SHIFT_RE.match(label or "")
    if not m:
        return []
    start, end = int(m.group(1)) % 24, int(m.group(2))
    end = end % 24 if end != 24 else 24
    if end > start:
        return list(range(start, end))
    return list(range(start, 24)) + list(range(0, end))


def _is_hotspot(row) -> bool:
    kind = row.get("area_kind")
    if isinstance(kind, str):
        return kind == "hotspot"
    return str(row.get("area_id", "")).startswith("hotspot-")


def _area_layer(areas: gpd.GeoDataFrame, wgs: gpd.GeoDataFrame, selected_id: str | None):
    ranks = [None if is_missing(r) else int(r) for r in areas["rank"]]
    ranked = sorted({r for r in ranks if r is not None})
    k = len(ranked)
    pick = np.rint(np.linspace(0, len(RANK_COLORS) - 1, k)).astype(int) if k > 1 else np.array([0] * k)
    rank_color = {r: RANK_COLORS[i] for r, i in zip(ranked, pick, strict=True)}
    styles: list[dict] = []
    style_key: dict[tuple, int] = {}

    def style_for(rank, hotspot, selected) -> int:
        key = (rank, hotspot, selected)
        if key not in style_key:
            s = {"color": SELECTED_COLOR if selected else "#333333", "weight": 4 if selected else 1.2,
                 "opacity": 0.95}
            if rank is None:
                s.update({"fillColor": UNRANKED_COLOR, "fillOpacity": 0.08})
            else:
                s.update({"fillColor": rank_color[rank], "fillOpacity": 0.6})
            if hotspot:
                s["dashArray"] = "5,4"
            style_key[key] = len(styles)
            styles.append(s)
        return style_key[key]

    style_index, values, labels = [], [], []
    for i in range(len(areas)):
        row = areas.iloc[i]
        hotspot = _is_hotspot(row)
        selected = selected_id is not None and str(row["area_id"]) == str(selected_id)
        style_index.append(style_for(ranks[i], hotspot, selected))
        expected = row["expected"]
        values.append([
            escape_html(row["area_name"]),
            escape_html("niet ingepland" if ranks[i] is None else f"rang {ranks[i]}"),
            escape_html("-" if is_missing(expected) else format_decimal(float(expected), 2)),
            escape_html("hotspotgebied" if hotspot else "buurt"),
        ])
        labels.append(None if ranks[i] is None else str(ranks[i]))
    tooltip = "<b>{0}</b> ({3})<br>{1}<br>Verwacht: {2} incidenten per dienst"
    payload = polygon_payload(wgs.geometry.values, style_index, styles, tooltip, values, labels)
    items = [LegendItem(rank_color[r], f"rang {r}" + (" (hoogste verwachting)" if r == ranked[0] else ""))
             for r in ranked[:8]]
    if k > 8:
        items.append(LegendItem(rank_color[ranked[-1]], f"... tot rang {ranked[-1]}"))
    items.append(LegendItem(UNRANKED_COLOR, "niet ingepland in deze dienst"))
    items.append(LegendItem("#333333", "hotspotgebied (significant op 95 % na FDR): gestreepte rand", "line"))
    if selected_id is not None:
        items.append(LegendItem(SELECTED_COLOR, "gekozen gebied (ritme rechtsonder)", "line"))
    return DataLayer("polygons", payload, "Gebieden in het dienstplan"), ("Gebieden per dienst", items)


def heat_table_svg(
    counts: Sequence[Sequence[int | None]],
    peaks: set[tuple[int, int]] | None = None,
    weekday: int | None = None,
    shift_hours: Sequence[int] = (),
    hidden: str = HIDDEN_LABEL,
) -> str:
    """The 7 x 24 rhythm as an inline SVG: a cell per weekday and hour, peaks outlined.

    Colours are quantile-free: the count divided by the matrix maximum, in five steps, so the
    table reads the same for a quiet and a busy theme. Hidden cells are grey with "<5".
    """
    values = [v for row in counts for v in row if v is not None]
    top = max(values) if values else 0
    width = LABEL_W + 24 * CELL_W + 2
    height = LABEL_H + 7 * CELL_H + 34
    parts = [
        f'<svg class="veilig-heat" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'role="img" aria-label="Ritme per weekdag en uur" font-size="10" '
        'font-family="system-ui, sans-serif">'
    ]
    for h in range(0, 24, 3):
        parts.append(f'<text x="{LABEL_W + h * CELL_W + 2}" y="{LABEL_H - 4}" fill="#444">{h:02d}</text>')
    for d in range(7):
        y = LABEL_H + d * CELL_H
        parts.append(f'<text x="2" y="{y + CELL_H - 4}" fill="#444">{escape_html(WEEKDAYS_SHORT_NL[d])}</text>')
        for h in range(24):
            v = counts[d][h]
            x = LABEL_W + h * CELL_W
            fill = HIDDEN_COLOR if v is None else _heat_color(v, top)
            what = f"{hidden} (verborgen)" if v is None else f"{format_int(v)} incidenten"
            tip = f"{WEEKDAYS_NL[d]} {h:02d}:00-{(h + 1) % 24:02d}:00: {what}"
            is_peak = peaks is not None and (d, h) in peaks
            if is_peak:
                tip += " (piek)"
            stroke = (f' stroke="{PEAK_COLOR}" stroke-width="2"' if is_peak
                      else ' stroke="#d8d8d8" stroke-width="0.5"')
            parts.append(
                f'<rect x="{x + 1}" y="{y + 1}" width="{CELL_W - 2}" height="{CELL_H - 2}" fill="{fill}"{stroke}>'
                f"<title>{escape_html(tip)}</title></rect>"
            )
    if weekday is not None and shift_hours:
        # Frame the chosen shift; a shift over midnight is framed in two pieces.
        for start, end in _runs(sorted(shift_hours)):
            x = LABEL_W + start * CELL_W
            y = LABEL_H + weekday * CELL_H
            parts.append(
                f'<rect x="{x}" y="{y}" width="{(end - start + 1) * CELL_W}" height="{CELL_H}" fill="none" '
                f'stroke="{SELECTED_COLOR}" stroke-width="2.5"><title>gekozen dienst</title></rect>'
            )
    # Legend under the table: the five steps, grey, the peak outline.
    ly = LABEL_H + 7 * CELL_H + 10
    x = LABEL_W
    parts.append(f'<rect x="{x}" y="{ly}" width="14" height="12" fill="{ZERO_COLOR}" stroke="#d8d8d8"/>'
                 f'<text x="{x + 17}" y="{ly + 10}" fill="#444">0</text>')
    x += 28
    for i, c in enumerate(SEQUENTIAL[1:]):
        parts.append(f'<rect x="{x + i * 14}" y="{ly}" width="14" height="12" fill="{c}"/>')
    x += 5 * 14 + 4
    parts.append(f'<text x="{x}" y="{ly + 10}" fill="#444">{escape_html(format_count(top, hidden))} (max.)</text>')
    x += 70
    parts.append(f'<rect x="{x}" y="{ly}" width="14" height="12" fill="{HIDDEN_COLOR}"/>'
                 f'<text x="{x + 18}" y="{ly + 10}" fill="#444">{escape_html(hidden)}</text>')
    x += 44
    if peaks is not None:
        label = "piek (significant)" if peaks else "geen significante pieken"
        parts.append(f'<rect x="{x}" y="{ly}" width="14" height="12" fill="none" stroke="{PEAK_COLOR}" '
                     f'stroke-width="2"/><text x="{x + 18}" y="{ly + 10}" fill="#444">{escape_html(label)}</text>')
        x += 130
    if weekday is not None and shift_hours:
        parts.append(f'<rect x="{x}" y="{ly}" width="14" height="12" fill="none" stroke="{SELECTED_COLOR}" '
                     f'stroke-width="2.5"/><text x="{x + 18}" y="{ly + 10}" fill="#444">dienst</text>')
    parts.append("</svg>")
    return "".join(parts)


ZERO_COLOR = "#ffffff"


def _heat_color(v: int, top: int) -> str:
    if v <= 0 or top <= 0:
        return ZERO_COLOR
    step = min(4, int(np.ceil(5 * v / top)) - 1)
    return SEQUENTIAL[1 + step]


def _runs(hours: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for h in hours:
        if runs and h == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], h)
        else:
            runs.append((h, h))
    return runs
