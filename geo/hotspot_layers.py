"""The three feature layers of a hotspot result (clusters, grid cells, buurten) as GeoDataFrames in RD New.

Pure table building for :func:`veilig.geo.hotspots.compute_hotspots`: the statistics arrive
computed (:mod:`veilig.geo.gistar`, :mod:`veilig.geo.sigclusters`); here they become the fields of
the brief plus ``gi_p_norm``, ``observed``, ``expected``, ``ratio``, ``p_value`` and ``null_model``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .clusters import cluster_polygons
from .crs import RD_NEW
from .exposure import Null
from .gistar import ExactGiResult, disk_halfwidths, gi_star_exact, queen_weights
from .grid import StudyGrid
from .sigclusters import component_polygons, component_stats

CLUSTER_COLUMNS = ["kind", "cluster_id", "category", "n_incidents", "area_m2", "density_per_km2", "first_date",
                   "last_date", "buurten", "buurt_shares", "n_cells", "observed", "expected", "ratio", "p_value",
                   "cluster_method", "null_model"]
GRID_COLUMNS = ["kind", "cell_id", "n_incidents", "gi_z", "gi_p", "gi_p_norm", "gi_p_fdr", "gi_class", "observed",
                "expected", "ratio", "null_model"]
BUURT_COLUMNS = ["kind", "statcode", "statnaam", "wijkcode", "n_incidents", "share", "dwellings",
                 "rate_per_1000_dwellings", "n_clusters", "share_in_clusters", "gi_z", "gi_p", "gi_p_norm",
                 "gi_p_fdr", "gi_class", "observed", "expected", "ratio", "n_previous", "change", "change_pct",
                 "null_model"]

#: ``cluster_method`` of a significant cluster and (prefix) of a raw one.
SIGNIFICANT_METHOD = "significante Gi*-cellen (95 %, FDR)"
RAW_METHOD = "ruwe clustering"

_CLUSTER_DTYPES = {"cluster_id": "int64", "n_incidents": "int64", "area_m2": "float64",
                   "density_per_km2": "float64", "n_cells": "int64", "observed": "int64", "expected": "float64",
                   "ratio": "float64", "p_value": "float64"}


def empty_layer(columns: list[str], dtypes: dict[str, str]) -> gpd.GeoDataFrame:
    data = {c: pd.Series([], dtype=dtypes.get(c, object)) for c in columns}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=RD_NEW), crs=RD_NEW)


def _ratio(observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected > 0, observed / expected, np.nan)


def grid_table(grid: StudyGrid, counts: np.ndarray, gi: ExactGiResult, null_model: str,
               messages: list[str]) -> gpd.GeoDataFrame:
    """One row per study-area cell: its count and its window's Gi* statistics."""
    m = grid.mask
    vals = counts[m]
    if vals.size and vals.min() == vals.max() and vals.max() > 0:
        messages.append("alle rastercellen hebben evenveel incidenten: de analytische Gi* z is 0")
    obs = gi.observed[m].astype(np.int64)
    exp = gi.expected[m]
    return gpd.GeoDataFrame({
        "kind": "grid",
        "cell_id": grid.cell_ids(),
        "n_incidents": vals.astype(np.int64),
        "gi_z": gi.z[m],
        "gi_p": gi.p[m],
        "gi_p_norm": gi.p_norm[m],
        "gi_p_fdr": gi.p_fdr[m],
        "gi_class": gi.gi_class[m].astype(np.int64),
        "observed": obs,
        "expected": np.round(exp, 6),
        "ratio": np.round(_ratio(obs, exp), 6),
        "null_model": null_model,
    }, geometry=grid.cell_polygons(), crs=RD_NEW)


