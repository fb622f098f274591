"""Near repeats on maps and pages: the alert-zone layer, the outreach table and the calculator page.

Pure: results in, HTML (or a layer for a Folium map) out. Every value is escaped. The zone layer
takes zones as the caller may show them: discs for analysts, 100 m grid cells for everyone else
(:func:`veilig.geo.nearrepeat_zones.zone_cells`); counts arrive already hidden (None) where the
disclosure layer says so.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from veilig.geo.nearrepeat import KnoxResult, column_labels, row_labels, summary_nl
from veilig.ledger.money import format_euros

from .classes import LegendItem
from .geometry import polygon_payload, to_wgs84
from .policy import finish_page
from .runtime import DataLayer
from .text import escape_html, format_count, format_date, format_decimal, format_int, is_missing

ZONE_COLOR = "#e6550d"
OUTREACH_CSS = (".veilig-outreach { top: 96px; left: 54px; max-width: 440px; max-height: 34%; overflow: auto; "
                "font-size: 12px; }")
ZONE_LAYER_NAME = "Inbraakalert: zones met verhoogd risico"


def zone_layer(zones: gpd.GeoDataFrame, *, cells: bool, hidden_text: str = "<5",
               names: dict[str, str] | None = None):
    """The alert zones as a polygon layer and its legend section; ``None, None`` when empty.

    ``zones`` (EPSG:28992): ``zone_id``, ``expires_on``, ``n_incidents`` (burglaries; None when hidden),
    ``buurten``; geometry discs (analysts) or grid cells (``cells=True``, everyone else).
    """
    if zones is None or not len(zones):
        return None, None
    names = names or {}
    wgs = to_wgs84(zones, "zones")
    styles = [{"color": ZONE_COLOR, "weight": 2, "opacity": 0.9, "fillColor": ZONE_COLOR, "fillOpacity": 0.25,
               "dashArray": "4 3"}]
    values = []
    for z in zones.itertuples():
        buurten = ", ".join(names.get(b, b) for b in (z.buurten or [])) or "-"
        values.append([
            escape_html(z.zone_id), escape_html(format_date(z.expires_on)),
            escape_html(format_count(z.n_incidents, hidden_text)), escape_html(buurten),
        ])
    tooltip = "<b>Inbraakalert {0}</b><br>Verloopt na: {1}<br>Inbraken: {2}<br>Buurten: {3}"
    payload = polygon_payload(wgs.geometry.values, [0] * len(zones), styles, tooltip, values)
    what = "100 m-rastercellen binnen het risicogebied" if cells else "straal rond recente inbraken"
    section = ("Inbraakalert (near repeats)", [LegendItem(ZONE_COLOR, f"zone met verhoogd risico ({what})")])
    return DataLayer("polygons", payload, ZONE_LAYER_NAME), section


def outreach_html(table: pd.DataFrame, window_text: str, hidden_text: str = "<5") -> str:
    """The outreach table for the subsidy desk (per zone and postcode, grants reserved and paid).

    Counts and amounts arrive through the disclosure layer (None where hidden: ``hidden_text``).
    """
    def euros(value) -> str:
        return hidden_text if is_missing(value) else format_euros(int(value))

    # Placed under the title, right; the shared stylesheet has no slot for a second corner panel.
    head = (f"<style>{OUTREACH_CSS}</style>"
            f"<h2>Inbraakalert: postcodes voor een buurtbrief</h2><p class=\"veilig-source\">"
            f"{escape_html(window_text)}</p>")
    if not len(table):
        return head + "<p>Vandaag geen actieve inbraakalertzones.</p>"
    rows = []
    for r in table.itertuples():
        rows.append(
            "<tr>" + "".join(f"<td>{escape_html(v)}</td>" for v in (
                r.zone_id, format_date(r.expires_on), r.postcode, format_count(r.grants_reserved, hidden_text),
                euros(r.reserved_cents), format_count(r.grants_paid, hidden_text), euros(r.paid_cents),
            )) + "</tr>")
    header = "".join(f"<th scope=\"col\">{escape_html(h)}</th>" for h in (
        "zone", "verloopt na", f"postcode ({table['level'].iloc[0]})", "gereserveerd", "bedrag",
        "uitbetaald", "bedrag"))
    return (head + f'<table class="veilig-table veilig-outreach"><thead><tr>{header}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
            '<p class="veilig-source">Download als CSV: <a href="/api/v1/nearrepeat/outreach.csv">'
            "outreach.csv</a></p>")


_PAGE_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 24px; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border: 1px solid #bbb; padding: 3px 8px; text-align: right; }
th[scope=row], thead th { background: #f0f0ee; }
th[scope=row] { text-align: left; }
td.sig { background: #fdd0a2; font-weight: bold; }
.muted { color: #555; font-size: 13px; }
"""


