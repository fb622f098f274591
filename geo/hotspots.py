"""The hotspot pipeline: clusters, Gi* on a grid and on the buurten, and the per-buurt table.

``compute_hotspots`` is what the command line and the API call: data in (an incident table),
a :class:`HotspotResult` out, with GeoDataFrames in RD New and a WGS84 GeoJSON rendering.
No database, no HTTP, no map here.

The statistics, under one stated null (:mod:`veilig.geo.exposure`: the period's ``N`` incidents
fall independently on the cells in proportion to exposure; ``null_model`` in every output):

- Gi* on the study grid (:mod:`veilig.geo.grid`: every cell that intersects Zoetermeer, zeros
  included; edge cells weigh with their area inside). A cell's window is the cell and the cells
  within the distance band; its count is exactly ``Binomial(N, window share)`` under the null, so
  ``gi_p`` is the exact two-sided binomial test (:mod:`veilig.geo.inference`; for a hot window at
  these volumes that is its upper tail, not twice it), BH-FDR over all windows, and
  the 90/95/99 % classes come from the adjusted p. The windows are centred on the lattice of half
  the cell (four per cell, :func:`veilig.geo.gistar.gi_star_grid_exact_fine`), BH runs over all of
  them, and a cell reports its most significant window (``gi_p``, ``observed``, ``expected``):
  a hotspot between two cell centres is then seen by a window ~18 m instead of ~35 m off its
  centre. The analytic z (``gi_z``, esda's) and its normal
  p (``gi_p_norm``) are kept beside it for comparison; the normal approximation is what fails at
  ~0.1 incident per cell, so no class is based on it.
- The same on the 26 buurten with queen contiguity; exposure: dwellings per buurt when imported.
- Clusters (:mod:`veilig.geo.sigclusters`): connected groups of cells hot at 95 % after FDR, with
  observed, expected, ratio and p_value. ``clusters='raw'`` gives plain DBSCAN/HDBSCAN with the
  analyst's eps/min_samples instead, labelled "ruwe clustering": density, not significance.
- The scale (:mod:`veilig.geo.scale`): cell 50 m, and the band from ``N`` and the exposure when
  not given, never from where the incidents lie.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from veilig.errors import TooLargeError, VeiligError
from veilig.numbers import nl_number

from .categories import resolve_categories
from .clusters import METHODS, GridDBSCAN, hdbscan_labels, stable_labels
from .crs import RD_NEW
from .demo import DEMO_SOURCE
from .exposure import ExposureCells, buurt_null, grid_null, zoetermeer_cell_areas
from .gistar import gi_star_grid_exact_fine
from .grid import zoetermeer_grid
from .hotspot_layers import (
    BUURT_COLUMNS,
    CLUSTER_COLUMNS,
    GRID_COLUMNS,
    buurt_table,
    grid_table,
    raw_cluster_table,
    significant_cluster_table,
)
from .neighbourhoods import assign_buurt, load_buurten
from .scale import Scale, choose_band, given_band
from .sigclusters import hot_components
from .timeutil import TZ_NAME, period_bounds

KINDS: tuple[str, ...] = ("cluster", "grid", "buurt")

#: How clusters are made: significant against the null (default) or plain density clustering.
CLUSTER_MODES: tuple[str, ...] = ("significant", "raw")

#: Default grid cell (metres): fine enough that a window fits a hotspot of ~200 m radius.
DEFAULT_CELL = 50.0

__all__ = ["BUURT_COLUMNS", "CLUSTER_COLUMNS", "GRID_COLUMNS", "HotspotParams", "HotspotResult", "compute_hotspots"]

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
        Clustering method of ``clusters='raw'``.
    eps : float
        DBSCAN radius (1-5000 m) of ``clusters='raw'``; the outline is buffered by ``eps / 2``.
    min_samples : int
        Minimum incidents within ``eps`` for a core incident (itself included); for HDBSCAN the
        minimum cluster size. Raw clustering only.
    cell : float
        Grid cell size for Gi* (10-1000 m); default :data:`DEFAULT_CELL`.
    band : float or None
        Gi* distance band (at least ``cell``, at most 5000 m); None: chosen from the number of
        incidents and the exposure (:func:`veilig.geo.scale.choose_band`).
    clusters : {'significant', 'raw'}
        ``significant`` (default): groups of cells hot at 95 % after FDR under the null;
        ``raw``: plain DBSCAN/HDBSCAN ("ruwe clustering"), no significance.
    """

    method: str = "dbscan"
    eps: float = 150.0
    min_samples: int = 5
    cell: float = DEFAULT_CELL
    band: float | None = None
    clusters: str = "significant"

    def validated(self) -> HotspotParams:
        """Return self when every parameter is in range; otherwise a :class:`VeiligError` naming it."""
        if self.clusters not in CLUSTER_MODES:
            raise VeiligError(f"clusters: '{self.clusters}' is geen van {', '.join(CLUSTER_MODES)}")
        if self.method not in METHODS:
            raise VeiligError(f"method: '{self.method}' is geen van {', '.join(METHODS)}")
        _check_number("eps", self.eps, *EPS_RANGE, "m")
        if isinstance(self.min_samples, bool) or not isinstance(self.min_samples, (int, np.integer)):
            raise VeiligError(f"min_samples: moet een geheel getal zijn, niet {self.min_samples!r}")
        _check_number("min_samples", self.min_samples, *MIN_SAMPLES_RANGE, "")
        _check_number("cell", self.cell, *CELL_RANGE, "m")
        if self.band is not None:
            _check_number("band", self.band, float(self.cell), BAND_MAX, "m")
        # The band from the data is at most AUTO_BAND_MAX: the cost check takes the worst case.
        from .scale import AUTO_BAND_MAX

        band = float(self.band) if self.band is not None else max(AUTO_BAND_MAX, float(self.cell))
        cells, work = grid_cost(float(self.cell), band)
        if cells > MAX_GRID_CELLS or work > MAX_GRID_WORK:
            raise TooLargeError(
                f"cell: een raster van {nl_number(self.cell)} m met een band van {nl_number(band)} m is te zwaar "
                f"voor één verzoek (ongeveer {nl_number(cells, 0)} cellen, {nl_number(work, 0)} celrijen aan Gi*-sommen; "
                f"de grens is {nl_number(MAX_GRID_CELLS, 0)} cellen en {nl_number(MAX_GRID_WORK, 0)}): "
                "kies een grotere cell of een kleinere band")
        return self


