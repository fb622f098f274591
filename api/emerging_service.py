"""Emerging hot spots for the ways in: load, analyse, cache by data version, and the public view.

No analysis here (that is :mod:`veilig.geo.emerging`); only which rows to load, which result to
reuse and what a non-analyst may see of it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date

import numpy as np
import pandas as pd

from veilig.errors import VeiligError
from veilig.geo.categories import resolve_categories
from veilig.geo.emerging import EmergingParams, EmergingResult, emerging_hot_spots
from veilig.storage import Database
from veilig.storage.incidents import data_version, incident_span, load_incidents

from .services import check_period, named_buurten

_lock = threading.Lock()
_results: OrderedDict[tuple, EmergingResult] = OrderedDict()
_MAX_RESULTS = 8

def default_period(db: Database, start: date | None, end: date | None) -> tuple[date, date]:
    """The asked period, or the data's span where a bound is missing."""
    if start is None or end is None:
        span = incident_span(db)
        if span is None:
            raise VeiligError("er zijn nog geen incidenten: geef --start en --end")
        start, end = start or span[0], end or span[1]
    check_period(start, end)
    return start, end


def emerging_result(db: Database, category: str, start: date | None, end: date | None,
                    params: EmergingParams | None = None, secret: bytes | None = None) -> EmergingResult:
    """The emerging hot spot analysis of a category, reused while the data are unchanged.

    With the disclosure ``secret`` the incidents carry record keys, so the cube carries the cell
    keys the public view (:func:`veilig.geo.privacy.public_emerging`) perturbs with.
    """
    categories = resolve_categories(category)
    params = (params or EmergingParams()).validated()
    start, end = default_period(db, start, end)
    key = (category.strip().lower(), start, end, params, str(db.engine.url), data_version(db), secret)
    with _lock:
        if key in _results:
            _results.move_to_end(key)
            return _results[key]
    incidents = load_incidents(db, categories=categories, start=start, end=end)
    if secret is not None:
        from veilig.geo.privacy import with_record_keys

        incidents = with_record_keys(incidents, secret)
    result = emerging_hot_spots(incidents, category, start, end, params, buurten=named_buurten(db))
    with _lock:
        _results[key] = result
        while len(_results) > _MAX_RESULTS:
            _results.popitem(last=False)
    return result


def public_tables(result: EmergingResult, threshold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The location table and the bins as a non-analyst may see them (the disclosure layer's
    :func:`veilig.geo.privacy.public_emerging`)."""
    from veilig.geo.privacy import public_emerging

    return public_emerging(result, threshold)


def public_emerging_result(db: Database, settings, category: str, period, params: EmergingParams) -> EmergingResult:
    """The analysis of an aligned period with the cell keys of the disclosure layer."""
    from .services import disclosure_secret

    return emerging_result(db, category, period.start, period.end, params, secret=disclosure_secret(settings))


def series_of(result: EmergingResult, bins: pd.DataFrame | None = None) -> dict[str, np.ndarray]:
    """Per location (rows) and step (columns): counts (NaN where hidden), classes, and z when present."""
    T = len(result.steps)
    b = result.bins() if bins is None else bins
    counts = pd.to_numeric(b["n_incidents"], errors="coerce").to_numpy(dtype=np.float64).reshape(-1, T)
    out = {"counts": counts, "classes": b["gi_class"].to_numpy(dtype=np.int64).reshape(-1, T)}
    if "gi_z" in b.columns:
        out["z"] = b["gi_z"].to_numpy(dtype=np.float64).reshape(-1, T)
    return out


def whole_months(start: date, end: date, minimum: int = 6) -> tuple[date, date]:
    """The whole calendar months inside ``start .. end``; at least ``minimum`` months, ending with ``end``'s.

    The map layer shows months, and non-analysts get whole steps only.
    """
    from datetime import timedelta

    first = start if start.day == 1 else (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    month_end = (end.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    last = end if end == month_end else end.replace(day=1) - timedelta(days=1)
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    if months < minimum:
        m = last.year * 12 + last.month - 1 - (minimum - 1)
        first = date(m // 12, m % 12 + 1, 1)
    return first, last


def emerging_map_layers(db: Database, settings, role: str, category: str,
                        start: date | None, end: date | None, period=None) -> list:
    """The "Opkomende hotspots" layer for the hotspot map (monthly steps), or none.

    Analysts: the map's period in whole months (at least six), with counts and the z line.
    Everyone else: the disclosure layer's view over whole calendar years
    (:func:`veilig.geo.privacy.public_emerging_period` of the map's aligned ``period``), counts
    perturbed and hidden below the threshold, no z.
    """
    from veilig.dates import today_local
    from veilig.geo.emerging_export import location_frame
    from veilig.geo.privacy import public_emerging_period
    from veilig.maps.emerging import emerging_layer

    threshold = settings.small_count_threshold
    params = EmergingParams(step="month")
    if role == "analyst":
        if start is None or end is None:
            return []
        first, last = whole_months(start, end)
        result = emerging_result(db, category, first, last, params)
        table, bins = result.locations, None
    else:
        span = incident_span(db)
        shown = public_emerging_period(period, span[1] if span else None, today_local())
        if shown is None:
            return []
        result = public_emerging_result(db, settings, category, shown, params)
        table, bins = public_tables(result, threshold)
    s = series_of(result, bins)
    layer, legend = emerging_layer(location_frame(result, table), result.steps.labels, s["counts"], s["classes"],
                                   s.get("z"), hidden_label=f"<{threshold}", level=params.level)
    return [] if layer is None else [(layer, legend)]
