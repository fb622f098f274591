"""Burglary alert zones (*inbraakalert*): where the near-repeat risk is raised on a given date.

Pure: burglaries and the near-repeat window in, zones out. Rules (stated once; README repeats):

* the window comes from the Knox analysis: radius R = the longest significant spatial band and
  lifetime D = the longest significant temporal band (:func:`veilig.geo.nearrepeat.significant_extent`),
  or configured values when the analysis finds none;
* a burglary on local date ``b`` spans a disc of radius R that is active from ``b`` up to and
  including its expiry date ``b + D`` (temporal band 1 covers 0..D days); on date ``t`` the
  zones of the burglaries with ``t - D <= b <= t`` are active;
* the discs of one burglary date are merged (their union, split into connected parts), so one
  zone carries one expiry date; each zone lists the buurten and postcodes it touches;
* outside the analyst role a zone is drawn as the 100 m grid cells it covers (anchored at whole
  multiples of 100 m, as the Gi* grid): never a disc around an address; its burglary count goes
  through the disclosure layer (:mod:`veilig.geo.privacy`, counts below 5 hidden).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from veilig.errors import VeiligError

from .crs import RD_NEW
from .nearrepeat import local_days

#: Grid of the cells that stand for a zone outside the analyst role (metres).
ZONE_CELL_M = 100.0
#: Used when the analysis finds no significant near-repeat band (and nothing is configured).
DEFAULT_RADIUS_M = 200.0
DEFAULT_DAYS = 14


@dataclass(frozen=True)
class ZoneWindow:
    """Radius (metres) and lifetime (days) of a zone, and where they came from."""

    radius_m: float
    days: int
    source: str  # "analyse" or "instelling"

    def validated(self) -> ZoneWindow:
        if not (isinstance(self.radius_m, (int, float)) and math.isfinite(self.radius_m)
                and 0 < self.radius_m <= 10_000):
            raise VeiligError(f"radius: {self.radius_m!r} m ligt niet tussen 0 en 10.000 m")
        if isinstance(self.days, bool) or not isinstance(self.days, (int, np.integer)) or not 1 <= self.days <= 365:
            raise VeiligError(f"dagen: {self.days!r} ligt niet tussen 1 en 365")
        return self


def alert_zones(burglaries: pd.DataFrame, on: date, window: ZoneWindow,
                buurten: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The zones active on ``on`` (GeoDataFrame, EPSG:28992), largest expiry last.

    ``burglaries``: ``x``, ``y`` (RD New) and ``occurred_at`` (timezone-aware). Columns of the
    result: ``zone_id`` (``YYYYMMDD-k``), ``burglary_date``, ``expires_on``, ``days_left``,
    ``n_incidents`` (burglaries), ``buurten`` (statcodes touched), ``geometry`` (the union of discs).
    """
    window = window.validated()
    cols = ["zone_id", "burglary_date", "expires_on", "days_left", "n_incidents", "buurten", "geometry"]
    if not len(burglaries):
        return gpd.GeoDataFrame({c: [] for c in cols[:-1]}, geometry=[], crs=RD_NEW)
    day = local_days(burglaries["occurred_at"])
    t = int(np.datetime64(on, "D").astype(np.int64))
    active = (day <= t) & (day >= t - window.days)
    x = burglaries["x"].to_numpy(dtype=np.float64)[active]
    y = burglaries["y"].to_numpy(dtype=np.float64)[active]
    day = day[active]
    rows = []
    for d in np.unique(day):
        sel = day == d
        discs = shapely.buffer(shapely.points(x[sel], y[sel]), window.radius_m, quad_segs=16)
        merged = shapely.union_all(discs)
        parts = list(shapely.get_parts(merged))
        parts.sort(key=lambda g: (g.centroid.x, g.centroid.y))
        burglary_date = date(1970, 1, 1) + timedelta(days=int(d))
        expires = burglary_date + timedelta(days=window.days)
        pts = shapely.points(x[sel], y[sel])
        for k, part in enumerate(parts, start=1):
            rows.append({
                "zone_id": f"{burglary_date:%Y%m%d}-{k}",
                "burglary_date": burglary_date, "expires_on": expires, "days_left": (expires - on).days,
                "n_incidents": int(shapely.intersects(part, pts).sum()),
                "geometry": part,
            })
    zones = gpd.GeoDataFrame(rows, geometry="geometry", crs=RD_NEW) if rows else \
        gpd.GeoDataFrame({c: [] for c in cols[:-1]}, geometry=[], crs=RD_NEW)
    zones["buurten"] = touched_buurten(zones, buurten)
    return zones[cols].sort_values(["expires_on", "zone_id"]).reset_index(drop=True)


def touched_buurten(zones: gpd.GeoDataFrame, buurten: gpd.GeoDataFrame | None) -> list[list[str]]:
    """Statcodes of the buurten each zone touches (sorted)."""
    if buurten is None:
        from .neighbourhoods import load_buurten

        buurten = load_buurten()
    if not len(zones):
        return []
    tree = shapely.STRtree(buurten.geometry.values)
    zi, bi = tree.query(zones.geometry.values, predicate="intersects")
    codes = buurten["statcode"].to_numpy()
    out: list[list[str]] = [[] for _ in range(len(zones))]
    for z, b in zip(zi, bi, strict=True):
        out[z].append(str(codes[b]))
    return [sorted(set(c)) for c in out]


