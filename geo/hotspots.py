"""The hotspot pipeline: clusters, Gi* on a grid and on the buurten, and the per-buurt table.

``compute_hotspots`` is what the command line and the API call: data in (an incident table),
a :class:`HotspotResult` out, with GeoDataFrames in RD New and a WGS84 GeoJSON rendering.
No database, no HTTP, no map here.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from veilig.errors import VeiligError

from .categories import resolve_categories
from .clusters import METHODS, GridDBSCAN, cluster_polygons, hdbscan_labels, stable_labels
from .crs import RD_NEW
from .demo import DEMO_SOURCE
from .gistar import gi_star, gi_star_grid, queen_weights
from .grid import StudyGrid, zoetermeer_grid
from .neighbourhoods import assign_buurt, load_buurten
from .timeutil import TZ_NAME, period_bounds

KINDS: tuple[str, ...] = ("cluster", "grid", "buurt")

CLUSTER_COLUMNS = ["kind", "cluster_id", "category", "n_incidents", "area_m2", "density", "first_date",
                   "last_date", "buurten", "buurt_shares"]
GRID_COLUMNS = ["kind", "cell_id", "n_incidents", "gi_z", "gi_p", "gi_p_fdr", "gi_class"]
BUURT_COLUMNS = ["kind", "statcode", "statnaam", "wijkcode", "n_incidents", "share", "dwellings",
                 "rate_per_1000_dwellings", "n_clusters", "share_in_clusters", "gi_z", "gi_p", "gi_p_fdr",
                 "gi_class", "n_previous", "change", "change_pct"]

# Parameter bounds: wide enough for any sensible analysis of one municipality, narrow enough that
# a typo (a cell of 0 or 50 km) is refused with the parameter's name instead of a useless grid.
EPS_RANGE = (1.0, 5000.0)
MIN_SAMPLES_RANGE = (1, 100_000)
CELL_RANGE = (10.0, 1000.0)
BAND_MAX = 5000.0


@dataclass(frozen=True)
class HotspotParams:
    """Parameters of the hotspot analysis (metres in RD New).

    Parameters
    ----------
    method : {'dbscan', 'hdbscan'}
        Clustering method.
    eps : float
        DBSCAN radius (1-5000 m); the cluster outline is buffered by ``eps / 2``.
    min_samples : int
        Minimum incidents within ``eps`` for a core incident (itself included); for HDBSCAN the
        minimum cluster size.
    cell : float
        Grid cell size for Gi* (10-1000 m).
    band : float
        Gi* distance band (at least ``cell``, at most 5000 m).
    """

    method: str = "dbscan"
    eps: float = 150.0
    min_samples: int = 5
    cell: float = 100.0
    band: float = 300.0

    def validated(self) -> HotspotParams:
        """Return self when every parameter is in range; otherwise a :class:`VeiligError` naming it."""
        if self.method not in METHODS:
            raise VeiligError(f"method: '{self.method}' is not one of {', '.join(METHODS)}")
        _check_number("eps", self.eps, *EPS_RANGE, "m")
        if isinstance(self.min_samples, bool) or not isinstance(self.min_samples, (int, np.integer)):
            raise VeiligError(f"min_samples: must be a whole number, got {self.min_samples!r}")
        _check_number("min_samples", self.min_samples, *MIN_SAMPLES_RANGE, "")
        _check_number("cell", self.cell, *CELL_RANGE, "m")
        _check_number("band", self.band, float(self.cell), BAND_MAX, "m")
        return self


def _check_number(name: str, value, lo: float, hi: float, unit: str) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(float(value)) and lo <= float(value) <= hi
    if not ok:
        sep = " " if unit else ""
        shown = f"{float(value):g}{sep}{unit}" if isinstance(value, (int, float, np.number)) else repr(value)
        raise VeiligError(f"{name}: {shown} is out of range; use {lo:g}{sep}{unit} to {hi:g}{sep}{unit}")


@dataclass
class HotspotResult:
    """Outcome of :func:`compute_hotspots`.

    Attributes
    ----------
    category : str
        The category or group asked for (``burglary``, ``drugs``, ``woninginbraak``, ...).
    categories : tuple of str
        The incident categories it covers.
    start, end : date or None
        The analysed period (inclusive local dates); None when there were no incidents at all.
    previous_start, previous_end : date or None
        The previous period of equal length, for the change per buurt.
    params : HotspotParams
    clusters, grid, buurten : GeoDataFrame
        One row per hotspot cluster / study-grid cell / buurt (EPSG:28992), columns
        :data:`CLUSTER_COLUMNS`, :data:`GRID_COLUMNS`, :data:`BUURT_COLUMNS` and ``geometry``.
    points : DataFrame
        The analysed incidents (``id``, ``x``, ``y``, ``buurt``, ``cluster_id``, 0 for none):
        incident level, for analysts only; never written by the exporters.
    n_incidents : int
        Incidents in the period inside Zoetermeer.
    n_outside : int
        Incidents of the period left out because they lie outside Zoetermeer (and its margin).
    synthetic : bool
        True when any analysed incident comes from the demo generator.
    messages : list of str
        Notes for the user (Dutch): empty period, too few incidents, no statistics, ...
    timings : dict
        Seconds per stage.
    """

    category: str
    categories: tuple[str, ...]
    start: date | None
    end: date | None
    previous_start: date | None
    previous_end: date | None
    params: HotspotParams
    clusters: gpd.GeoDataFrame
    grid: gpd.GeoDataFrame
    buurten: gpd.GeoDataFrame
    points: pd.DataFrame
    n_incidents: int
    n_outside: int = 0
    synthetic: bool = False
    messages: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The three feature layers by kind, in RD New."""
        return {"cluster": self.clusters, "grid": self.grid, "buurt": self.buurten}

    def buurt_table(self) -> pd.DataFrame:
        """The per-buurt table without geometry."""
        return pd.DataFrame(self.buurten.drop(columns="geometry"))

    def metadata(self) -> dict:
        """What was analysed, for the GeoJSON's ``metadata`` member and the GeoPackage's."""
        return {
            "category": self.category,
            "categories": list(self.categories),
            "start": _iso(self.start),
            "end": _iso(self.end),
            "previous_start": _iso(self.previous_start),
            "previous_end": _iso(self.previous_end),
            "params": asdict(self.params),
            "n_incidents": int(self.n_incidents),
            "n_outside": int(self.n_outside),
            "n_clusters": int(len(self.clusters)),
            "synthetic": bool(self.synthetic),
            "crs_analysis": RD_NEW,
            "messages": list(self.messages),
        }

    def to_geojson(self) -> dict:
        """One FeatureCollection in WGS84 with every cluster, grid cell and buurt (``kind`` tells them apart)."""
        from .export import hotspots_geojson

        return hotspots_geojson(self)


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d is not None else None


