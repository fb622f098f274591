"""The space-time cube: incident counts per location (100 m cell or buurt) and time step.

Locations are where the null says incidents could occur: every cell of the study grid
(:mod:`veilig.geo.grid`, the cells that intersect Zoetermeer, zeros included), or every buurt.
Steps are whole calendar months, quarters or ISO weeks (Monday to Sunday) in Europe/Amsterdam
local time; the first and last step may be cut by the period's bounds (then they hold fewer
days, which the conditional null of :mod:`veilig.geo.emerging` accounts for: it fixes each step's
total). Steps that are not whole are named in :attr:`TimeSteps.partial`.

Each location carries an exposure (the population at risk the null distributes incidents by):
the area of the cell (or buurt) inside the municipality, so a cell on the city's edge that is
half polder expects half the incidents. :func:`location_exposure` is the one place this is
decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from veilig.errors import VeiligError

from .gistar import disk_halfwidths, queen_weights
from .grid import StudyGrid, zoetermeer_grid
from .timeutil import TZ_NAME

STEPS: tuple[str, ...] = ("month", "quarter", "week")
LOCATION_KINDS: tuple[str, ...] = ("grid", "buurt")
#: More steps than this is refused (a week step over decades): memory and a useless chart.
MAX_STEPS = 600


@dataclass(frozen=True)
class TimeSteps:
    """Consecutive calendar steps covering ``[start, end]`` (inclusive local dates).

    Attributes
    ----------
    step : {'month', 'quarter', 'week'}
    starts, ends : tuple of date
        First and last (inclusive) day of each step, clipped to the period.
    labels : tuple of str
        ``2025-03``, ``2025-K1`` (kwartaal) or ``2025-W09`` (ISO week).
    partial : tuple of int
        Indices of steps cut by the period's bounds.
    """

    step: str
    starts: tuple[date, ...]
    ends: tuple[date, ...]
    labels: tuple[str, ...]
    partial: tuple[int, ...]

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def start(self) -> date:
        return self.starts[0]

    @property
    def end(self) -> date:
        return self.ends[-1]

    def index_of_days(self, days: np.ndarray) -> np.ndarray:
        """Step index of each local day (``datetime64[D]``); -1 outside ``[start, end]``."""
        d = np.asarray(days, dtype="datetime64[D]")
        edges = np.array([np.datetime64(s, "D") for s in self.starts] + [np.datetime64(self.end + timedelta(days=1), "D")])
        idx = np.searchsorted(edges, d, side="right") - 1
        idx[(d < edges[0]) | (d >= edges[-1]) | np.isnat(d)] = -1
        return idx.astype(np.int64)


def _step_floor(d: date, step: str) -> date:
    if step == "month":
        return d.replace(day=1)
    if step == "quarter":
        return date(d.year, 3 * ((d.month - 1) // 3) + 1, 1)
    return d - timedelta(days=d.weekday())  # ISO week starts on Monday


def _next_step(d: date, step: str) -> date:
    if step == "week":
        return d + timedelta(days=7)
    months = 1 if step == "month" else 3
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


def _label(d: date, step: str) -> str:
    if step == "month":
        return f"{d.year}-{d.month:02d}"
    if step == "quarter":
        return f"{d.year}-K{(d.month - 1) // 3 + 1}"
    y, w, _ = d.isocalendar()
    return f"{y}-W{w:02d}"


def time_steps(start: date, end: date, step: str = "month") -> TimeSteps:
    """The calendar steps of ``step`` that cover ``start .. end`` (both inclusive).

    Raises
    ------
    VeiligError
        Unknown step, end before start, or more than :data:`MAX_STEPS` steps.
    """
    step = str(step).strip().lower()
    if step not in STEPS:
        raise VeiligError(f"step: '{step}' is not one of {', '.join(STEPS)}")
    if end < start:
        raise VeiligError(f"end: {end} ligt vóór start {start}; end moet op of na start liggen")
    starts, ends, labels, partial = [], [], [], []
    cur = _step_floor(start, step)
    while cur <= end:
        nxt = _next_step(cur, step)
        s, e = max(cur, start), min(nxt - timedelta(days=1), end)
        if s != cur or e != nxt - timedelta(days=1):
            partial.append(len(starts))
        starts.append(s)
        ends.append(e)
        labels.append(_label(cur, step))
        cur = nxt
        if len(starts) > MAX_STEPS:
            raise VeiligError(f"step: {start} to {end} in {step}s gives more than {MAX_STEPS} steps; "
                              "choose a longer step or a shorter period")
    return TimeSteps(step, tuple(starts), tuple(ends), tuple(labels), tuple(partial))


def is_aligned(start: date, end: date, step: str) -> bool:
    """True when ``start .. end`` consists of whole steps (no partial first or last step)."""
    return not time_steps(start, end, step).partial


@dataclass(frozen=True)
class Locations:
    """The cube's locations: ids, polygons (RD New), exposure and the spatial window of each.

    Attributes
    ----------
    kind : {'grid', 'buurt'}
    ids : ndarray of str
        Cell ids (``100mE93400N452900``) or buurt statcodes.
    geometries : ndarray of shapely polygons (EPSG:28992)
    exposure : ndarray of float
        The population at risk per location (see :func:`location_exposure`).
    window : scipy.sparse.csr_matrix of shape (L, L)
        Binary: ``window[i, j] = 1`` when ``j`` is in ``i``'s spatial neighbourhood (``i`` included).
    names : ndarray of str or None
        Buurt names (None for the grid).
    grid : StudyGrid or None
    band : float or None
        The distance band of the grid window (metres).
    """

    kind: str
    ids: np.ndarray
    geometries: np.ndarray
    exposure: np.ndarray
    window: sp.csr_matrix
    names: np.ndarray | None = None
    grid: StudyGrid | None = None
    band: float | None = None

    def __len__(self) -> int:
        return int(self.ids.size)

    def window_shares(self) -> np.ndarray:
        """Each location's window share of the total exposure (the null probability of one incident)."""
        total = float(self.exposure.sum())
        if total <= 0:
            raise VeiligError("exposure: the locations have no exposure at all")
        return np.asarray(self.window @ self.exposure, dtype=np.float64) / total