def zone_cells(zones: gpd.GeoDataFrame, cell: float = ZONE_CELL_M) -> gpd.GeoDataFrame:
    """Each zone as the union of the ``cell`` m grid squares it covers (non-analysts' drawing).

    A square counts when it intersects the zone's interior (touching an edge is not enough).
    The squares are anchored at whole multiples of ``cell``; the disc itself, and so the centre
    that would point at an address, is not in the result.
    """
    out = zones.drop(columns="geometry").copy()
    geoms = []
    for g in zones.geometry.values:
        minx, miny, maxx, maxy = g.bounds
        x0, y0 = math.floor(minx / cell) * cell, math.floor(miny / cell) * cell
        nx, ny = max(1, math.ceil((maxx - x0) / cell)), max(1, math.ceil((maxy - y0) / cell))
        cols, rows = np.meshgrid(np.arange(nx), np.arange(ny))
        boxes = shapely.box(x0 + cols.ravel() * cell, y0 + rows.ravel() * cell,
                            x0 + (cols.ravel() + 1) * cell, y0 + (rows.ravel() + 1) * cell)
        shapely.prepare(g)
        hit = boxes[shapely.intersects(g, boxes) & ~shapely.touches(g, boxes)]
        # Snap to the grid so the union's vertices are grid corners only.
        geoms.append(shapely.set_precision(shapely.union_all(hit), cell / 100))
    return gpd.GeoDataFrame(out, geometry=geoms, crs=zones.crs)


def zone_postcodes(zones: gpd.GeoDataFrame, postcodes_by_buurt: dict[str, list[str]]) -> list[list[str]]:
    """The postcodes of the buurten each zone touches (from a buurt -> postcodes table)."""
    return [sorted({p for b in codes for p in postcodes_by_buurt.get(b, [])}) for codes in zones["buurten"]]


def outreach_table(zones: gpd.GeoDataFrame, postcodes_by_buurt: dict[str, list[str]],
                   grants: pd.DataFrame, level: str) -> pd.DataFrame:
    """One row per (active zone, postcode): the mailing list for a *buurtbrief*, with the grants there.

    ``grants``: one row per application with ``postcode`` (PC6) and ``status``, ``grant_cents``;
    reserved (``reserved``, ``approved``) and ``paid`` ones are counted. ``level`` is ``PC6`` or
    ``PC4``: the postcode column's precision (PC4 groups by the first four digits).
    """
    if level not in ("PC4", "PC6"):
        raise VeiligError(f"postcodeniveau: {level!r} (PC4 of PC6)")
    n = 4 if level == "PC4" else 6
    g = grants.copy() if len(grants) else pd.DataFrame({"postcode": [], "status": [], "grant_cents": []})
    g["key"] = g["postcode"].astype(str).str.replace(" ", "", regex=False).str.upper().str[:n]
    g["grant_cents"] = pd.to_numeric(g["grant_cents"], errors="coerce").fillna(0).astype(np.int64)
    reserved = g[g["status"].isin(["reserved", "approved"])].groupby("key")
    paid = g[g["status"] == "paid"].groupby("key")
    r_n, r_c = reserved.size(), reserved["grant_cents"].sum()
    p_n, p_c = paid.size(), paid["grant_cents"].sum()
    rows = []
    for z, codes in zip(zones.itertuples(), zone_postcodes(zones, postcodes_by_buurt), strict=True):
        for pc in sorted({c[:n] for c in codes}):
            rows.append({
                "zone_id": z.zone_id, "expires_on": z.expires_on, "postcode": pc, "level": level,
                "buurten": ",".join(z.buurten),
                "grants_reserved": int(r_n.get(pc, 0)), "reserved_cents": int(r_c.get(pc, 0)),
                "grants_paid": int(p_n.get(pc, 0)), "paid_cents": int(p_c.get(pc, 0)),
            })
    cols = ["zone_id", "expires_on", "postcode", "level", "buurten", "grants_reserved", "reserved_cents",
            "grants_paid", "paid_cents"]
    return pd.DataFrame(rows, columns=cols)


def zone_gpkg_layers(zones: gpd.GeoDataFrame, names: dict[str, str] | None = None) -> list:
    """The layers of an alert-zone GeoPackage: ``zones`` (polygons; ``buurten`` as text) and the
    related table ``zone_buurten`` (``zone_id``, ``statcode``, ``statnaam``) instead of a list."""
    from .export import GpkgLayer

    names = names or {}
    flat = zones.assign(buurten=[",".join(b) for b in zones["buurten"]])
    rows = [(z, b, names.get(b, "")) for z, codes in zip(zones["zone_id"], zones["buurten"], strict=True)
            for b in codes]
    related = pd.DataFrame(rows, columns=["zone_id", "statcode", "statnaam"]).astype(str)
    return [GpkgLayer("zones", flat, "Polygon"), GpkgLayer("zone_buurten", related, typed=False)]
