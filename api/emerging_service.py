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

#: Columns a non-analyst never gets: z-scores, p-values and expectations (with the slice totals
#: they give window counts, and so hidden counts, back).
ANALYST_ONLY_LOCATION = ("trend_z",)
ANALYST_ONLY_BIN = ("gi_z", "gi_p", "gi_p_fdr", "expected")


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
                    params: EmergingParams | None = None) -> EmergingResult:
    """The emerging hot spot analysis of a category, reused while the data are unchanged."""
    categories = resolve_categories(category)
    params = (params or EmergingParams()).validated()
    start, end = default_period(db, start, end)
    key = (category.strip().lower(), start, end, params, data_version(db))
    with _lock:
        if key in _results:
            _results.move_to_end(key)
            return _results[key]
    incidents = load_incidents(db, categories=categories, start=start, end=end)
    result = emerging_hot_spots(incidents, category, start, end, params, buurten=named_buurten(db))
    with _lock:
        _results[key] = result
        while len(_results) > _MAX_RESULTS:
            _results.popitem(last=False)
    return result


def public_tables(result: EmergingResult, threshold: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The location table and the bins as a non-analyst may see them.

    Counts 1..threshold-1 are hidden by the disclosure layer (:func:`veilig.geo.privacy.hide_small_counts`)
    in both tables; a location's total is hidden too when any of its steps is (the total minus the
    visible steps would give the hidden one back). No z-score, p-value or expectation.
    """
    from veilig.geo.privacy import hide_small_counts

    bins = hide_small_counts(result.bins().drop(columns=list(ANALYST_ONLY_BIN)), threshold)
    locations = hide_small_counts(result.locations.drop(columns=list(ANALYST_ONLY_LOCATION)), threshold)
    T = len(result.steps)
    hidden_step = bins["suppressed"].to_numpy().reshape(-1, T).any(axis=1)
    locations["n_incidents"] = locations["n_incidents"].astype(object)
    locations.loc[hidden_step, "n_incidents"] = None
    locations["suppressed"] = locations["suppressed"].to_numpy() | hidden_step
    return locations, bins


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


def emerging_map_layers(db: Database, role: str, threshold: int, category: str,
                        start: date | None, end: date | None) -> list:
    """The "Opkomende hotspots" layer for the hotspot map (monthly steps over the map's period), or none.

    Analysts see counts and the z line; everyone else the disclosure layer's view (counts < 5
    hidden, no z).
    """
    from veilig.maps.emerging import emerging_layer

    if start is None or end is None:
        return []
    first, last = whole_months(start, end)
    params = EmergingParams(step="month")
    result = emerging_result(db, category, first, last, params)
    if role == "analyst":
        table, bins = result.locations, None
    else:
        table, bins = public_tables(result, threshold)
    s = series_of(result, bins)
    from veilig.geo.emerging_export import location_frame

    layer, legend = emerging_layer(location_frame(result, table), result.steps.labels, s["counts"], s["classes"],
                                   s.get("z"), hidden_label=f"<{threshold}", level=params.level)
    return [] if layer is None else [(layer, legend)]