def knox_page(result: KnoxResult, alpha: float = 0.05, title: str = "Near-repeatcalculator (Knox-toets)",
              subtitle: str | None = None) -> str:
    """The calculator's result as one offline HTML page: ratio and significance tables, summary."""
    rows, cols = row_labels(result.bands), column_labels(result.bands)
    sig = result.significant(alpha)

    def table(caption: str, cell) -> str:
        head = "".join(f'<th scope="col">{escape_html(c)}</th>' for c in cols)
        body = []
        for r, label in enumerate(rows):
            cells = "".join(cell(r, c) for c in range(len(cols)))
            body.append(f'<tr><th scope="row">{escape_html(label)}</th>{cells}</tr>')
        return (f"<table><caption>{escape_html(caption)}</caption><thead><tr><th scope=\"col\">afstand \\ tijd"
                f"</th>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>")

    def ratio(r, c) -> str:
        v = result.knox_ratio[r, c]
        text = "-" if not np.isfinite(v) else format_decimal(float(v), 2)
        mark = " *" if sig[r, c] else ""
        cls = ' class="sig"' if sig[r, c] else ""
        return f"<td{cls}>{escape_html(text + mark)}</td>"

    def pval(r, c) -> str:
        cls = ' class="sig"' if sig[r, c] else ""
        return f"<td{cls}>{escape_html(format_decimal(float(result.p_value[r, c]), 3))}</td>"

    def counts(r, c) -> str:
        return (f"<td>{escape_html(format_int(int(result.observed[r, c])))} / "
                f"{escape_html(format_decimal(float(result.expected[r, c]), 1))}</td>")

    level = format_decimal(100 * (1 - alpha), 0)
    info = (f"{format_int(result.n_events)} gebeurtenissen, {format_int(result.n_pairs)} paren, "
            f"{format_int(result.iterations)} permutaties (seed {result.seed}). "
            f"{result.bands.interval_note()}. Nulhypothese: de datums zijn willekeurig over de "
            f"gebeurtenissen verdeeld (locaties vast). * = significant op {level} % (p <= {alpha:g}, Knox-ratio > 1).")
    notes = "".join(f"<p class=\"muted\">{escape_html(n)}</p>" for n in result.notes)
    body = (
        f"<h1>{escape_html(title)}</h1>"
        + (f"<p>{escape_html(subtitle)}</p>" if subtitle else "")
        + f"<p><b>{escape_html(summary_nl(result, alpha))}</b></p>"
        f'<p class="muted">{escape_html(info)}</p>{notes}'
        f"<h2>Knox-ratio (waargenomen / verwacht)</h2>{table('Knox-ratio per afstands- en tijdband', ratio)}"
        f"<h2>Significantie (p-waarde)</h2>{table('p-waarde per cel', pval)}"
        f"<h2>Paren: waargenomen / verwacht</h2>{table('aantal paren per cel', counts)}"
    )
    html_text = ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
                 '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
                 f"<title>{escape_html(title)}</title>\n<style>{_PAGE_CSS}</style>\n</head>\n"
                 f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n")
    return finish_page(html_text)
