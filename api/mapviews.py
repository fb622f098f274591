"""Which results go into which map for which role: shared by the HTTP routes and ``veilig map``.

No analysis and no HTML of its own: it loads (through services), applies the role's privacy
rules and hands the results to the pure builders in :mod:`veilig.maps`.
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from veilig.dates import today_local
from veilig.errors import NotFoundError
from veilig.geo.categories import LABELS_NL
from veilig.settings import Settings
from veilig.storage import Database

from .services import (
    check_period,
    hotspot_result,
    named_buurten,
    public_hotspot_result,
    public_period,
    public_result,
)

ANALYST = "analyst"
#: Said on every map a non-analyst sees (the disclosure layer, veilig.geo.privacy).
PERTURBED_NL = " (aantallen afgerond/verstoord)"


def tile_options(settings: Settings):
    from veilig.maps.base import TileOptions

    if not settings.tiles_enabled:
        return None
    return TileOptions(url=settings.tile_url, variant=settings.tile_variant)


def period_label(start: date | None, end: date | None) -> str:
    if start and end:
        return f"{start:%d-%m-%Y} t/m {end:%d-%m-%Y}"
    if start:
        return f"vanaf {start:%d-%m-%Y}"
    if end:
        return f"t/m {end:%d-%m-%Y}"
    return "alle beschikbare data"


def hotspot_map_html(db: Database, settings: Settings, role: str, category: str,
                     start: date | None = None, end: date | None = None, result=None) -> str:
    """The hotspot map; incident points only for analysts, small counts hidden for the others."""
    from veilig.maps.hotspots import analysis_note, build_hotspot_map

    check_period(start, end)
    points = None
    if role == ANALYST:
        result = result or hotspot_result(db, category, start, end)
        if len(result.points):
            points = result.points
    else:
        # The disclosure layer (veilig.geo.privacy): an aligned period, perturbed counts, no z.
        period = public_period(db, start, end)
        if period is not None and result is not None and (result.start, result.end) != (period.start, period.end):
            result = None
        result = public_result(result, settings) if result is not None else \
            public_hotspot_result(db, settings, category, start, end)
    buurten, clusters = result.buurten, result.clusters
    label = LABELS_NL.get(result.category, result.category)
    from .emerging_service import emerging_map_layers
    from .nearrepeat_service import zone_overlays

    overlays = list(emerging_map_layers(db, role, settings.small_count_threshold, category, result.start,
                                        result.end))
    if _is_burglary(category):
        overlays += zone_overlays(db, settings, role)
    return build_hotspot_map(
        buurten.rename(columns={"rate_per_1000_dwellings": "rate_per_1000"}), clusters, result.grid, points,
        title=f"Hotspots {label}", category_label=label,
        period_label=period_label(result.start, result.end) + ("" if role == ANALYST else PERTURBED_NL),
        tiles=tile_options(settings), synthetic=result.synthetic,
        hide_below=None if role == ANALYST else settings.small_count_threshold,
        analysis_note=analysis_note(result.metadata()), overlays=overlays)


def _is_burglary(category: str) -> bool:
    from veilig.geo.categories import GROUPS

    return category.strip().lower() in set(GROUPS["burglary"]) | {"burglary"}


def subsidy_map_html(db: Database, settings: Settings, pilot_id: int | None = None) -> str:
    """Grants and euros per buurt beside burglaries per buurt, and the budget."""
    from veilig.maps.subsidy import build_subsidy_map
    from veilig.storage import ledger_repo

    try:
        pilot = ledger_repo.get_pilot(db, pilot_id)
    except NotFoundError:
        if pilot_id is not None:
            raise
        from .nearrepeat_service import outreach_panel, zone_overlays

        buurten = named_buurten(db).assign(grants=0, granted_cents=0, burglaries=None)
        return build_subsidy_map(buurten, None, tiles=tile_options(settings),
                                 hide_below=settings.small_count_threshold,
                                 overlays=zone_overlays(db, settings, "subsidy"), panels=outreach_panel(db))
    budget = ledger_repo.budget(db, pilot.id)
    rows = pd.DataFrame([r.model_dump() for r in ledger_repo.buurt_report(db, pilot.id)])
    # Burglaries during the pilot so far; before it opens, the last twelve months.
    today = today_local()
    b_start, b_end = (pilot.opens_on, min(pilot.closes_on, today)) if pilot.opens_on <= today else (
        today - timedelta(days=364), today)
    # Snapped to whole calendar years (an aligned period, veilig.geo.privacy): a window that ends
    # today moves by a day at a time, and two such days differenced give one day's burglaries.
    b_start, b_end = date(b_start.year, 1, 1), date(b_end.year, 12, 31)
    burglary = public_result(hotspot_result(db, "burglary", b_start, b_end), settings)
    table = burglary.buurt_table()
    buurten = named_buurten(db).merge(table[["statcode", "n_incidents", "rate_per_1000_dwellings"]],
                                      on="statcode", how="left")
    if len(rows):
        rows = rows.rename(columns={"buurt": "statcode"})
        buurten = buurten.merge(rows[["statcode", "applications", "grants", "reserved_cents", "paid_cents"]],
                                on="statcode", how="left")
    for col in ("applications", "grants", "reserved_cents", "paid_cents"):
        if col not in buurten:
            buurten[col] = 0
        buurten[col] = buurten[col].fillna(0).astype(int)
    buurten["granted_cents"] = buurten["reserved_cents"] + buurten["paid_cents"]
    buurten = buurten.rename(columns={"n_incidents": "burglaries", "rate_per_1000_dwellings": "burglary_rate"})
    from .nearrepeat_service import outreach_panel, zone_overlays

    return build_subsidy_map(buurten, {**budget.model_dump(), "closes_on": pilot.closes_on}, tiles=tile_options(settings),
                             title=f"Subsidie hang- en sluitwerk: {pilot.name}{PERTURBED_NL}",
                             hide_below=settings.small_count_threshold,
                             overlays=zone_overlays(db, settings, "subsidy"), panels=outreach_panel(db))


def rhythm_map_html(db: Database, settings: Settings, role: str, theme: str, week: str | None = None,
                    weekday: int = 4, shift: str | None = None, pairs: int = 3, area: str | None = None) -> str:
    """The ranked areas of one weekday and shift, with the selected area's rhythm as a heat table."""
    from veilig.maps.rhythm import build_rhythm_map

    from .routes.rhythm import rhythm_map_inputs

    inputs = rhythm_map_inputs(db, role, settings, theme, week, weekday, shift, pairs, area)
    return build_rhythm_map(**inputs, tiles=tile_options(settings),
                            hide_below=None if role == ANALYST else settings.small_count_threshold)