def location_exposure(kind: str, cell: float = 100.0, geometries=None) -> np.ndarray:
    """The exposure of each location under the null "uniform over the municipality".

    Grid: the area (m²) of each cell inside the municipality (the union of the buurten), so
    edge cells count with their share inside. Buurten: each buurt's area. This is the one place
    the cube's exposure is decided; an imported population at risk (dwellings) would go here.
    """
    if kind == "grid":
        from .exposure import zoetermeer_cell_areas  # the hotspot engine's own exposure (issue 15)

        return np.asarray(zoetermeer_cell_areas(float(cell))[zoetermeer_grid(float(cell)).mask], dtype=np.float64)
    if geometries is None:
        raise VeiligError("exposure: buurt geometries are needed")
    return shapely.area(np.asarray(geometries, dtype=object)).astype(np.float64)


def grid_window(grid: StudyGrid, band: float) -> sp.csr_matrix:
    """The distance-band window between study cells (centres within ``band``, inclusive), binary, self included."""
    rows, cols = grid.cell_rows_cols()
    index = np.full((grid.ny, grid.nx), -1, dtype=np.int64)
    index[rows, cols] = np.arange(rows.size)
    halfwidths = disk_halfwidths(grid.cell, band)
    R = (halfwidths.size - 1) // 2
    a_parts, b_parts = [], []
    for k, h in enumerate(halfwidths):
        dy = k - R
        for dx in range(-int(h), int(h) + 1):
            r2, c2 = rows + dy, cols + dx
            ok = (r2 >= 0) & (r2 < grid.ny) & (c2 >= 0) & (c2 < grid.nx)
            j = np.full(rows.size, -1, dtype=np.int64)
            j[ok] = index[r2[ok], c2[ok]]
            keep = j >= 0
            a_parts.append(np.flatnonzero(keep))
            b_parts.append(j[keep])
    a, b = np.concatenate(a_parts), np.concatenate(b_parts)
    n = rows.size
    return sp.csr_matrix((np.ones(a.size), (a, b)), shape=(n, n))


@lru_cache(maxsize=8)
def grid_locations(cell: float = 100.0, band: float = 300.0) -> Locations:
    """The 100 m (or ``cell``) study grid over Zoetermeer with a ``band`` distance window (cached: read only)."""
    grid = zoetermeer_grid(float(cell))
    return Locations(kind="grid", ids=grid.cell_ids(), geometries=grid.cell_polygons(),
                     exposure=location_exposure("grid", cell), window=grid_window(grid, band),
                     grid=grid, band=float(band))


