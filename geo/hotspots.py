"""The hotspot pipeline: clusters, Gi* on a grid and on the buurten, and the per-buurt table.

``compute_hotspots`` is what the command line and the API call: data in (an incident table),
a :class:`HotspotResult` out, with GeoDataFrames in RD New and a WGS84 GeoJSON rendering.
No database, no HTTP, no map here.

The statistics: Gi* on the incident counts of the study grid (:mod:`veilig.geo.grid`: the cells
that intersect Zoetermeer, zeros included) with a binary distance band, and Gi* on the incident
counts of the 26 buurten with queen contiguity; both with Benjamini-Hochberg FDR over all cells
(or buurten) before the 90/95/99 % classes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
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

CLUSTER_COLUMNS = ["kind", "cluster_id", "category", "n_incidents", "area_m2", "density_per_km2", "first_date",
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
        The analysed incidents (``id``, ``x``, ``y``, ``buurt``, ``cluster_id``, 0 for none,
        ``category``, ``occurred_at`` in UTC; never the free-text description):
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
            # None in the disclosure layer's public view (veilig.geo.privacy) when hidden.
            "n_incidents": None if self.n_incidents is None else int(self.n_incidents),
            "n_outside": None if self.n_outside is None else int(self.n_outside),
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
    try:
        ts = pd.to_datetime(values)
    except (ValueError, TypeError) as exc:  # the data layer validates; a raw table may not be
        raise VeiligError(f"occurred_at: not a time everywhere ({exc})".split("\n")[0]) from exc
    if getattr(ts.dt, "tz", None) is None:  # naive: local Amsterdam time, as the brief says
        ts = ts.dt.tz_localize(TZ_NAME, ambiguous="NaT", nonexistent="shift_forward")
    return ts.dt.tz_convert("UTC")


def _local_days(utc: pd.Series) -> np.ndarray:
    """Local (Amsterdam) calendar days as ``datetime64[D]``: vectorised, unlike ``date`` objects."""
    return utc.dt.tz_convert(TZ_NAME).dt.tz_localize(None).to_numpy().astype("datetime64[D]")


def _day_to_date(day: np.datetime64) -> date:
    return date.fromisoformat(str(np.datetime64(day, "D")))


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
    category: str | Sequence[str],
    start: date | str | None = None,
    end: date | str | None = None,
    params: HotspotParams | None = None,
    buurten: gpd.GeoDataFrame | None = None,
    stats: pd.DataFrame | None = None,
    data_start: date | None = None,
) -> HotspotResult:
    """Hotspots of a category or group in a period: clusters, Gi* grid, Gi* buurten, per-buurt table.

    Parameters
    ----------
    incidents : DataFrame
        At least ``occurred_at`` (tz-aware; naive means Amsterdam local time), ``category``, ``x``,
        ``y`` (RD New metres); optional ``id``, ``source`` and ``buurt`` (assigned where missing).
        It may hold other categories and times (they are filtered) and should hold the previous
        period too, for the change per buurt.
    category : str or sequence of str
        ``burglary``, ``drugs`` or one category (see :func:`veilig.geo.categories.resolve_categories`),
        or several of those analysed together (labelled ``a+b``).
    start, end : date or ISO string, optional
        Inclusive local dates. A missing bound is taken from the incidents of the category.
    params : HotspotParams, optional
        Clustering and grid parameters; defaults as in the brief.
    buurten : GeoDataFrame, optional
        Buurt polygons (default: :func:`veilig.geo.neighbourhoods.load_buurten`).
    stats : DataFrame, optional
        Per-buurt statistics with ``statcode`` and ``dwellings`` (rates per 1,000 dwellings).
    data_start : date, optional
        The first day the data cover (all categories). The change against the previous period is
        only computed when the data reach back to its start; default: the first incident given.

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
    if isinstance(category, str):
        categories = resolve_categories(category)
        label = category.strip().lower()
    else:  # a selection of categories, e.g. from a form with check boxes
        categories = tuple(dict.fromkeys(c for name in category for c in resolve_categories(name)))
        if not categories:
            raise VeiligError("category: choose at least one category")
        label = "+".join(categories)
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
        days = _local_days(utc[_in_period(utc, start_d, end_d)].dropna())
        if days.size:
            start_d = start_d or _day_to_date(days.min())
            end_d = end_d or _day_to_date(days.max())
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
    x = pd.to_numeric(work["x"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    y = pd.to_numeric(work["y"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    finite = np.isfinite(x) & np.isfinite(y)
    # Buurten as indices into the sorted statcodes: integers all the way down, no strings per incident.
    buurten = buurten.sort_values("statcode").reset_index(drop=True)
    index = pd.Index(buurten["statcode"].to_numpy())
    bidx = index.get_indexer(work["buurt"]) if "buurt" in work.columns else np.full(len(work), -1)
    bidx = np.asarray(bidx, dtype=np.int64)
    todo = np.flatnonzero((bidx < 0) & finite)
    if todo.size:
        bidx[todo] = index.get_indexer(assign_buurt(x[todo], y[todo], buurten)[0])
    inside = finite & (bidx >= 0)
    timings["assign_buurt"] = time.perf_counter() - t
    n_outside = int((cur & ~inside).sum())
    if n_outside:
        messages.append(f"{n_outside} incident(en) buiten Zoetermeer of zonder geldige coördinaten tellen niet mee")

    sel = np.flatnonzero(cur & inside)
    px, py, pb = x[sel], y[sel], bidx[sel]
    pdays = _local_days(_utc_times(work["occurred_at"].iloc[sel]).reset_index(drop=True))
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
    clusters = _cluster_table(P, labels, pb, pdays, index.to_numpy(), label, params)
    timings["cluster"] = time.perf_counter() - t

    # Gi* on the grid.
    t = time.perf_counter()
    grid = zoetermeer_grid(params.cell)
    grid_gdf = _grid_table(grid, px, py, params, messages)
    timings["gi_grid"] = time.perf_counter() - t

    # Per-buurt table, with Gi* on the buurten.
    t = time.perf_counter()
    prev_b = bidx[np.flatnonzero(~cur & inside)]
    # A previous period that starts before the data do would count as zero and turn every
    # buurt's change into "+count": report no change instead.
    if data_start is None:
        all_utc = _utc_times(incidents["occurred_at"]).dropna()
        data_start = _day_to_date(_local_days(all_utc.reset_index(drop=True)).min()) if len(all_utc) else None
    has_previous = prev_start is not None and data_start is not None and data_start <= prev_start
    if prev_start is not None and not has_previous:
        messages.append("de gegevens reiken niet tot de vorige periode: geen verandering berekend")
    buurt_gdf = _buurt_table(buurten, pb, labels, prev_b, stats, messages, has_previous=has_previous)
    timings["buurt_table"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0

    points = pd.DataFrame({
        "id": work["id"].to_numpy()[sel] if "id" in work.columns else sel,
        "x": px, "y": py, "buurt": pd.Categorical.from_codes(pb, categories=index), "cluster_id": labels + 1,
        "category": work["category"].to_numpy()[sel],
        "occurred_at": _utc_times(work["occurred_at"].iloc[sel]).to_numpy(),
    })
    return HotspotResult(
        category=label, categories=tuple(categories), start=start_d, end=end_d,
        previous_start=prev_start, previous_end=prev_end, params=params,
        clusters=clusters, grid=grid_gdf, buurten=buurt_gdf, points=points,
        n_incidents=n, n_outside=n_outside, synthetic=synthetic, messages=messages, timings=timings,
    )


def _cluster_table(P: np.ndarray, labels: np.ndarray, bidx: np.ndarray, days: np.ndarray,
                   statcodes: np.ndarray, category: str, params: HotspotParams) -> gpd.GeoDataFrame:
    k = int(labels.max()) + 1 if labels.size else 0
    if k == 0:
        return _empty_layer(CLUSTER_COLUMNS, {"cluster_id": "int64", "n_incidents": "int64",
                                              "area_m2": "float64", "density_per_km2": "float64"})
    polygons = cluster_polygons(P, labels, params.eps / 2.0)
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
        shares.append({statcodes[b]: round(per_buurt[c, b] / size[c], 6) for b in present})
    area = shapely.area(polygons)
    return gpd.GeoDataFrame({
        "kind": "cluster",
        "cluster_id": np.arange(1, k + 1, dtype=np.int64),
        "category": category,
        "n_incidents": size.astype(np.int64),
        "area_m2": np.round(area, 1),
        "density_per_km2": np.round(size / (area / 1e6), 3),
        "first_date": [str(d) for d in first.astype("datetime64[D]")],
        "last_date": [str(d) for d in last.astype("datetime64[D]")],
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


def _buurt_table(buurten: gpd.GeoDataFrame, bidx: np.ndarray, labels: np.ndarray, prev_bidx: np.ndarray,
                 stats: pd.DataFrame | None, messages: list[str], has_previous: bool) -> gpd.GeoDataFrame:
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