#: One request may cost a few seconds and a few hundred MB, whatever its parameters: the grid's
#: size (cells over Zoetermeer, ~37 km2) and the Gi* work (cells x neighbours within the band) are
#: bounded together. At the defaults (100 m, 300 m) that is ~4,000 cells and ~28,000 cell-rows; the
#: smallest cell allowed is 50 m (~16,000 cells: a few seconds, ~4 MB of GeoJSON; a 10 m grid
#: was 140 MB and 44 s). The GeoJSON of the cells, not Gi*, is the larger cost. The incidents in the
#: period are bounded by the database (load and clustering are linear), HDBSCAN by
#: :data:`MAX_HDBSCAN_INCIDENTS`.
MAX_GRID_CELLS = 17_000
MAX_GRID_WORK = 2_000_000
MAX_HDBSCAN_INCIDENTS = 200_000
_ZOETERMEER_AREA_M2 = 36.9e6


def grid_cost(cell: float, band: float) -> tuple[int, int]:
    """Estimated (cells, work) of the Gi* grid over Zoetermeer for ``cell``/``band``."""
    cells = int(_ZOETERMEER_AREA_M2 / (cell * cell) * 1.1) + 1
    # gi_star_grid sums each disk by row-wise prefix sums: O(cells * (2 * band / cell + 1)).
    return cells, int(cells * (2 * math.floor(band / cell) + 1))