def _membership(labels: np.ndarray, bidx: np.ndarray, days: np.ndarray, statcodes: np.ndarray, k: int):
    """Per cluster 0..k-1: incidents, first/last day, buurten (most incidents first) and their shares."""
    inc = labels >= 0
    lab, nb = labels[inc], statcodes.size
    size = np.bincount(lab, minlength=k)
    per_buurt = np.bincount(lab * nb + bidx[inc], minlength=k * nb).reshape(k, nb)
    day_num = days[inc].astype(np.int64)
    first = np.full(k, np.iinfo(np.int64).max)
    last = np.full(k, np.iinfo(np.int64).min)
    np.minimum.at(first, lab, day_num)
    np.maximum.at(last, lab, day_num)
    buurt_lists: list[list[str]] = []
    shares: list[dict[str, float]] = []
    for c in range(k):
        present = np.flatnonzero(per_buurt[c])
        present = present[np.lexsort((present, -per_buurt[c, present]))]  # most incidents first, then code
        buurt_lists.append(statcodes[present].tolist())
        shares.append({statcodes[b]: round(per_buurt[c, b] / size[c], 6) for b in present} if size[c] else {})
    fd = [str(d) if s else None for d, s in zip(first.astype("datetime64[D]"), size)]
    ld = [str(d) if s else None for d, s in zip(last.astype("datetime64[D]"), size)]
    return size, fd, ld, buurt_lists, shares


def significant_cluster_table(comp: np.ndarray, grid: StudyGrid, counts: np.ndarray, share: np.ndarray,
                              p_fdr: np.ndarray, n_total: int, labels: np.ndarray, bidx: np.ndarray,
                              days: np.ndarray, statcodes: np.ndarray, category: str,
                              null_model: str, band: float) -> gpd.GeoDataFrame:
    """One row per group of hot cells (:func:`veilig.geo.sigclusters.hot_components`)."""
    k = int(comp.max()) if comp.size else 0
    if k == 0:
        return empty_layer(CLUSTER_COLUMNS, _CLUSTER_DTYPES)
    polygons = component_polygons(comp, grid.x0, grid.y0, grid.cell)
    stats = component_stats(comp, counts, share, p_fdr, n_total, disk_halfwidths(grid.cell, band))
    return _cluster_layer(polygons, labels, bidx, days, statcodes, category, null_model, {
        "n_cells": stats["n_cells"],
        "observed": stats["observed"],
        "expected": np.round(stats["expected"], 6),
        "ratio": np.round(stats["ratio"], 6),
        "p_value": stats["p_value"],
        "cluster_method": SIGNIFICANT_METHOD,
    })


def expected_in_polygons(polygons: np.ndarray, grid: StudyGrid, areas: np.ndarray, share: np.ndarray,
                         n_total: int) -> np.ndarray:
    """``N`` times the null share of each polygon: each cell contributes its share times the part of
    its inside area the polygon covers (exposure taken as even within a cell). O(polygons * cells hit)."""
    rows, cols = grid.cell_rows_cols()
    boxes = grid.cell_polygons()
    a = areas[rows, cols]
    s = share[rows, cols]
    tree = shapely.STRtree(boxes)
    pi, ci = tree.query(polygons, predicate="intersects")
    inter = shapely.area(shapely.intersection(polygons[pi], boxes[ci]))
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(a[ci] > 0, np.minimum(inter / a[ci], 1.0), 0.0)
    return n_total * np.bincount(pi, weights=frac * s[ci], minlength=len(polygons))


def raw_cluster_table(P: np.ndarray, labels: np.ndarray, bidx: np.ndarray, days: np.ndarray,
                      statcodes: np.ndarray, category: str, params, grid: StudyGrid, areas: np.ndarray,
                      share: np.ndarray, n_total: int, null_model: str) -> gpd.GeoDataFrame:
    """One row per DBSCAN/HDBSCAN cluster ("ruwe clustering"): no significance, ``p_value`` empty.

    ``expected`` is the null's expectation inside the outline, for reference; no p-value is given,
    because a binomial test of a region the clustering chose from these very incidents is not
    calibrated.
    """
    k = int(labels.max()) + 1 if labels.size else 0
    if k == 0:
        return empty_layer(CLUSTER_COLUMNS, _CLUSTER_DTYPES)
    polygons = cluster_polygons(P, labels, params.eps / 2.0)
    size = np.bincount(labels[labels >= 0], minlength=k).astype(np.int64)
    expected = expected_in_polygons(polygons, grid, areas, share, n_total)
    how = f"{params.method}, eps {params.eps:g} m, min. {params.min_samples}" if params.method == "dbscan" \
        else f"{params.method}, min. {params.min_samples}"
    return _cluster_layer(polygons, labels, bidx, days, statcodes, category, null_model, {
        "n_cells": np.zeros(k, dtype=np.int64),
        "observed": size,
        "expected": np.round(expected, 6),
        "ratio": np.round(_ratio(size, expected), 6),
        "p_value": np.full(k, np.nan),
        "cluster_method": f"{RAW_METHOD} ({how})",
    })


