"""Glue for near repeats: load burglaries, run the Knox test, derive the alert zones and outreach.

No analysis here (that is :mod:`veilig.geo.nearrepeat` and :mod:`veilig.geo.nearrepeat_zones`):
only which rows to load, which window the zones use, the ledger reads for the outreach list,
the disclosure rules per role and a cache by data version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date, timedelta

import geopandas as gpd
import pandas as pd

from veilig.errors import NotFoundError, VeiligError
from veilig.geo.categories import resolve_categories
from veilig.geo.nearrepeat import KnoxBands, KnoxResult, events_from_incidents, knox_test, significant_extent
from veilig.geo.nearrepeat_zones import (
    DEFAULT_DAYS,
    DEFAULT_RADIUS_M,
    ZoneWindow,
    alert_zones,
    outreach_table,
    zone_cells,
)
from veilig.storage import Database
from veilig.storage.incidents import data_version, load_incidents

from .services import check_period

#: The zones' window comes from the Knox test on this many days of burglaries up to the date.
ZONE_ANALYSIS_DAYS = 730
ZONE_ITERATIONS = 999
ZONE_SEED = 0
#: The HTTP service refuses a Knox request above this much work (~ tens of seconds); the CLI has no limit.
HTTP_MAX_WORK = 1e9

_lock = threading.Lock()
_cache: OrderedDict[tuple, object] = OrderedDict()


def _cached(key: tuple, build):
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    value = build()
    with _lock:
        _cache[key] = value
        while len(_cache) > 32:
            _cache.popitem(last=False)
    return value


def nearrepeat_result(db: Database, category: str = "burglary", start: date | None = None,
                      end: date | None = None, bands: KnoxBands | None = None, iterations: int = 999,
                      seed: int | None = 0, max_work: float | None = None) -> tuple[KnoxResult, bool]:
    """The Knox test on the stored incidents of a category and period; (result, synthetic)."""
    categories = resolve_categories(category)
    check_period(start, end)
    bands = (bands or KnoxBands()).validated()
    key = ("knox", category.strip().lower(), start, end, bands, iterations, seed, data_version(db))

    def build():
        incidents = load_incidents(db, categories=categories, start=start, end=end)
        if len(incidents) < 2:
            raise VeiligError(f"te weinig incidenten ({len(incidents)}) van '{category}' in deze periode; "
                              "de Knox-test heeft er minstens 2 nodig")
        synthetic = bool((incidents["source"] == "demo").all())
        return knox_test(events_from_incidents(incidents), bands, iterations, seed, max_work), synthetic

    return _cached(key, build)


def zone_window(db: Database, on: date, radius_m: float | None = None, days: int | None = None) -> ZoneWindow:
    """Radius and lifetime of the zones on ``on``: given, else from the Knox test of the last two
    years of burglaries (longest significant bands), else the defaults (200 m, 14 days)."""
    if radius_m is not None and days is not None:
        return ZoneWindow(float(radius_m), int(days), "instelling").validated()
    extent = None
    try:
        result, _ = nearrepeat_result(db, "burglary", on - timedelta(days=ZONE_ANALYSIS_DAYS - 1), on,
                                      iterations=ZONE_ITERATIONS, seed=ZONE_SEED)
        extent = significant_extent(result)
    except VeiligError:
        extent = None
    if extent is None:
        return ZoneWindow(float(radius_m or DEFAULT_RADIUS_M), int(days or DEFAULT_DAYS), "instelling").validated()
    return ZoneWindow(float(radius_m or extent[0]), int(days or extent[1]), "analyse").validated()


def window_text(window: ZoneWindow) -> str:
    how = ("uit de near-repeatanalyse van de laatste twee jaar" if window.source == "analyse"
           else "ingesteld (de analyse vond geen significante band)")
    return (f"Straal {window.radius_m:g} m, looptijd {window.days} dagen na de inbraak ({how}).")


def active_zones(db: Database, on: date, window: ZoneWindow | None = None,
                 buurten: gpd.GeoDataFrame | None = None) -> tuple[gpd.GeoDataFrame, ZoneWindow]:
    """The zones active on ``on`` (discs, analyst view) and the window used."""
    check_period(on, on)
    window = window or zone_window(db, on)
    key = ("zones", on, window, data_version(db))

    def build():
        incidents = load_incidents(db, categories=resolve_categories("burglary"),
                                   start=on - timedelta(days=window.days), end=on)
        return alert_zones(incidents, on, window, buurten)

    return _cached(key, build), window


def public_zones(zones: gpd.GeoDataFrame, threshold: int) -> gpd.GeoDataFrame:
    """Zones as non-analysts see them: 100 m grid cells, burglary counts below ``threshold`` hidden."""
    from veilig.geo.privacy import hide_small_counts

    cells = zone_cells(zones)
    shown = hide_small_counts(cells, threshold)
    return gpd.GeoDataFrame(shown, geometry="geometry", crs=zones.crs)


def zones_synthetic(db: Database, on: date, window: ZoneWindow) -> bool:
    """Whether the burglaries behind the zones on ``on`` are all synthetic demo data."""
    incidents = load_incidents(db, categories=resolve_categories("burglary"), start=on - timedelta(days=window.days),
                               end=on)
    return bool(len(incidents)) and bool((incidents["source"] == "demo").all())


def outreach(db: Database, zones: gpd.GeoDataFrame) -> tuple[pd.DataFrame, str]:
    """Per active zone the postcodes (PC6 with the CBS postcode table, PC4 otherwise) and the
    grants reserved or paid there; and a note on where the postcodes come from."""
    from veilig.storage import ledger_repo

    by_buurt = ledger_repo.postcodes_by_buurt(db)
    try:
        applications = ledger_repo.list_applications(db)
    except NotFoundError:  # no pilot yet: no grants
        applications = []
    grants = pd.DataFrame([{"postcode": a.postcode, "status": a.status, "grant_cents": a.grant_cents,
                            "buurt": a.buurt} for a in applications],
                          columns=["postcode", "status", "grant_cents", "buurt"])
    if by_buurt:
        level = "PC6"
        note = "Postcodes (PC6) uit de CBS-tabel postcode-huisnummer-buurt van de buurten die de zone raakt."
    else:
        level = "PC4"
        by_buurt = {}
        for b, pc in zip(grants["buurt"], grants["postcode"], strict=True):
            if b:
                by_buurt.setdefault(str(b), []).append(str(pc)[:4])
        note = ("Geen CBS-postcodetabel geladen: viercijferige postcodes (PC4) van de buurten die de zone raakt, "
                "voor zover bekend uit aanvragen. Laad de postcodetabel voor een volledige PC6-lijst.")
    return outreach_table(zones, by_buurt, grants, level), note


def today_local() -> date:
    """Today in Zoetermeer (the one :func:`veilig.dates.today_local`)."""
    from veilig.dates import today_local as today

    return today()


def zone_overlays(db: Database, settings, role: str, on: date | None = None) -> list:
    """The alert-zone layer for a map: discs for analysts, 100 m cells with hidden counts otherwise."""
    from veilig.maps.base import hidden_label
    from veilig.maps.nearrepeat import zone_layer

    from .services import named_buurten

    zones, _ = active_zones(db, on or today_local())
    threshold = settings.small_count_threshold
    if role != "analyst":
        zones = public_zones(zones, threshold)
    buurten = named_buurten(db)
    names = dict(zip(buurten["statcode"], buurten["statnaam"], strict=True))
    layer, section = zone_layer(zones, cells=role != "analyst", hidden_text=hidden_label(threshold), names=names)
    return [] if layer is None else [(layer, section)]


def outreach_panel(db: Database, on: date | None = None) -> list[tuple[str, str]]:
    """The outreach table as a panel for the subsidy map."""
    from veilig.maps.nearrepeat import outreach_html

    zones, window = active_zones(db, on or today_local())
    table, note = outreach(db, zones)
    return [(outreach_html(table, f"{window_text(window)} {note}"), "veilig-outreach")]