def _check_number(name: str, value, lo: float, hi: float, unit: str) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and math.isfinite(float(value)) and lo <= float(value) <= hi
    if not ok:
        sep = " " if unit else ""
        shown = f"{nl_number(float(value))}{sep}{unit}" if isinstance(value, (int, float, np.number)) else repr(value)
        raise VeiligError(f"{name}: {shown} ligt buiten het bereik; gebruik {nl_number(lo)}{sep}{unit} "
                          f"tot en met {nl_number(hi)}{sep}{unit}")


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
    scale : Scale or None
        The Gi* cell and band, and why that band (chosen from the data or given).
    null_grid, null_buurt : dict
        The null of the grid and of the buurt statistics (``null_model``, ``area_mix``, description).
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
    scale: Scale | None = None
    null_grid: dict = field(default_factory=dict)
    null_buurt: dict = field(default_factory=dict)

    @property
    def null_model(self) -> str:
        """The grid's null (what the clusters and cells are tested against)."""
        return self.null_grid.get("null_model", "")

    @property
    def raw_clusters(self) -> bool:
        return self.params.clusters == "raw"

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
            "null_model": self.null_model,
            "null_grid": dict(self.null_grid),
            "null_buurt": dict(self.null_buurt),
            "scale": self.scale.metadata() if self.scale else None,
            "inference": "exact two-sided binomial test of each Gi* window count under the null (the "
                         "probability of counts at most as likely; no simulations), windows centred on a "
                         "lattice of half the cell (four per cell), Benjamini-Hochberg FDR over all windows; "
                         "a cell's class, gi_p, observed and expected are those of its most significant "
                         "window; classes at 99/95/90 %",
            "clusters": ("ruwe clustering: " + self.params.method + " (density, no significance test)")
            if self.raw_clusters else "groups of grid cells hot at 95 % after FDR under the null",
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
        raise VeiligError(f"{name}: '{value}' is geen datum (JJJJ-MM-DD)") from exc


