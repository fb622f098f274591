"""Glue between the ways in and the analysis: load from storage, call geo, cache by data version.

No analysis here: only which rows to load and which result to reuse.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, timedelta

from veilig.errors import VeiligError
from veilig.geo.categories import resolve_categories
from veilig.geo.hotspots import HotspotParams, HotspotResult, compute_hotspots
from veilig.storage import Database
from veilig.storage.incidents import data_version, incident_span, load_buurt_stats, load_incidents

_lock = threading.Lock()
_results: OrderedDict[tuple, HotspotResult] = OrderedDict()
_MAX_RESULTS = 16


def named_buurten(db: Database, stats=None):
    """The buurt polygons, with the names of the imported statistics where those give one.

    CBS renames a buurt now and then; the statistics of a newer year then carry the current name.
    """
    from veilig.geo.neighbourhoods import load_buurten

    buurten = load_buurten()
    stats = load_buurt_stats(db) if stats is None else stats
    if len(stats) and stats["statnaam"].notna().any():
        names = stats.dropna(subset=["statnaam"]).set_index("statcode")["statnaam"]
        override = buurten["statcode"].map(names)
        buurten["statnaam"] = override.where(override.notna() & (override.astype(str).str.strip() != ""),
                                             buurten["statnaam"])
    return buurten


# Amsterdam's pre-1937 UTC offset (+00:19:32) is no whole minute; no incident data lie before 1970.
EARLIEST, LATEST = date(1970, 1, 1), date(2100, 12, 31)


def public_result(result: HotspotResult, threshold: int) -> HotspotResult:
    """The result as non-analysts may see it: small counts hidden in every layer, cluster
    outlines snapped so they do not point at incidents, no incident points."""
    import dataclasses

    from veilig.geo.privacy import coarsen_shapes, hide_small_counts

    return dataclasses.replace(
        result,
        clusters=coarsen_shapes(hide_small_counts(result.clusters, threshold)),
        grid=hide_small_counts(result.grid, threshold),
        buurten=hide_small_counts(result.buurten, threshold),
        points=result.points.iloc[0:0],
    )


def check_period(start: date | None, end: date | None) -> None:
    """Refuse a reversed period or dates outside 1970-2100 (no incident data lie there)."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise VeiligError(f"{name}: {value} lies outside {EARLIEST} to {LATEST}")
    if start and end and end < start:
        raise VeiligError(f"end {end} lies before start {start}")


def hotspot_result(
    db: Database,
    category: str,
    start: date | None = None,
    end: date | None = None,
    params: HotspotParams | None = None,
) -> HotspotResult:
    """The hotspot analysis of a category or group in a period, reused while the data are unchanged."""
    categories = resolve_categories(category)
    check_period(start, end)
    params = (params or HotspotParams()).validated()
    key = (category.strip().lower(), start, end, params, data_version(db))
    with _lock:
        if key in _results:
            _results.move_to_end(key)
            return _results[key]
    # The previous period of equal length is loaded too, for the change per buurt.
    load_from = start - timedelta(days=(end - start).days + 1) if start and end else None
    # The analysis needs no external ids: not carrying a million strings through it saves a second.
    incidents = load_incidents(db, categories=categories, start=load_from, end=end,
                               categorical=True).drop(columns="ext_id")
    span = incident_span(db)
    stats = load_buurt_stats(db)
    from veilig.storage.exposure import load_exposure

    result = compute_hotspots(incidents, category, start, end, params, buurten=named_buurten(db, stats),
                              stats=stats, data_start=span[0] if span else None, exposure=load_exposure(db))
    with _lock:
        _results[key] = result
        while len(_results) > _MAX_RESULTS:
            _results.popitem(last=False)
    return result
