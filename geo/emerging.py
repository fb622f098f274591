"""Emerging hot spot analysis: space-time Gi*, Mann-Kendall trends and ArcGIS's 17 pattern categories.

The statistic (per bin = location i x step t). The neighbourhood of a bin is every bin whose
location lies in i's spatial window (the distance band on the grid, queen contiguity on the
buurten; i itself included) and whose step is t or one of the ``k`` steps before it
(``time_window = k``, ArcGIS's "Neighborhood Time Step"; truncated at the first step). Its count
``X_it`` is the sum of those bins' counts.

The null, stated in every output: conditional on each step's total ``N_t``, the incidents of
a step fall independently on the locations in proportion to their exposure (the area inside the
municipality). A window that spans steps ``t-k .. t`` with spatial share ``s_i`` then has
``X_it ~ Binomial(sum_{u=t-k..t} N_u, s_i)`` exactly, so its tail
(:func:`veilig.geo.inference.window_tail_pvalues`) is an exact p-value however small, with no
Monte Carlo floor. ``z`` is the window count's excess over its null expectation in null standard
deviations (the Gi* z of this null); ``p`` is the exact two-sided tail; the class (-3..3, 99/95/90 %)
comes from Benjamini-Hochberg over the locations of each time slice separately.

Trends: Mann-Kendall (:mod:`veilig.geo.mannkendall`) on each location's series of z-scores (the
trend the patterns use, as ArcGIS does) and on its counts. Neighbouring z-scores share slices when
``k > 0``, so the variance of S for the z series is the one for their exact null correlation
(``corr(z_t, z_t') = sum of N_u over the shared steps / sqrt(n_t n_t')``, the same for every
location); the classic variance would find trends in noise. The count trend is the plain test
(tie-corrected) on the location's counts: it describes the counts, city-wide changes included.

Pattern categories, ArcGIS Pro, "How Emerging Hot Spot Analysis works"
(pro.arcgis.com/en/pro-app/latest/tool-reference/space-time-pattern-mining/learnmoreemerging.htm),
quoted:

- *No Pattern Detected*: "Does not fall into any of the hot or cold spot patterns defined below."
- *New Hot Spot*: "A location that is a statistically significant hot spot for the final time step
  and has never been a statistically significant hot spot before."
- *Consecutive Hot Spot*: "A location with a single uninterrupted run of at least two statistically
  significant hot spot bins in the final time-step intervals. The location has never been a
  statistically significant hot spot prior to the final hot spot run and less than 90 percent of
  all bins are statistically significant hot spots."
- *Intensifying Hot Spot*: "A location that has been a statistically significant hot spot for 90
  percent of the time-step intervals, including the final time step. In addition, the intensity
  of clustering of high counts in each time step is increasing overall and that increase is
  statistically significant."
- *Persistent Hot Spot*: "A location that has been a statistically significant hot spot for 90
  percent of the time-step intervals with no discernible trend in the intensity of clustering
  over time."
- *Diminishing Hot Spot*: "A location that has been a statistically significant hot spot for 90
  percent of the time-step intervals, including the final time step. In addition, the intensity
  of clustering in each time step is decreasing overall and that decrease is statistically
  significant."
- *Sporadic Hot Spot*: "A statistically significant hot spot for the final time-step interval with
  a history of also being an on-again and off-again hot spot. Less than 90 percent of the
  time-step intervals have been statistically significant hot spots and none of the time-step
  intervals have been statistically significant cold spots."
- *Oscillating Hot Spot*: "A statistically significant hot spot for the final time-step interval
  that has a history of also being a statistically significant cold spot during a prior time
  step. Less than 90 percent of the time-step intervals have been statistically significant hot
  spots."
- *Historical Hot Spot*: "The most recent time period is not hot, but at least 90 percent of the
  time-step intervals have been statistically significant hot spots."
- The eight cold spot patterns are the same with hot and cold exchanged (for cold spots,
  "intensifying" means the clustering of low counts grows: the z trend is downward).

How the text is applied (written down where it is silent):

- "statistically significant" for a bin: its class after the per-slice FDR is at least the
  analysis level (``level`` 0.10: classes ±1..±3, ArcGIS's 90 %; 0.05: ±2, ±3; 0.01: ±3). A trend
  is "statistically significant" at the same level (Mann-Kendall p <= level), "no discernible
  trend" is p > level. "90 percent of the time-step intervals" is ``hot steps >= 0.9 * T``.
- Where two definitions fit, the one listed first in ArcGIS's table wins (hot rows before cold
  rows), with one reading: persistent ("has been ... a hot spot") is taken to include the final
  step, because historical says outright what a >= 90 % hot location whose final step is not hot
  is. So a location >= 90 % hot with a hot final step is intensifying, diminishing or
  persistent by its trend, and historical otherwise.
- New and consecutive say nothing about cold history, so a location that was a cold spot and is
  now hot for the first time is a new (or consecutive) hot spot; oscillating is the rest with a
  cold history, sporadic the rest without one.
- (R's sfdep differs: its historical hot spot needs a negative final z, its sporadic spot no hot
  final step; we follow ArcGIS's wording.)

What the level promises: in pure noise, BH per slice keeps the chance of any significant bin in a
slice at or below ``level``; every pattern except historical needs a significant final-step bin,
and historical needs 90 % of the steps significant, so an analysis of pure noise shows any
non-``no_pattern`` location in at most about ``level`` of runs (pinned by the tests).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from veilig.errors import VeiligError

from .gistar import benjamini_hochberg, gi_classes
from .inference import window_tail_pvalues
from .mannkendall import mann_kendall, s_variance_correlated
from .spacetime import LOCATION_KINDS, STEPS, SpaceTimeCube, TimeSteps

SIDES = ("hot", "cold")
KINDS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic", "oscillating", "historical")
#: Pattern codes: 0 no pattern, 1..8 the hot patterns in ArcGIS's order, 9..16 the cold ones.
PATTERNS: tuple[str, ...] = ("no_pattern", *(f"{k}_hot" for k in KINDS), *(f"{k}_cold" for k in KINDS))
CODE = {name: i for i, name in enumerate(PATTERNS)}

#: Dutch labels for maps.
KIND_NL = {"new": "nieuw", "consecutive": "opeenvolgend", "intensifying": "toenemend", "persistent": "aanhoudend",
           "diminishing": "afnemend", "sporadic": "sporadisch", "oscillating": "wisselend", "historical": "historisch"}
PATTERN_NL: dict[str, str] = {"no_pattern": "geen patroon",
                              **{f"{k}_hot": f"hotspot: {v}" for k, v in KIND_NL.items()},
                              **{f"{k}_cold": f"coldspot: {v}" for k, v in KIND_NL.items()}}

LEVELS = {0.10: 1, 0.05: 2, 0.01: 3}
NULL_MODEL = ("per tijdstap vast totaal; incidenten verdeeld over de locaties naar oppervlakte binnen de gemeente "
              "(uniform over de gemeente)")
NULL_MODEL_EN = "conditional on each step's total, uniform over the municipality (area inside it per location)"


@dataclass(frozen=True)
class EmergingParams:
    """Parameters of the emerging hot spot analysis.

    Parameters
    ----------
    step : {'month', 'quarter', 'week'}
    time_window : int
        ``k``: the neighbourhood spans the current and the ``k`` previous steps (0-12).
    locations : {'grid', 'buurt'}
    cell, band : float
        Grid cell side and distance band in metres (grid only).
    level : {0.10, 0.05, 0.01}
        Significance level of the bins (after FDR per slice) and of the trend.
    """

    step: str = "month"
    time_window: int = 1
    locations: str = "grid"
    cell: float = 100.0
    band: float = 300.0
    level: float = 0.10

    def validated(self) -> EmergingParams:
        if self.step not in STEPS:
            raise VeiligError(f"step: '{self.step}' is not one of {', '.join(STEPS)}")
        if isinstance(self.time_window, bool) or not isinstance(self.time_window, (int, np.integer)) \
                or not 0 <= int(self.time_window) <= 12:
            raise VeiligError(f"time_window: {self.time_window!r} must be a whole number from 0 to 12")
        if self.locations not in LOCATION_KINDS:
            raise VeiligError(f"locations: '{self.locations}' is not one of {', '.join(LOCATION_KINDS)}")
        for name, value, lo, hi in (("cell", self.cell, 10.0, 1000.0), ("band", self.band, float(self.cell), 5000.0)):
            if not (isinstance(value, (int, float)) and math.isfinite(value) and lo <= value <= hi):
                raise VeiligError(f"{name}: {value!r} is out of range; use {lo:g} m to {hi:g} m")
        if not any(math.isclose(float(self.level), lv) for lv in LEVELS):
            raise VeiligError(f"level: {self.level!r} must be 0.10, 0.05 or 0.01")
        return self


@dataclass(frozen=True)
class SpaceTimeGi:
    """Space-time Gi* per bin, arrays of shape (L, T).

    Attributes
    ----------
    observed, expected : window count and its null mean ``n_t * s_i``
    z : (observed - expected) / null standard deviation (0 where the null variance is 0)
    p : exact two-sided p-value (binomial tails)
    p_fdr : BH-adjusted p within each time slice
    gi_class : -3..3
    window_totals : ndarray (T,)
        ``n_t``: incidents of the steps in each slice's window.
    """

    observed: np.ndarray
    expected: np.ndarray
    z: np.ndarray
    p: np.ndarray
    p_fdr: np.ndarray
    gi_class: np.ndarray
    window_totals: np.ndarray


def temporal_window_sum(a: np.ndarray, k: int) -> np.ndarray:
    """``out[..., t] = sum a[..., t-k .. t]`` along the last axis, truncated at 0."""
    c = np.cumsum(a, axis=-1)
    out = c.copy()
    if k + 1 < a.shape[-1]:
        out[..., k + 1:] = c[..., k + 1:] - c[..., : -(k + 1)]
    return out


def space_time_gi(cube: SpaceTimeCube, time_window: int = 1) -> SpaceTimeGi:
    """Space-time Gi* with exact binomial inference and BH-FDR per time slice.

    Notes
    -----
    O(nnz(window) * T) for the window sums plus O(L T) binomial tails: 3,853 cells x 36 steps
    take a fraction of a second.
    """
    loc = cube.locations
    share = loc.window_shares()
    spatial = np.asarray(loc.window @ cube.counts, dtype=np.int64)  # (L, T)
    observed = temporal_window_sum(spatial, time_window)
    n_t = temporal_window_sum(cube.slice_totals.astype(np.int64), time_window)
    L, T = observed.shape
    p = np.empty((L, T))
    for t in range(T):
        _, _, p[:, t] = window_tail_pvalues(observed[:, t], share, int(n_t[t]))
    expected = share[:, None] * n_t[None, :]
    sd = np.sqrt(share[:, None] * (1.0 - share[:, None]) * n_t[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(sd > 0, (observed - expected) / sd, 0.0)
    q = np.empty_like(p)
    for t in range(T):  # FDR per time slice, as ArcGIS corrects each slice
        q[:, t] = benjamini_hochberg(p[:, t])
    cls = gi_classes(z, q)
    return SpaceTimeGi(observed, expected, z, p, q, cls, n_t)


def z_correlation(slice_totals: np.ndarray, time_window: int) -> np.ndarray:
    """The null correlation of a location's z-series: shared steps' incidents over the window totals."""
    N = np.asarray(slice_totals, dtype=np.float64)
    T = N.size
    t = np.arange(T)
    lo = np.maximum(t - time_window, 0)
    n_t = temporal_window_sum(N, time_window)
    a, b = np.meshgrid(t, t, indexing="ij")
    shared_lo = np.maximum(lo[a], lo[b])
    shared_hi = np.minimum(a, b)
    c = np.concatenate([[0.0], np.cumsum(N)])
    shared = np.where(shared_hi >= shared_lo, c[shared_hi + 1] - c[np.minimum(shared_lo, T)], 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = shared / np.sqrt(np.outer(n_t, n_t))
    r = np.where(np.isfinite(r), r, 0.0)
    np.fill_diagonal(r, 1.0)
    return r


def final_run_length(mask: np.ndarray) -> np.ndarray:
    """Length of the run of True at the end of each row."""
    L, T = mask.shape
    rev = mask[:, ::-1]
    first_false = np.where((~rev).any(axis=1), np.argmax(~rev, axis=1), T)
    return first_false.astype(np.int64)


def classify_patterns(sig: np.ndarray, trend_p: np.ndarray, trend_z: np.ndarray, level: float) -> np.ndarray:
    """ArcGIS's pattern of each location from its significant bins and its z trend.

    Parameters
    ----------
    sig : array of int, shape (L, T)
        +1 for a significant hot bin, -1 for a significant cold bin, 0 otherwise; oldest first.
    trend_p, trend_z : arrays of shape (L,)
        Mann-Kendall p and z (or tau: only its sign is used) of the location's Gi* z-series.
    level : float
        The trend's significance level.

    Returns
    -------
    ndarray of int8, shape (L,)
        Codes into :data:`PATTERNS`.
    """
    sig = np.asarray(sig)
    if sig.ndim != 2 or sig.shape[1] == 0:
        raise VeiligError(f"patterns: need a (locations, steps) array with at least one step, got {sig.shape}")
    L, T = sig.shape
    trend_sig = np.asarray(trend_p) <= level
    up = np.asarray(trend_z) > 0
    down = np.asarray(trend_z) < 0
    out = np.zeros(L, dtype=np.int8)
    decided = np.zeros(L, dtype=bool)
    for side, offset in (("hot", 0), ("cold", 8)):
        this = sig > 0 if side == "hot" else sig < 0
        other = sig < 0 if side == "hot" else sig > 0
        n = this.sum(axis=1)
        final = this[:, -1]
        ninety = 10 * n >= 9 * T
        run = final_run_length(this)
        stronger = up if side == "hot" else down  # intensifying: hot z rising, cold z falling
        weaker = down if side == "hot" else up
        rules = [
            ("new", final & ~ninety & (n == 1)),
            ("consecutive", final & ~ninety & (run >= 2) & (n == run)),
            ("intensifying", final & ninety & trend_sig & stronger),
            ("persistent", final & ninety & ~trend_sig),
            ("diminishing", final & ninety & trend_sig & weaker),
            ("sporadic", final & ~ninety & ~other.any(axis=1)),
            ("oscillating", final & ~ninety & other[:, :-1].any(axis=1)),
            ("historical", ~final & ninety),
        ]
        for kind, rule in rules:
            hit = rule & ~decided
            out[hit] = CODE[f"{kind}_{side}"]
            decided |= hit
    return out


@dataclass
class EmergingResult:
    """Outcome of :func:`emerging_hot_spots`.

    Attributes
    ----------
    category, categories : the category asked for and the incident categories it covers
    steps : TimeSteps
    params : EmergingParams
    cube : SpaceTimeCube
    gi : SpaceTimeGi
    locations : DataFrame
        One row per location: ``location_id``, ``name`` (buurten), ``pattern``, ``trend_tau``,
        ``trend_z``, ``trend_p`` (Mann-Kendall of the z-series), ``count_trend_tau``,
        ``count_trend_p`` (of the counts), ``n_significant_hot``, ``n_significant_cold``,
        ``last_class``, ``n_incidents``.
    synthetic : bool
    messages : list of str (Dutch)
    timings : dict
    """

    category: str
    categories: tuple[str, ...]
    steps: TimeSteps
    params: EmergingParams
    cube: SpaceTimeCube
    gi: SpaceTimeGi
    locations: pd.DataFrame
    synthetic: bool = False
    messages: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def bins(self) -> pd.DataFrame:
        """Every bin (location x step): ``location_id``, ``step``, ``step_start``, ``step_end``,
        ``n_incidents``, ``gi_z``, ``gi_p``, ``gi_p_fdr``, ``gi_class``, ``expected``."""
        L, T = self.cube.counts.shape
        ids = np.repeat(self.cube.locations.ids, T)
        return pd.DataFrame({
            "location_id": ids,
            "step": np.tile(np.array(self.steps.labels, dtype=object), L),
            "step_start": np.tile(np.array([d.isoformat() for d in self.steps.starts], dtype=object), L),
            "step_end": np.tile(np.array([d.isoformat() for d in self.steps.ends], dtype=object), L),
            "n_incidents": self.cube.counts.ravel(),
            "expected": np.round(self.gi.expected.ravel(), 4),
            "gi_z": self.gi.z.ravel(),
            "gi_p": self.gi.p.ravel(),
            "gi_p_fdr": self.gi.p_fdr.ravel(),
            "gi_class": self.gi.gi_class.ravel().astype(np.int64),
        })

    def metadata(self) -> dict:
        return {
            "category": self.category,
            "categories": list(self.categories),
            "start": self.steps.start.isoformat(),
            "end": self.steps.end.isoformat(),
            "steps": list(self.steps.labels),
            "partial_steps": [self.steps.labels[i] for i in self.steps.partial],
            "params": asdict(self.params),
            "n_incidents": int(self.cube.counts.sum()),
            "n_outside": int(self.cube.n_outside),
            "null_model": NULL_MODEL_EN,
            "inference": "exact binomial window tails, Benjamini-Hochberg FDR per time slice",
            "synthetic": bool(self.synthetic),
            "crs_analysis": "EPSG:28992",
            "messages": list(self.messages),
        }


def location_table(cube: SpaceTimeCube, gi: SpaceTimeGi, params: EmergingParams) -> pd.DataFrame:
    """Trends and patterns per location from the cube and its space-time Gi*."""
    T = len(cube.steps)
    strength = LEVELS[min(LEVELS, key=lambda lv: abs(lv - params.level))]
    sig = np.sign(gi.gi_class).astype(np.int8) * (np.abs(gi.gi_class) >= strength)
    if params.time_window == 0:
        z_trend = mann_kendall(gi.z)
    else:
        var_s = s_variance_correlated(z_correlation(cube.slice_totals, params.time_window))
        z_trend = mann_kendall(gi.z, var_s=var_s)
    c_trend = mann_kendall(cube.counts)
    pattern = classify_patterns(sig, z_trend.p, z_trend.z, params.level)
    loc = cube.locations
    return pd.DataFrame({
        "location_id": loc.ids,
        "name": loc.names if loc.names is not None else None,
        "pattern": np.array(PATTERNS, dtype=object)[pattern],
        "trend_tau": np.round(z_trend.tau, 6),
        "trend_z": z_trend.z,
        "trend_p": z_trend.p,
        "count_trend_tau": np.round(c_trend.tau, 6),
        "count_trend_p": c_trend.p,
        "n_significant_hot": (sig > 0).sum(axis=1).astype(np.int64),
        "n_significant_cold": (sig < 0).sum(axis=1).astype(np.int64),
        "last_class": gi.gi_class[:, -1].astype(np.int64) if T else np.zeros(len(loc), dtype=np.int64),
        "n_incidents": cube.counts.sum(axis=1).astype(np.int64),
    })


def analyse_cube(cube: SpaceTimeCube, params: EmergingParams) -> tuple[SpaceTimeGi, pd.DataFrame]:
    """Space-time Gi* and the per-location table of a cube."""
    params = params.validated()
    gi = space_time_gi(cube, params.time_window)
    return gi, location_table(cube, gi, params)


def emerging_hot_spots(
    incidents: pd.DataFrame,
    category: str,
    start: date,
    end: date,
    params: EmergingParams | None = None,
    buurten=None,
) -> EmergingResult:
    """Emerging hot spots of a category over ``start .. end`` in steps.

    Parameters
    ----------
    incidents : DataFrame
        ``occurred_at`` (tz-aware, or naive Amsterdam time), ``category``, ``x``, ``y`` (RD New);
        optional ``buurt`` (statcode: incidents without one are located by point-in-polygon and
        dropped when outside the municipality's margin), ``source`` and ``record_key`` (the
        disclosure layer's record keys: the cube then carries cell keys, for the public view).
    category : str
        ``burglary``, ``drugs`` or a category.
    start, end : date
        Inclusive local dates.
    params : EmergingParams, optional
    buurten : GeoDataFrame, optional
        Buurt polygons (default the bundled ones).

    Returns
    -------
    EmergingResult

    Notes
    -----
    O(n log T) to bin n incidents, O(L T) for the statistics and O(L T²) for the trends:
    1,000,000 incidents on 3,853 cells x 36 months take a few seconds, most of it reading times.
    """
    from .categories import resolve_categories
    from .demo import DEMO_SOURCE
    from .neighbourhoods import assign_buurt, load_buurten
    from .spacetime import build_cube, buurt_locations, grid_locations, local_days, time_steps

    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    params = (params or EmergingParams()).validated()
    categories = resolve_categories(category)
    if start is None or end is None:
        raise VeiligError("start and end are required for an emerging hot spot analysis")
    steps = time_steps(start, end, params.step)
    if len(steps) < 2:
        raise VeiligError(f"period {start} to {end} has only {len(steps)} {params.step}; a trend needs at least 2 steps")
    missing = {"occurred_at", "category", "x", "y"} - set(incidents.columns)
    if missing:
        raise VeiligError(f"incidents: missing column(s) {', '.join(sorted(missing))}")
    if buurten is None:
        buurten = load_buurten()
    buurten = buurten.sort_values("statcode").reset_index(drop=True)
    messages: list[str] = []

    sel = incidents[incidents["category"].isin(categories).to_numpy()]
    # Record keys (veilig.geo.privacy.with_record_keys): the cube then carries the cell keys the
    # disclosure layer perturbs published counts with.
    rk = sel["record_key"].to_numpy(dtype=np.uint64) if "record_key" in sel.columns else None
    days = local_days(sel["occurred_at"])
    x = pd.to_numeric(sel["x"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    y = pd.to_numeric(sel["y"], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    in_steps = steps.index_of_days(days) >= 0
    finite = np.isfinite(x) & np.isfinite(y)
    index = pd.Index(buurten["statcode"].to_numpy())
    if params.locations == "grid":
        # Inside the municipality (and its margin): a stored buurt says so (the import checked it);
        # otherwise a point in a study cell is inside, and only the rest needs point-in-polygon.
        # Incidents are counted in their cell, so no buurt index per incident is needed.
        inside = finite & (sel["buurt"].notna().to_numpy() if "buurt" in sel.columns else False)
        g = grid_locations(params.cell, params.band).grid
        todo = np.flatnonzero(~inside & finite & in_steps)
        if todo.size:
            col = np.floor((x[todo] - g.x0) / g.cell).astype(np.int64)
            row = np.floor((y[todo] - g.y0) / g.cell).astype(np.int64)
            ok = (col >= 0) & (col < g.nx) & (row >= 0) & (row < g.ny)
            ok[ok] = g.mask[row[ok], col[ok]]
            inside[todo[ok]] = True
            rest = todo[~ok]
            if rest.size:
                inside[rest] = index.get_indexer(assign_buurt(x[rest], y[rest], buurten)[0]) >= 0
        bidx = None
    else:
        bidx = np.asarray(index.get_indexer(sel["buurt"]) if "buurt" in sel.columns else np.full(len(sel), -1),
                          dtype=np.int64)
        todo = np.flatnonzero((bidx < 0) & finite & in_steps)
        if todo.size:
            bidx[todo] = index.get_indexer(assign_buurt(x[todo], y[todo], buurten)[0])
        inside = finite & (bidx >= 0)
    timings["select"] = time.perf_counter() - t0

    t = time.perf_counter()
    if params.locations == "grid":
        locs = grid_locations(params.cell, params.band)
        keep = inside & in_steps
        cube = build_cube(x[keep], y[keep], days[keep], steps, locs, record_keys=None if rk is None else rk[keep])
    else:
        locs = buurt_locations(buurten)
        keep = in_steps
        cube = build_cube(x[keep], y[keep], days[keep], steps, locs, location_index=np.where(inside, bidx, -1)[keep],
                          record_keys=None if rk is None else rk[keep])
    n_outside = int((in_steps & ~inside).sum())
    cube = SpaceTimeCube(cube.counts, cube.locations, cube.steps, n_outside, cube.cell_keys)
    timings["cube"] = time.perf_counter() - t
    if n_outside:
        messages.append(f"{n_outside} incident(en) buiten Zoetermeer of zonder geldige coördinaten tellen niet mee")
    if steps.partial:
        messages.append("onvolledige tijdstap(pen): " + ", ".join(steps.labels[i] for i in steps.partial))
    if cube.counts.sum() == 0:
        messages.append("geen incidenten in deze periode")

    t = time.perf_counter()
    gi, table = analyse_cube(cube, params)
    timings["statistics"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    synthetic = bool("source" in sel.columns and (sel["source"] == DEMO_SOURCE).fillna(False).to_numpy(dtype=bool)[keep].any())
    return EmergingResult(category=category.strip().lower(), categories=tuple(categories), steps=steps,
                          params=params, cube=cube, gi=gi, locations=table, synthetic=synthetic,
                          messages=messages, timings=timings)