def _utc_times(values: pd.Series) -> pd.Series:
    try:
        ts = pd.to_datetime(values)
    except (ValueError, TypeError) as exc:  # the data layer validates; a raw table may not be
        raise VeiligError(f"occurred_at: niet overal een tijdstip ({exc})".split("\n")[0]) from exc
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
    exposure: ExposureCells | None = None,
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
    exposure : ExposureCells, optional
        An imported 100 m grid of dwellings or inhabitants: the grid's null follows it (mixed
        with area, see :mod:`veilig.geo.exposure`). Default: uniform over the municipality.

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
    For n incidents and c grid cells: O(n) for the grid counts, O(c * band / cell) for the window
    sums (4c windows on the half-cell lattice) and O(c log c) for BH (see
    :func:`veilig.geo.gistar.gi_star_grid_exact_fine`); the inference
    costs the same at 300 and at 1,000,000 incidents (~15,000 cells of 50 m). Raw clustering adds
    O(n log n) (:class:`veilig.geo.clusters.GridDBSCAN`).
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
            raise VeiligError("category: kies minstens één categorie")
        label = "+".join(categories)
    start_d, end_d = _as_date(start, "start"), _as_date(end, "end")
    if start_d is not None and end_d is not None and end_d < start_d:
        raise VeiligError(f"end: {end_d} ligt vóór start {start_d}; end moet op of na start liggen")
    missing = {"occurred_at", "category", "x", "y"} - set(incidents.columns)
    if missing:
        raise VeiligError(f"incidents: ontbrekende kolom(men) {', '.join(sorted(missing))}")
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

    # Gi* on the grid, under the exposure null, at the chosen scale.
    t = time.perf_counter()
    grid = zoetermeer_grid(params.cell)
    areas = zoetermeer_cell_areas(params.cell)
    null = grid_null(grid, areas, exposure)
    scale = (choose_band(null.share, grid.mask, n, params.cell) if params.band is None
             else given_band(null.share, grid.mask, n, params.cell, float(params.band)))
    params = dataclasses.replace(params, band=scale.band)
    row, col = grid.locate(px, py) if n else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    counts = np.bincount(row * grid.nx + col, minlength=grid.nx * grid.ny).reshape(grid.ny, grid.nx) if n \
        else np.zeros((grid.ny, grid.nx), dtype=np.int64)
    # The windows are centred on a lattice of half the cell (four per cell; see gi_star_grid_exact_fine).
    fine = zoetermeer_grid(params.cell / 2.0)
    fine_null = grid_null(fine, zoetermeer_cell_areas(params.cell / 2.0), exposure)
    frow, fcol = fine.locate(px, py) if n else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    fine_counts = np.bincount(frow * fine.nx + fcol, minlength=fine.nx * fine.ny).reshape(fine.ny, fine.nx) \
        if n else np.zeros((fine.ny, fine.nx), dtype=np.int64)
    offset = (int(round((fine.y0 - grid.y0) / fine.cell)), int(round((fine.x0 - grid.x0) / fine.cell)))
    gi = gi_star_grid_exact_fine(counts, null.share, grid.mask, fine_counts, fine_null.share, fine.mask, offset,
                                 cell=params.cell, band=scale.band)
    grid_gdf = grid_table(grid, counts, gi, null.null_model, messages)
    timings["gi_grid"] = time.perf_counter() - t

    # Clusters: significant groups of hot cells (default), or raw density clustering.
    t = time.perf_counter()
    P = np.column_stack([px, py])
    if params.clusters == "significant":
        comp = hot_components(gi.gi_class, grid.mask)
        labels = comp[row, col] - 1 if n else np.zeros(0, dtype=np.int64)
        clusters = significant_cluster_table(comp, grid, counts, null.share, gi.p_fdr, n, labels, pb, pdays,
                                             index.to_numpy(), label, null.null_model, scale.band)
    else:
        if params.method == "dbscan":
            labels = stable_labels(GridDBSCAN(params.eps, params.min_samples).fit(P).labels_, P) if n else \
                np.zeros(0, dtype=np.int64)
        else:
            if n > MAX_HDBSCAN_INCIDENTS:
                raise TooLargeError(f"method: HDBSCAN op {nl_number(n, 0)} incidenten is te zwaar voor één verzoek (grens "
                                    f"{nl_number(MAX_HDBSCAN_INCIDENTS, 0)}); kies een kortere periode of method=dbscan")
            labels = stable_labels(hdbscan_labels(P, params.min_samples), P)
        if 0 < n < params.min_samples:
            messages.append(f"minder incidenten ({n}) dan min_samples ({params.min_samples}): geen clusters")
        clusters = raw_cluster_table(P, labels, pb, pdays, index.to_numpy(), label, params, grid, areas,
                                     null.share, n, null.null_model)
    if n > 1 and (P == P[0]).all():
        messages.append("alle incidenten liggen op één plek")
    timings["cluster"] = time.perf_counter() - t

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
    bnull, bnote = buurt_null(buurten, stats)
    if bnote:
        messages.append(bnote)
    buurt_gdf = buurt_table(buurten, pb, labels, prev_b, stats, messages, bnull, has_previous=has_previous)
    timings["buurt_table"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0

    points = pd.DataFrame({
        "id": work["id"].to_numpy()[sel] if "id" in work.columns else sel,
        "x": px, "y": py, "buurt": pd.Categorical.from_codes(pb, categories=index), "cluster_id": labels + 1,
        "category": work["category"].array[sel],  # as given (str or Categorical): no million-object round trip
        # ``.array``, not ``.to_numpy()``: tz-aware times would become a million Timestamp objects.
        "occurred_at": _utc_times(work["occurred_at"].iloc[sel]).array,
    })
    return HotspotResult(
        category=label, categories=tuple(categories), start=start_d, end=end_d,
        previous_start=prev_start, previous_end=prev_end, params=params,
        clusters=clusters, grid=grid_gdf, buurten=buurt_gdf, points=points,
        n_incidents=n, n_outside=n_outside, synthetic=synthetic, messages=messages, timings=timings,
        scale=scale, null_grid=null.metadata(), null_buurt=bnull.metadata(),
    )