def buurt_locations(buurten) -> Locations:
    """The buurten (sorted by statcode) with queen contiguity plus the buurt itself as window."""
    b = buurten.sort_values("statcode").reset_index(drop=True)
    geoms = b.geometry.values
    W = queen_weights(geoms).tolil()
    W.setdiag(1.0)
    return Locations(kind="buurt", ids=b["statcode"].to_numpy().astype(str), geometries=np.asarray(geoms, dtype=object),
                     exposure=location_exposure("buurt", geometries=geoms), window=sp.csr_matrix(W),
                     names=b["statnaam"].to_numpy().astype(str))


@dataclass(frozen=True)
class SpaceTimeCube:
    """Counts per location and step.

    Attributes
    ----------
    counts : ndarray of int64, shape (L, T)
    locations : Locations
    steps : TimeSteps
    n_outside : int
        Incidents of the period that lie outside every location (not counted).
    """

    counts: np.ndarray
    locations: Locations
    steps: TimeSteps
    n_outside: int = 0
    #: Cell keys (:mod:`veilig.geo.privacy.cellkey`) of every bin (``bins``, shape (L, T)) and of
    #: every location over all steps (``locations``, (L,)), when the incidents carried record
    #: keys; what the disclosure layer perturbs the published counts with. Never in a file.
    cell_keys: dict | None = field(default=None, repr=False, compare=False)

    @property
    def slice_totals(self) -> np.ndarray:
        """Incidents per step (``N_t``)."""
        return self.counts.sum(axis=0)


def local_days(utc_times) -> np.ndarray:
    """Europe/Amsterdam calendar days of UTC (or tz-aware) times, as ``datetime64[D]``."""
    ts = pd.to_datetime(pd.Series(utc_times).reset_index(drop=True), utc=True)
    return ts.dt.tz_convert(TZ_NAME).dt.tz_localize(None).to_numpy().astype("datetime64[D]")


def build_cube(x, y, days, steps: TimeSteps, locations: Locations, location_index=None,
               record_keys=None) -> SpaceTimeCube:
    """Count incidents per (location, step).

    Parameters
    ----------
    x, y : arrays of float
        RD New metres (used for the grid).
    days : array of datetime64[D]
        Local calendar day of each incident; incidents outside the steps are dropped.
    steps : TimeSteps
    locations : Locations
    location_index : array of int, optional
        Location of each incident when already known (a buurt index); -1 means outside.
        For the grid, a point outside the study cells goes to the nearest cell (as in the
        hotspot grid); the caller drops points outside the municipality's margin first.
    record_keys : array of uint64, optional
        The record key of each incident (:func:`veilig.geo.privacy.record_keys`): the cube then
        carries the cell keys of its bins and locations (the same records give the same key in
        every other output, so the same cell gets the same noise).

    Notes
    -----
    O(n) time after the step lookup (O(n log T)); memory O(L T).
    """
    t = steps.index_of_days(days)
    L, T = len(locations), len(steps)
    if location_index is None:
        if locations.grid is None:
            raise VeiligError("build_cube: a buurt cube needs the buurt index of each incident")
        loc = np.full(t.size, -1, dtype=np.int64)
        in_t = np.flatnonzero(t >= 0)
        if in_t.size:
            g = locations.grid
            row, col = g.locate(np.asarray(x, dtype=np.float64)[in_t], np.asarray(y, dtype=np.float64)[in_t])
            index = np.full((g.ny, g.nx), -1, dtype=np.int64)
            rr, cc = g.cell_rows_cols()
            index[rr, cc] = np.arange(rr.size)
            loc[in_t] = index[row, col]
    else:
        loc = np.asarray(location_index, dtype=np.int64)
    ok = (t >= 0) & (loc >= 0)
    n_outside = int(((t >= 0) & (loc < 0)).sum())
    flat = np.bincount(loc[ok] * T + t[ok], minlength=L * T) if L * T else np.zeros(0, dtype=np.int64)
    keys = None
    if record_keys is not None:
        from .privacy.cellkey import cell_keys

        rk = np.asarray(record_keys, dtype=np.uint64)
        keys = {"bins": cell_keys(np.where(ok, loc * T + t, -1), rk, L * T).reshape(L, T),
                "locations": cell_keys(np.where(ok, loc, -1), rk, L)}
    return SpaceTimeCube(flat.reshape(L, T).astype(np.int64), locations, steps, n_outside, keys)