def _cluster_layer(polygons: np.ndarray, labels: np.ndarray, bidx: np.ndarray, days: np.ndarray,
                   statcodes: np.ndarray, category: str, null_model: str, statistics: dict) -> gpd.GeoDataFrame:
    """The cluster layer from outlines 1..k and their incidents; ``statistics`` holds the columns
    from ``n_cells`` to ``cluster_method``, which differ between significant and raw clusters."""
    k = len(polygons)
    size, fd, ld, buurt_lists, shares = _membership(labels, bidx, days, statcodes, k)
    area = shapely.area(polygons)
    return gpd.GeoDataFrame({
        "kind": "cluster",
        "cluster_id": np.arange(1, k + 1, dtype=np.int64),
        "category": category,
        "n_incidents": size.astype(np.int64),
        "area_m2": np.round(area, 1),
        "density_per_km2": np.round(size / (area / 1e6), 3),
        "first_date": fd,
        "last_date": ld,
        "buurten": buurt_lists,
        "buurt_shares": shares,
        **statistics,
        "null_model": null_model,
    }, geometry=polygons, crs=RD_NEW)


def buurt_table(buurten: gpd.GeoDataFrame, bidx: np.ndarray, labels: np.ndarray, prev_bidx: np.ndarray,
                stats: pd.DataFrame | None, messages: list[str], null: Null, has_previous: bool) -> gpd.GeoDataFrame:
    """One row per buurt: counts, rates, clusters, Gi* (exact, under ``null``) and the change."""
    b = buurten  # sorted by statcode; ``bidx`` indexes it
    statcodes = b["statcode"].to_numpy()
    index = pd.Index(statcodes)
    nb = len(b)
    n = np.bincount(bidx, minlength=nb).astype(np.int64)
    clustered = labels >= 0
    in_cl = np.bincount(bidx[clustered], minlength=nb)
    pairs = np.unique(labels[clustered] * nb + bidx[clustered])  # (cluster, buurt) combinations
    n_cl = np.bincount(pairs % nb, minlength=nb).astype(np.int64)
    prev = np.bincount(prev_bidx, minlength=nb).astype(np.int64)
    total = int(n.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, n / max(total, 1), np.nan)
        share_in = np.where(n > 0, in_cl / np.maximum(n, 1), np.nan)
    dwellings = np.full(len(b), np.nan)
    if stats is not None and len(stats) and "dwellings" in stats.columns:
        last = stats.drop_duplicates("statcode", keep="last").set_index("statcode")
        d = pd.to_numeric(last["dwellings"], errors="coerce")
        dwellings = d.reindex(index).to_numpy(dtype=np.float64)
    if np.isnan(dwellings).all():
        messages.append("geen buurtstatistieken geïmporteerd: geen cijfers per 1.000 woningen")
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(dwellings > 0, n / dwellings * 1000.0, np.nan)
    gi = gi_star_exact(n, null.share, queen_weights(b.geometry.values))
    change = (n - prev).astype(np.float64) if has_previous else np.full(len(b), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        change_pct = np.where(prev > 0, change / np.maximum(prev, 1) * 100.0, np.nan)
    return gpd.GeoDataFrame({
        "kind": "buurt",
        "statcode": statcodes,
        "statnaam": b["statnaam"].to_numpy(),
        "wijkcode": b["wijkcode"].to_numpy() if "wijkcode" in b.columns else None,
        "n_incidents": n,
        "share": np.round(share, 6),
        "dwellings": dwellings,
        "rate_per_1000_dwellings": np.round(rate, 3),
        "n_clusters": n_cl,
        "share_in_clusters": np.round(share_in, 6),
        "gi_z": gi.z,
        "gi_p": gi.p,
        "gi_p_norm": gi.p_norm,
        "gi_p_fdr": gi.p_fdr,
        "gi_class": gi.gi_class.astype(np.int64),
        "observed": gi.observed.astype(np.int64),
        "expected": np.round(gi.expected, 6),
        "ratio": np.round(_ratio(gi.observed, gi.expected), 6),
        "n_previous": prev if has_previous else np.full(len(b), np.nan),
        "change": change,
        "change_pct": np.round(change_pct, 3),
        "null_model": null.null_model,
    }, geometry=b.geometry.values, crs=RD_NEW)
