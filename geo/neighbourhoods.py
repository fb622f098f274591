"""Zoetermeer's CBS buurten and wijken (2023, generalised) and point-to-buurt assignment.

The wijken are dissolved from the buurten, so a buurt nests exactly in its wijk; the CBS wijk
file (generalised independently) only supplies the wijk names.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import geopandas as gpd
import numpy as np
import shapely

from .crs import RD_NEW

#: Points up to this far outside every (generalised) polygon go to the nearest buurt.
DEFAULT_MARGIN_M = 250.0

ATTRIBUTION = "Kadaster / Centraal Bureau voor de Statistiek, 2023"
ATTRIBUTION_LONG = (
    "Bron: CBS / Kadaster, Wijk- en Buurtkaart 2023 (gegeneraliseerd), via PDOK; "
    "vereenvoudigd door cartomap/nl (mapshaper)."
)


def _read_bundled(name: str) -> gpd.GeoDataFrame:
    path = resources.files("veilig.data").joinpath(name)
    with resources.as_file(path) as p:
        gdf = gpd.read_file(p)
    if gdf.crs is None or gdf.crs.to_epsg() != 28992:
        raise ValueError(f"{name}: expected EPSG:28992, found {gdf.crs}")
    return gdf


@lru_cache(maxsize=1)
def _buurten_cached() -> gpd.GeoDataFrame:
    gdf = _read_bundled("buurten_2023.geojson")[["statcode", "statnaam", "wijkcode", "geometry"]]
    gdf = gdf.sort_values("statcode").reset_index(drop=True)
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    return gdf.set_crs(RD_NEW, allow_override=True)


def load_buurten() -> gpd.GeoDataFrame:
    """The 26 buurten: ``statcode``, ``statnaam``, ``wijkcode``, ``geometry`` (EPSG:28992), sorted by statcode."""
    return _buurten_cached().copy()


def load_wijken() -> gpd.GeoDataFrame:
    """The 9 wijken, dissolved from the buurten: ``statcode``, ``statnaam``, ``geometry``."""
    buurten = _buurten_cached()
    names = _read_bundled("wijken_2023.geojson").set_index("statcode")["statnaam"]
    wijken = buurten.dissolve(by="wijkcode", as_index=False)[["wijkcode", "geometry"]]
    wijken = wijken.rename(columns={"wijkcode": "statcode"})
    wijken["statnaam"] = wijken["statcode"].map(names)
    return wijken[["statcode", "statnaam", "geometry"]].sort_values("statcode").reset_index(drop=True)


def load_gemeente() -> gpd.GeoDataFrame:
    """Zoetermeer as the union of its buurten (consistent with the buurten, unlike the CBS outline)."""
    geom = shapely.union_all(_buurten_cached().geometry.values)
    return gpd.GeoDataFrame({"statcode": ["GM0637"], "statnaam": ["Zoetermeer"]}, geometry=[geom], crs=RD_NEW)


def assign_buurt(
    x: np.ndarray,
    y: np.ndarray,
    buurten: gpd.GeoDataFrame | None = None,
    margin_m: float = DEFAULT_MARGIN_M,
) -> tuple[np.ndarray, np.ndarray]:
    """Assign RD New points to buurten, vectorised.

    Returns ``(codes, distance_m)``: ``codes`` is an object array of statcodes (``None`` for a point
    farther than ``margin_m`` from every buurt), ``distance_m`` the distance to the assigned or
    nearest buurt (0 inside). A point on a shared edge goes to the buurt with the lowest statcode,
    so the assignment is deterministic.
    """
    if buurten is None:
        buurten = _buurten_cached()
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    n = x.shape[0]
    codes = np.full(n, None, dtype=object)
    dist = np.full(n, np.inf)
    finite = np.isfinite(x) & np.isfinite(y)
    statcodes = buurten["statcode"].to_numpy()
    geoms = buurten.geometry.values
    # Fast path: strictly inside a polygon, tested on raw coordinates against each prepared
    # polygon (no point objects); only the few left over (edges, outside) take the tree path.
    for i, poly in enumerate(geoms):
        minx, miny, maxx, maxy = poly.bounds
        cand = np.flatnonzero(finite & (x >= minx) & (x <= maxx) & (y >= miny) & (y <= maxy) & (dist > 0))
        if cand.size == 0:
            continue
        shapely.prepare(poly)
        inside = cand[shapely.contains_xy(poly, x[cand], y[cand])]
        codes[inside] = statcodes[i]
        dist[inside] = 0.0
    idx_finite = np.flatnonzero(finite & (dist > 0))
    if idx_finite.size == 0:
        return codes, dist
    points = shapely.points(x[idx_finite], y[idx_finite])
    tree = shapely.STRtree(geoms)

    # Inside (or on the edge of) a polygon: "intersects" so edge points are not lost.
    pt_i, poly_i = tree.query(points, predicate="intersects")
    if pt_i.size:
        # Several hits only on shared edges: keep the lowest buurt index (sorted by statcode).
        order = np.lexsort((poly_i, pt_i))
        pt_i, poly_i = pt_i[order], poly_i[order]
        first = np.concatenate(([True], pt_i[1:] != pt_i[:-1]))
        codes[idx_finite[pt_i[first]]] = statcodes[poly_i[first]]
        dist[idx_finite[pt_i[first]]] = 0.0

    # Outside every polygon: nearest buurt within the margin (the polygons are generalised).
    outside = np.flatnonzero(dist[idx_finite] > 0)
    if outside.size:
        near_pt, near_poly = tree.query_nearest(
            points[outside], return_distance=False, all_matches=False
        )
        d = shapely.distance(points[outside][near_pt], buurten.geometry.values[near_poly])
        target = idx_finite[outside[near_pt]]
        dist[target] = d
        ok = d <= margin_m
        codes[target[ok]] = statcodes[near_poly[ok]]
    return codes, dist
