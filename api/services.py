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


_secrets: dict[str, bytes] = {}


def disclosure_secret(settings) -> bytes:
    """The record-key secret of the disclosure layer: ``VEILIG_DISCLOSURE_SECRET`` or, by default,
    32 random bytes generated once into ``data_dir/disclosure.key`` (mode 0600) and reused, so the
    same incident keeps the same record key across restarts."""
    import hashlib
    import os
    import secrets

    if settings.disclosure_secret:
        return hashlib.blake2b(settings.disclosure_secret.encode(), digest_size=32).digest()
    path = settings.data_dir / "disclosure.key"
    cached = _secrets.get(str(path))
    if cached is not None:
        return cached
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
    text = path.read_text().strip()
    if len(text) < 32:
        raise VeiligError(f"{path}: the disclosure key is damaged; remove it to generate a new one")
    value = hashlib.blake2b(text.encode(), digest_size=32).digest()
    _secrets[str(path)] = value
    return value


def public_result(result: HotspotResult, settings, previous: HotspotResult | None = None) -> HotspotResult:
    """The result as non-analysts may see it (:func:`veilig.geo.privacy.public_hotspots`): counts
    perturbed and small ones hidden, no z or p, totals and shares hidden beside hidden counts,
    cluster outlines snapped, no incident points. ``settings`` may be a bare threshold (the
    process settings then give the secret)."""
    from veilig.geo.privacy import public_hotspots

    if isinstance(settings, int):
        from veilig.settings import get_settings

        threshold, secret = settings, disclosure_secret(get_settings())
    else:
        threshold, secret = settings.small_count_threshold, disclosure_secret(settings)
    return public_hotspots(result, threshold, secret, previous=previous)


def public_period(db: Database, start: date | None, end: date | None):
    """The aligned period a non-analyst asked for (:func:`veilig.geo.privacy.aligned_period`):
    refused (400) unless a whole ISO week, month, quarter or whole years; none given means the
    whole calendar years of the data. ``None`` when the database holds no incidents."""
    from veilig.geo.privacy import aligned_period

    check_period(start, end)
    return aligned_period(start, end, incident_span(db))


def public_hotspot_result(db: Database, settings, category: str, start: date | None, end: date | None,
                          with_previous: bool = False) -> HotspotResult:
    """The hotspot analysis of an aligned period as a non-analyst sees it (with the change against
    the previous unit when asked)."""
    period = public_period(db, start, end)
    if period is None:
        result = hotspot_result(db, category, start, end)
        return public_result(result, settings)
    result = hotspot_result(db, category, period.start, period.end)
    previous = None
    if with_previous:
        prev = period.previous()
        span = incident_span(db)
        if span is not None and span[0] <= prev.start:
            previous = hotspot_result(db, category, prev.start, prev.end)
    return public_result(result, settings, previous=previous)


def check_period(start: date | None, end: date | None) -> None:
    """Refuse a reversed period or dates outside 1970-2100 (no incident data lie there)."""
    for name, value in (("start", start), ("end", end)):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise VeiligError(f"{name}: {value} ligt buiten {EARLIEST} tot en met {LATEST}")
    if start and end and end < start:
        raise VeiligError(f"end: {end} ligt vóór start {start}; end moet op of na start liggen")


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
    key = (category.strip().lower(), start, end, params, str(db.engine.url), data_version(db))
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