def _as_date(value, name: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        ts = pd.Timestamp(value)
        return (ts.tz_convert(TZ_NAME) if ts.tzinfo else ts).date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise VeiligError(f"{name}: '{value}' is not a date (YYYY-MM-DD)") from exc


def _utc_times(values: pd.Series) -> pd.Series:
    ts = pd.to_datetime(values)
    if getattr(ts.dt, "tz", None) is None:  # naive: local Amsterdam time, as the brief says
        ts = ts.dt.tz_localize(TZ_NAME, ambiguous="NaT", nonexistent="shift_forward")
    return ts.dt.tz_convert("UTC")


def _local_dates(utc: pd.Series) -> np.ndarray:
    return utc.dt.tz_convert(TZ_NAME).dt.date.to_numpy()


def _in_period(utc: pd.Series, start: date | None, end: date | None) -> np.ndarray:
    lo, hi = period_bounds(start, end)
    keep = utc.notna().to_numpy().copy()
    if lo is not None:
        keep &= (utc >= lo).to_numpy()
    if hi is not None:
        keep &= (utc < hi).to_numpy()
    return keep


def compute_hotspots(
    incidents: pd.DataFrame,
    category: str,
    start: date | str | None = None,
    end: date | str | None = None,
    params: HotspotParams | None = None,
    buurten: gpd.GeoDataFrame | None = None,
    stats: pd.DataFrame | None = None,
) -> HotspotResult:
    """Hotspots of a category or group in a period: clusters, Gi* grid, Gi* buurten, per-buurt table.

    Parameters
    ----------
    incidents : DataFrame
        At least ``occurred_at`` (tz-aware; naive means Amsterdam local time), ``category``, ``x``,
        ``y`` (RD New metres); optional ``id``, ``source`` and ``buurt`` (assigned where missing).
        It may hold other categories and times (they are filtered) and should hold the previous
        period too, for the change per buurt.
    category : str
        ``burglary``, ``drugs`` or one category (see :func:`veilig.geo.categories.resolve_categories`).
    start, end : date or ISO string, optional
        Inclusive local dates. A missing bound is taken from the incidents of the category.
    params : HotspotParams, optional
        Clustering and grid parameters; defaults as in the brief.
    buurten : GeoDataFrame, optional
        Buurt polygons (default: :func:`veilig.geo.neighbourhoods.load_buurten`).
    stats : DataFrame, optional
        Per-buurt statistics with ``statcode`` and ``dwellings`` (rates per 1,000 dwellings).

    Returns
    -------
    HotspotResult

    Raises
    ------
    VeiligError
        Unknown category, bad parameter, end before start, missing columns: the message names
        the parameter. An empty period or too few incidents is not an error: the result is empty
        but valid, with a message.

    Notes
    -----
    For n incidents and c grid cells: O(n log n) time and O(n + c) memory (see
    :class:`veilig.geo.clusters.GridDBSCAN` and :func:`veilig.geo.gistar.gi_star_grid`).
    1,000,000 incidents take seconds and well under 1 GB beyond the input table.
    """
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    params = (params or HotspotParams()).validated()
    categories = resolve_categories(category)
    label = category.strip().lower()
    start_d, end_d = _as_date(start, "start"), _as_date(end, "end")
    if start_d is not None and end_d is not None and end_d < start_d:
        raise VeiligError(f"end: {end_d} lies before start {start_d}")
    missing = {"occurred_at", "category", "x", "y"} - set(incidents.columns)
    if missing:
        raise VeiligError(f"incidents: missing column(s) {', '.join(sorted(missing))}")
    if buurten is None:
        buurten = load_buurten()
    messages: list[str] = []

    # Select the category and work out the period (and the previous one of equal length).
    of_cat = incidents[incidents["category"].isin(categories).to_numpy()]
    utc = _utc_times(of_cat["occurred_at"]).reset_index(drop=True)
    of_cat = of_cat.reset_index(drop=True)
    if start_d is None or end_d is None:
        dates = _local_dates(utc[_in_period(utc, start_d, end_d)].dropna())
        if dates.size:
            start_d = start_d or min(dates)
            end_d = end_d or max(dates)
        elif start_d or end_d:
            start_d = start_d or end_d
            end_d = end_d or start_d
    prev_start = prev_end = None
    if start_d is not None and end_d is not None:
        length = (end_d - start_d).days + 1
        prev_end = start_d - timedelta(days=1)
        prev_start = prev_end - timedelta(days=length - 1)
    current = _in_period(utc, start_d, end_d) if start_d is not None else np.zeros(len(of_cat), dtype=bool)
    previous = _in_period(utc, prev_start, prev_end) if prev_start is not None else np.zeros(len(of_cat), dtype=bool)
    keep = current | previous
    work = of_cat[keep].reset_index(drop=True)
    cur = current[keep]
    timings["select"] = time.perf_counter() - t0

    # Buurt of every incident (from the data layer when present).
    t = time.perf_counter()
    x = work["x"].to_numpy(dtype=np.float64)
    y = work["y"].to_numpy(dtype=np.float64)
    finite = np.isfinite(x) & np.isfinite(y)
    codes = work["buurt"].to_numpy(dtype=object).copy() if "buurt" in work.columns else np.full(len(work), None, dtype=object)
    known = set(buurten["statcode"])
    todo = np.flatnonzero(pd.isna(codes) | ~pd.Series(codes).isin(known).to_numpy())
    if todo.size:
        codes[todo] = assign_buurt(x[todo], y[todo], buurten)[0]
    inside = finite & pd.notna(codes)
    timings["assign_buurt"] = time.perf_counter() - t
    n_outside = int((cur & ~inside).sum())
    if n_outside:
        messages.append(f"{n_outside} incident(en) buiten Zoetermeer tellen niet mee")

    sel = np.flatnonzero(cur & inside)
    px, py, pcodes = x[sel], y[sel], codes[sel].astype(str)
    pdates = _local_dates(_utc_times(work["occurred_at"].iloc[sel]).reset_index(drop=True)) if sel.size \
        else np.array([], dtype=object)
    n = int(sel.size)
    synthetic = bool("source" in work.columns and (work["source"].iloc[sel] == DEMO_SOURCE).any())
    if n == 0:
        what = f"'{label}'"
        period = f"{_iso(start_d)} t/m {_iso(end_d)}" if start_d else "de gegevens"
        messages.append(f"geen incidenten van {what} in {period}: geen hotspots")

    # Clusters.
    t = time.perf_counter()
    P = np.column_stack([px, py])
    if params.method == "dbscan":
        labels = stable_labels(GridDBSCAN(params.eps, params.min_samples).fit(P).labels_, P) if n else \
            np.zeros(0, dtype=np.int64)
    else:
        labels = stable_labels(hdbscan_labels(P, params.min_samples), P)
    if 0 < n < params.min_samples:
        messages.append(f"minder incidenten ({n}) dan min_samples ({params.min_samples}): geen clusters")
    elif n > 1 and (P == P[0]).all():
        messages.append("alle incidenten liggen op één plek")
    clusters = _cluster_table(P, labels, pcodes, pdates, label, params)
    timings["cluster"] = time.perf_counter() - t

    # Gi* on the grid.
    t = time.perf_counter()
    grid = zoetermeer_grid(params.cell)
    grid_gdf = _grid_table(grid, px, py, params, messages)
    timings["gi_grid"] = time.perf_counter() - t

    # Per-buurt table, with Gi* on the buurten.
    t = time.perf_counter()
    prev_codes = codes[np.flatnonzero(~cur & inside)].astype(str)
    buurt_gdf = _buurt_table(buurten, pcodes, labels, prev_codes, stats, clusters, messages,
                             has_previous=prev_start is not None)
    timings["buurt_table"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0

    points = pd.DataFrame({
        "id": work["id"].to_numpy()[sel] if "id" in work.columns else sel,
        "x": px, "y": py, "buurt": pcodes, "cluster_id": labels + 1,
    })
    return HotspotResult(
        category=label, categories=tuple(categories), start=start_d, end=end_d,
        previous_start=prev_start, previous_end=prev_end, params=params,
        clusters=clusters, grid=grid_gdf, buurten=buurt_gdf, points=points,
        n_incidents=n, n_outside=n_outside, synthetic=synthetic, messages=messages, timings=timings,
    )


def _cluster_table(P: np.ndarray, labels: np.ndarray, codes: np.ndarray, dates: np.ndarray,
                   category: str, params: HotspotParams) -> gpd.GeoDataFrame:
    k = int(labels.max()) + 1 if labels.size else 0
    if k == 0:
        return _empty_layer(CLUSTER_COLUMNS, {"cluster_id": "int64", "n_incidents": "int64",
                                              "area_m2": "float64", "density": "float64"})
    polygons = cluster_polygons(P, labels, params.eps / 2.0)
    inc = labels >= 0
    df = pd.DataFrame({"c": labels[inc], "buurt": codes[inc], "date": dates[inc]})
    size = np.bincount(df["c"].to_numpy(), minlength=k)
    first = df.groupby("c")["date"].min().reindex(range(k))
    last = df.groupby("c")["date"].max().reindex(range(k))
    per_buurt = df.groupby(["c", "buurt"]).size().rename("n").reset_index()
    per_buurt = per_buurt.sort_values(["c", "n", "buurt"], ascending=[True, False, True], kind="mergesort")
    buurt_lists: list[list[str]] = [[] for _ in range(k)]
    shares: list[dict[str, float]] = [{} for _ in range(k)]
    for c, b, nb in per_buurt.itertuples(index=False):
        buurt_lists[c].append(b)
        shares[c][b] = round(nb / size[c], 6)
    area = shapely.area(polygons)
    return gpd.GeoDataFrame({
        "kind": "cluster",
        "cluster_id": np.arange(1, k + 1, dtype=np.int64),
        "category": category,
        "n_incidents": size.astype(np.int64),
        "area_m2": np.round(area, 1),
        "density": np.round(size / (area / 1e6), 3),  # incidents per km²
        "first_date": [d.isoformat() for d in first],
        "last_date": [d.isoformat() for d in last],
        "buurten": buurt_lists,
        "buurt_shares": shares,
    }, geometry=polygons, crs=RD_NEW)


def _grid_table(grid: StudyGrid, x: np.ndarray, y: np.ndarray, params: HotspotParams,
                messages: list[str]) -> gpd.GeoDataFrame:
    counts = grid.counts(x, y)
    gi = gi_star_grid(counts, grid.mask, cell=params.cell, band=params.band)
    m = grid.mask
    vals = counts[m]
    if vals.size and vals.min() == vals.max() and vals.max() > 0:
        messages.append("alle rastercellen hebben evenveel incidenten: Gi* is niet te bepalen (z = 0)")
    return gpd.GeoDataFrame({
        "kind": "grid",
        "cell_id": grid.cell_ids(),
        "n_incidents": vals.astype(np.int64),
        "gi_z": gi.z[m],
        "gi_p": gi.p[m],
        "gi_p_fdr": gi.p_fdr[m],
        "gi_class": gi.gi_class[m].astype(np.int64),
    }, geometry=grid.cell_polygons(), crs=RD_NEW)


def _buurt_table(buurten: gpd.GeoDataFrame, codes: np.ndarray, labels: np.ndarray, prev_codes: np.ndarray,
                 stats: pd.DataFrame | None, clusters: gpd.GeoDataFrame, messages: list[str],
                 has_previous: bool) -> gpd.GeoDataFrame:
    b = buurten.sort_values("statcode").reset_index(drop=True)
    statcodes = b["statcode"].to_numpy()
    index = pd.Index(statcodes)
    n = pd.Series(codes).value_counts().reindex(index, fill_value=0).to_numpy().astype(np.int64)
    in_cl = pd.Series(codes[labels >= 0]).value_counts().reindex(index, fill_value=0).to_numpy()
    n_cl = pd.DataFrame({"b": codes[labels >= 0], "c": labels[labels >= 0]}).drop_duplicates()["b"] \
        .value_counts().reindex(index, fill_value=0).to_numpy().astype(np.int64)
    prev = pd.Series(prev_codes).value_counts().reindex(index, fill_value=0).to_numpy().astype(np.int64)
    total = int(n.sum())
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, n / max(total, 1), np.nan)
        share_in = np.where(n > 0, in_cl / np.maximum(n, 1), np.nan)
    dwellings = np.full(len(b), np.nan)
    if stats is not None and len(stats) and "dwellings" in stats.columns:
        d = pd.to_numeric(stats.set_index("statcode")["dwellings"], errors="coerce")
        dwellings = d.reindex(index).to_numpy(dtype=np.float64)
    if np.isnan(dwellings).all():
        messages.append("geen buurtstatistieken geïmporteerd: geen cijfers per 1.000 woningen")
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(dwellings > 0, n / dwellings * 1000.0, np.nan)
    gi = gi_star(n, queen_weights(b.geometry.values))
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
        "gi_p_fdr": gi.p_fdr,
        "gi_class": gi.gi_class.astype(np.int64),
        "n_previous": prev if has_previous else np.full(len(b), np.nan),
        "change": change,
        "change_pct": np.round(change_pct, 3),
    }, geometry=b.geometry.values, crs=RD_NEW)


def _empty_layer(columns: list[str], dtypes: dict[str, str]) -> gpd.GeoDataFrame:
    data = {c: pd.Series([], dtype=dtypes.get(c, object)) for c in columns}
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=RD_NEW), crs=RD_NEW)
