"""The hotspot map's control bar (category, period, method and parameters) and download links.

The map itself is a Folium page built by :mod:`veilig.maps`; the bar is a server-rendered fragment
(autoescaped Jinja2, no script) put at the top of its ``<body>``. Only analysts see the method and
parameter fields: for everyone else the API refuses changed parameters (a tiny eps would draw
single incidents).
"""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from veilig.dates import format_date_nl
from veilig.geo.hotspots import HotspotParams

from .render import templates

#: The categories the bar offers, in the order analysts use them.
CATEGORY_CHOICES = (("drugs", "Drugscriminaliteit"), ("burglary", "Inbraak (woning en schuur)"),
                    ("woninginbraak", "Woninginbraak"), ("inbraak_schuur", "Inbraak schuur/berging"),
                    ("overlast_jeugd", "Overlast jeugd"), ("alcohol", "Alcohol"), ("evenement", "Evenementen"),
                    ("melding_wijkzorg", "Meldingen wijkzorg"))


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def control_bar(category: str, start: date | None, end: date | None, params: HotspotParams, analyst: bool) -> str:
    """The bar's HTML for the map as it is drawn now (the values reflect what is on screen)."""
    query = {"category": category}
    if start:
        query["start"] = start.isoformat()
    if end:
        query["end"] = end.isoformat()
    if analyst and params != HotspotParams():
        query.update(method=params.method, eps=_num(params.eps), min_samples=str(params.min_samples),
                     cell=_num(params.cell))
    ctx = {"c": {"category": category, "start_text": format_date_nl(start), "end_text": format_date_nl(end),
                 "method": params.method, "eps": _num(params.eps), "min_samples": params.min_samples,
                 "cell": _num(params.cell)},
           "categories": CATEGORY_CHOICES, "analyst": analyst, "query": urlencode(query)}
    return templates.env.get_template("map_controls.html").render(ctx)


def with_control_bar(html: str, bar: str) -> str:
    """The map page with ``bar`` as the first element of its body."""
    marker = "<body>"
    if marker not in html:
        raise ValueError("map page has no <body>")
    return html.replace(marker, marker + "\n" + bar, 1)
