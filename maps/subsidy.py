"""The subsidy map: where the lock-and-bolt grants go, beside where burglaries happen, and the budget.

Pure: a per-buurt table and the budget in, one HTML page out. Burglaries are the choropleth;
grants are circles whose area follows the euros granted; the budget sits in a panel.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime

import geopandas as gpd
import numpy as np

from veilig.errors import VeiligError
from veilig.geo.neighbourhoods import ATTRIBUTION
from veilig.ledger.money import format_euros

from .base import (
    HIDDEN_COLOR,
    NO_DATA_COLOR,
    DataLayer,
    LegendItem,
    TileOptions,
    add_layer_control,
    add_panel,
    bounds_of,
    centre_of,
    classify,
    escape_html,
    format_count,
    format_date,
    format_decimal,
    format_int,
    hidden_label,
    hide_small,
    is_missing,
    legend_html,
    make_map,
    polygon_payload,
    render_page,
    symbol_payload,
    title_html,
    to_wgs84,
)

DEFAULT_TITLE = "Subsidie inbraakwerend hang- en sluitwerk"
GRANT_COLOR = "#08519c"
MAX_RADIUS_PX = 24.0
MIN_RADIUS_PX = 3.0
BUDGET_FIELDS = ("total_cents", "reserved_cents", "paid_cents", "remaining_cents")


def build_subsidy_map(
    buurten: gpd.GeoDataFrame,
    budget: dict | None,
    *,
    tiles: TileOptions | None = None,
    title: str = DEFAULT_TITLE,
    hide_below: int | None = None,
    static_prefix: str = "/static",
    overlays: Sequence[tuple[DataLayer, tuple[str, list[LegendItem]]]] = (),
    panels: Sequence[tuple[str, str]] = (),
) -> str:
    """The subsidy map as one HTML page.

    Parameters
    ----------
    buurten : GeoDataFrame (EPSG:28992)
        One row per buurt: ``statcode``, ``statnaam``, ``grants`` (number of grants, int),
        ``granted_cents`` (euro cents reserved or paid, int), ``burglaries`` (int, or None when
        hidden below 5); optional ``burglary_rate`` (per 1,000 dwellings; the choropleth shows it
        when it has values, else the count) and ``applications``.
    budget : dict or None
        ``total_cents``, ``reserved_cents``, ``paid_cents``, ``remaining_cents`` (int) and
        ``projected_exhaustion_date`` (date, ISO string or None); optional ``closes_on`` (the
        pilot's closing date, for the remark on an exhaustion date after it). None: no pilot yet.
    tiles : TileOptions or None
        Background tiles, None for none.
    title : str
        Page and panel title (escaped).
    hide_below : int, optional
        Burglary counts ``1 .. hide_below-1`` are shown hidden (with their rate); counts that
        arrive as None are shown hidden in any case. Grants are the desk's own ledger: not hidden.
    overlays : sequence of (DataLayer, legend section)
        Extra layers (e.g. the alert zones, as grid cells), drawn on top; privacy is the caller's.
    panels : sequence of (trusted escaped HTML, name)
        Extra panels under the budget (e.g. the outreach table).
    """
    if not isinstance(buurten, gpd.GeoDataFrame):
        raise VeiligError(f"buurten: expected a GeoDataFrame in EPSG:28992, got {type(buurten).__name__}")
    missing = [c for c in ("statcode", "statnaam", "grants", "granted_cents", "burglaries") if c not in buurten]
    if missing:
        raise VeiligError(f"buurten: missing column(s) {', '.join(missing)}")
    if hide_below is not None and len(buurten):
        buurten = buurten.copy()
        buurten["burglaries"] = [hide_small(v, hide_below) for v in buurten["burglaries"]]
    hidden = hidden_label(hide_below)
    wgs = to_wgs84(buurten, "buurten")
    m = make_map(title, tiles, bounds_of(wgs), static_prefix=static_prefix)

    legend, notes = [], []
    if len(buurten) and budget is None:
        # Before any pilot there is nothing to show per buurt: say so, not "hidden".
        layer, section = _no_pilot_layer(buurten, wgs)
        layer.add_to(m)
        legend.append(section)
    elif len(buurten):
        choropleth, section, more_notes = _burglary_layer(buurten, wgs, hidden)
        choropleth.add_to(m)
        legend.append(section)
        notes.extend(more_notes)
        circles, grant_section = _grant_layer(buurten, wgs)
        circles.add_to(m)
        legend.append(grant_section)
    for layer, section in overlays:
        layer.add_to(m)
        legend.append(section)
    notes.append(f"Grenzen: {ATTRIBUTION}.")

    totals = _totals(buurten)
    add_panel(m, title_html(title, totals), "veilig-title", "veilig-title")
    add_panel(m, budget_html(budget), "veilig-corner veilig-budget", "veilig-budget")
    for html, name in panels:
        add_panel(m, html, name, name)
    add_panel(m, legend_html(legend, " ".join(notes)), "veilig-legend", "veilig-legend")
    add_layer_control(m)
    return render_page(m)


def _totals(buurten: gpd.GeoDataFrame) -> str:
    grants = int(np.nansum(np.asarray(buurten["grants"], dtype="float64"))) if len(buurten) else 0
    cents = int(np.nansum(np.asarray(buurten["granted_cents"], dtype="float64"))) if len(buurten) else 0
    noun = "toekenning" if grants == 1 else "toekenningen"
    return f"{format_int(grants)} {noun}, samen {format_euros(cents)}"


def _burglary_layer(buurten: gpd.GeoDataFrame, wgs: gpd.GeoDataFrame, hidden_text: str):
    counts = list(buurten["burglaries"])
    hidden = [is_missing(c) for c in counts]
    has_rate = "burglary_rate" in buurten and any(not is_missing(v) for v in buurten["burglary_rate"])
    notes = []
    if has_rate:
        shown = [None if h else v for h, v in zip(hidden, buurten["burglary_rate"], strict=True)]
        classes = classify(shown, integer=False, decimals=1)
        heading, name = "Inbraken per 1.000 woningen", "Inbraken per 1.000 woningen"
    else:
        shown = counts
        classes = classify(shown, integer=True)
        heading, name = "Inbraken (aantal per buurt)", "Inbraken per buurt"
        notes.append("Geen woningaantallen bekend: de kaart toont aantallen inbraken, geen aantal per 1.000 woningen.")
    base = {"color": "#444444", "weight": 1, "opacity": 0.9, "fillOpacity": 0.6}
    styles = [{**base, "fillColor": c} for c in classes.colors]
    styles += [{**base, "fillColor": HIDDEN_COLOR}, {**base, "fillColor": NO_DATA_COLOR}]
    hidden_i, nodata_i = len(classes.colors), len(classes.colors) + 1
    style_index, values = [], []
    rates = list(buurten["burglary_rate"]) if has_rate else [None] * len(buurten)
    apps = list(buurten["applications"]) if "applications" in buurten else [None] * len(buurten)
    for i in range(len(buurten)):
        style_index.append(hidden_i if hidden[i] else (nodata_i if classes.index[i] < 0 else int(classes.index[i])))
        values.append([
            escape_html(buurten["statnaam"].iloc[i]),
            escape_html(buurten["statcode"].iloc[i]),
            escape_html(format_count(counts[i], hidden_text)),
            escape_html("-" if hidden[i] or is_missing(rates[i]) else format_decimal(float(rates[i]), 1)),
            escape_html(format_int(_int(buurten["grants"].iloc[i]))),
            escape_html(format_euros(_int(buurten["granted_cents"].iloc[i]))),
            escape_html("-" if is_missing(apps[i]) else format_int(apps[i])),
        ])
    tooltip = (
        "<b>{0}</b> ({1})<br>Inbraken: {2}" + ("<br>Per 1.000 woningen: {3}" if has_rate else "")
        + "<br>Toekenningen: {4}<br>Toegekend: {5}" + ("<br>Aanvragen: {6}" if "applications" in buurten else "")
    )
    payload = polygon_payload(wgs.geometry.values, style_index, styles, tooltip, values)
    items = [LegendItem(c, lbl) for c, lbl in zip(classes.colors, classes.labels, strict=True)]
    if any(hidden):
        items.append(LegendItem(HIDDEN_COLOR, f"{hidden_text} (verborgen)"))
        notes.append(f"Aantallen onder {hidden_text[1:]} zijn verborgen.")
    if has_rate and any(classes.index[i] < 0 and not hidden[i] for i in range(len(buurten))):
        items.append(LegendItem(NO_DATA_COLOR, "geen woningaantal bekend"))
    return DataLayer("polygons", payload, name), (heading, items), notes


NO_PILOT = "nog geen pilot"


def _no_pilot_layer(buurten: gpd.GeoDataFrame, wgs: gpd.GeoDataFrame):
    """The buurten, plain, with a tooltip that says there is no pilot yet (no counts at all)."""
    style = {"color": "#444444", "weight": 1, "opacity": 0.9, "fillOpacity": 0.6, "fillColor": NO_DATA_COLOR}
    values = [[escape_html(buurten["statnaam"].iloc[i]), escape_html(buurten["statcode"].iloc[i])]
              for i in range(len(buurten))]
    tooltip = f"<b>{{0}}</b> ({{1}})<br>{escape_html(NO_PILOT)}: nog geen aanvragen of toekenningen"
    payload = polygon_payload(wgs.geometry.values, [0] * len(buurten), [style], tooltip, values)
    section = ("Buurten", [LegendItem(NO_DATA_COLOR, f"{NO_PILOT}: nog geen aanvragen of toekenningen")])
    return DataLayer("polygons", payload, "Buurten"), section


def _grant_layer(buurten: gpd.GeoDataFrame, wgs: gpd.GeoDataFrame):
    cents = np.array([_int(v) for v in buurten["granted_cents"]], dtype="float64")
    top = cents.max() if cents.size else 0.0
    latlons, radii, values = [], [], []
    for i, geom in enumerate(wgs.geometry.values):
        c = centre_of(geom)
        if c is None or cents[i] <= 0:
            continue
        # Circle area proportional to the euros granted.
        radii.append(max(MIN_RADIUS_PX, MAX_RADIUS_PX * math.sqrt(cents[i] / top)))
        latlons.append(c)
        values.append([
            escape_html(buurten["statnaam"].iloc[i]),
            escape_html(format_int(_int(buurten["grants"].iloc[i]))),
            escape_html(format_euros(int(cents[i]))),
        ])
    style = {"color": "#ffffff", "weight": 1.5, "fillColor": GRANT_COLOR, "fillOpacity": 0.75}
    tooltip = "<b>{0}</b><br>Toekenningen: {1}<br>Toegekend: {2}"
    payload = symbol_payload(latlons, radii, style, tooltip, values)
    largest = f"grootste cirkel: {format_euros(int(top))}" if top > 0 else "nog niets toegekend"
    section = ("Subsidies per buurt", [LegendItem(GRANT_COLOR, f"toegekend bedrag (oppervlak; {largest})", "dot")])
    return DataLayer("symbols", payload, "Subsidies: toegekend bedrag"), section


def _int(value) -> int:
    return 0 if is_missing(value) else int(value)


def budget_html(budget: dict | None) -> str:
    """The budget panel: total, reserved, paid, remaining and the projected exhaustion date.

    ``budget`` as :func:`build_subsidy_map` takes it; with the pilot's ``closes_on`` (date or
    ISO string) an exhaustion date after it says that the budget is not expected to run out
    before the pilot closes. None: no pilot yet.
    """
    if budget is None:
        return "<h2>Budget</h2><p>Er is nog geen subsidiepilot.</p>"
    missing = [k for k in BUDGET_FIELDS if k not in budget]
    if missing:
        raise VeiligError(f"budget: missing {', '.join(missing)}")
    total, reserved, paid, remaining = (int(budget[k]) for k in BUDGET_FIELDS)
    exhaustion = budget.get("projected_exhaustion_date")
    if exhaustion is None:
        when = "geen voorspelling (er wordt nu niets toegekend)"
    elif isinstance(exhaustion, (date, str)):
        when = format_date(exhaustion)
        closes_on = _as_date(budget.get("closes_on"), "closes_on")
        if closes_on is not None and _as_date(exhaustion, "projected_exhaustion_date") > closes_on:
            when += f" ({AFTER_CLOSING}, {format_date(closes_on)}: het budget raakt naar verwachting niet op)"
    else:
        raise VeiligError(f"budget: projected_exhaustion_date is not a date: {exhaustion!r}")
    rows = [
        ("Totaal (subsidieplafond)", format_euros(total)),
        ("Gereserveerd", format_euros(reserved)),
        ("Uitbetaald", format_euros(paid)),
        ("Resterend", format_euros(remaining)),
        ("Budget op (verwacht)", when),
    ]
    table = "".join(f"<tr><th>{escape_html(k)}</th><td>{escape_html(v)}</td></tr>" for k, v in rows)
    return f"<h2>Budget</h2>{_bar(total, reserved, paid)}<table class=\"veilig-table\">{table}</table>"


AFTER_CLOSING = "na de sluitingsdatum"


def _as_date(value, name: str) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if value is None or isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise VeiligError(f"budget: {name} is not a date: {value!r}")


def _bar(total: int, reserved: int, paid: int) -> str:
    """A bar of the budget: paid, reserved, remaining (widths are computed numbers, not data)."""
    if total <= 0:
        return ""

    def pct(v: int) -> str:
        return f"{max(0.0, min(100.0, 100.0 * v / total)):.2f}%"

    return (
        '<div style="display:flex;height:10px;width:100%;min-width:240px;background:#e5e5e5;'
        'border-radius:3px;overflow:hidden;margin:4px 0" role="img" '
        f'aria-label="{escape_html(f"uitbetaald {pct(paid)}, gereserveerd {pct(reserved)}")}">'
        f'<div style="width:{pct(paid)};background:#08519c"></div>'
        f'<div style="width:{pct(reserved)};background:#6baed6"></div></div>'
        '<p class="veilig-source">donkerblauw: uitbetaald · lichtblauw: gereserveerd · grijs: resterend</p>'
    )
