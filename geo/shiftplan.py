"""The shift plan of Ritme van de Stad: which areas the boa pairs cover in which shift.

Areas (buurten, and hotspot polygons where given) are ranked per shift by the incidents expected
there, from the recent weeks and the same period last year; every shift gets its top areas, one
per boa pair. The plan the same method would have made for the previous period is scored against
what then happened: hit rate and the Prediction Accuracy Index (PAI). Pure: data in, data out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from veilig.errors import NotFoundError, VeiligError

from . import calendar_nl as cal
from .crs import RD_NEW
from .rhythm import (
    DEFAULT_ALPHA,
    DEFAULT_SMALL_COUNT_THRESHOLD,
    RhythmResult,
    _is_small,
    _require_columns,
    resolve_period,
    rhythm,
    theme_categories,
)

DEFAULT_PAIRS = 2
DEFAULT_RECENT_WEEKS = 8
DEFAULT_RECENT_WEIGHT = 0.5
#: The last-year window: the plan period 52 weeks earlier, widened by this many weeks each side.
DEFAULT_LAST_YEAR_MARGIN_WEEKS = 2
#: Prior strength of the shrinkage towards the separable model, in weeks of observation.
DEFAULT_SMOOTHING_WEEKS = 8.0
#: A history window shorter than this (after clipping to the data) is not used.
MIN_WINDOW_DAYS = 7

PLAN_COLUMNS = [
    "date",
    "weekday",
    "weekday_label",
    "shift",
    "shift_start",
    "shift_end",
    "hours",
    "pair",
    "area_id",
    "area_kind",
    "area_name",
    "statcode",
    "expected",
    "calendar",
]


@dataclass(frozen=True)
class Shift:
    """A daily shift from ``start_hour`` to ``end_hour`` local time (``end_hour`` 24 = midnight).

    A shift with ``end_hour <= start_hour`` runs past midnight and belongs to the day it starts.
    """

    start_hour: int
    end_hour: int

    def __post_init__(self):
        if not (0 <= self.start_hour <= 23 and 1 <= self.end_hour <= 24 and self.start_hour != self.end_hour):
            raise VeiligError(
                f"shift {self.start_hour:02d}-{self.end_hour:02d} is not valid: hours 00-23 to 01-24, not empty"
            )

    @property
    def name(self) -> str:
        return f"{self.start_hour:02d}-{self.end_hour:02d}"

    @property
    def wraps(self) -> bool:
        return self.end_hour < self.start_hour

    @property
    def clock_hours(self) -> tuple[int, ...]:
        if self.wraps:
            return tuple(range(self.start_hour, 24)) + tuple(range(0, self.end_hour))
        return tuple(range(self.start_hour, self.end_hour))

    def interval(self, day: dt.date) -> tuple[pd.Timestamp, pd.Timestamp]:
        """Local start and (exclusive) end of this shift on ``day``; real length follows DST."""
        start = _localize(pd.Timestamp(day) + pd.Timedelta(hours=self.start_hour))
        end_day = pd.Timestamp(day) + pd.Timedelta(days=1 if self.wraps else 0)
        end = _localize(end_day + pd.Timedelta(hours=self.end_hour))
        return start, end


def _localize(wall: pd.Timestamp) -> pd.Timestamp:
    # A wall time in the spring gap moves forward; an ambiguous autumn one is the first (summer) one.
    return wall.tz_localize(cal.TZ, ambiguous=True, nonexistent="shift_forward")


DEFAULT_SHIFTS: tuple[Shift, ...] = (Shift(8, 16), Shift(16, 24), Shift(0, 8))

_SHIFT_RE = re.compile(r"^\s*(\d{1,2})(?::00)?\s*-\s*(\d{1,2})(?::00)?\s*$")


def parse_shifts(spec: str | Sequence[str | Shift | tuple[int, int]] | None) -> tuple[Shift, ...]:
    """Shifts from ``'08-16,16-24,00-08'``, a list of such strings, ``(start, end)`` pairs or
    :class:`Shift` objects; ``None`` gives :data:`DEFAULT_SHIFTS`. Overlapping shifts are refused."""
    if spec is None:
        return DEFAULT_SHIFTS
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    shifts: list[Shift] = []
    for item in items:
        if isinstance(item, Shift):
            shifts.append(item)
        elif isinstance(item, tuple) and len(item) == 2:
            shifts.append(Shift(int(item[0]), int(item[1])))
        else:
            m = _SHIFT_RE.match(str(item))
            if not m:
                raise VeiligError(f"shift '{item}' is not of the form HH-HH (e.g. 08-16)")
            shifts.append(Shift(int(m.group(1)), int(m.group(2))))
    if not shifts:
        raise VeiligError("give at least one shift (e.g. 08-16,16-24,00-08)")
    seen: dict[int, str] = {}
    for s in shifts:
        for h in s.clock_hours:
            if h in seen:
                raise VeiligError(f"shifts {seen[h]} and {s.name} overlap at {h:02d}:00")
            seen[h] = s.name
    return tuple(shifts)


def plan_period(
    week: str | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
) -> cal.Period:
    """The period of a plan: an ISO week (``'2025-W10'``), a date range, or one date (``start`` alone)."""
    if week is not None:
        if start is not None or end is not None:
            raise VeiligError("give either a week or start/end, not both")
        return cal.parse_iso_week(week)
    if start is None:
        raise VeiligError("give a week (YYYY-Www) or a start date (YYYY-MM-DD) for the plan")
    return cal.make_period(start, end if end is not None else start)


# --------------------------------------------------------------------------------------- areas

#: A hotspot polygon becomes a plan area only when significant at this level (its ``p_value``).
SIGNIFICANT_HOTSPOT_P = 0.05


def build_areas(
    buurten: gpd.GeoDataFrame,
    hotspots: gpd.GeoDataFrame | None = None,
    id_column: str = "id",
    name_column: str | None = None,
) -> gpd.GeoDataFrame:
    """The areas a plan can flag, as a partition of the city (no overlaps).

    Hotspot polygons come first (clipped to the city, each minus the hotspots before it); a buurt
    is what remains of it outside the hotspots. Disjoint areas make "share of area flagged"
    and "incidents captured" add up, so the PAI is honest.

    Parameters
    ----------
    buurten : geopandas.GeoDataFrame
        ``statcode``, ``statnaam``, ``geometry`` in EPSG:28992.
    hotspots : geopandas.GeoDataFrame, optional
        Polygons with an ``id_column``, in EPSG:28992 (refused otherwise: never reprojected silently).
        Only significant hotspots become areas: rows of a hotspot result whose ``p_value`` is missing
        (raw DBSCAN/HDBSCAN clusters, "ruwe clustering") or above 0.05 are left out, so a plan never
        sends boa's to a cluster that the background alone explains.
    id_column, name_column : str
        Hotspot id and (optional) display name columns.

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id`` (statcode, or ``hotspot-<id>``), ``area_kind`` (``buurt``/``hotspot``),
        ``source_id`` (statcode or hotspot id), ``area_name``, ``statcode`` (the buurt holding
        most of the area), ``area_m2``, ``geometry``; empty remainders are left out.
    """
    for name, gdf in (("buurten", buurten), ("hotspots", hotspots)):
        if gdf is not None and (gdf.crs is None or gdf.crs.to_epsg() != 28992):
            raise VeiligError(f"the {name} must be in RD New (EPSG:28992), found {gdf.crs}")
    rows: list[dict] = []
    city = shapely.union_all(buurten.geometry.values)
    taken = shapely.Polygon()
    if hotspots is not None and "p_value" in hotspots.columns:
        p = pd.to_numeric(hotspots["p_value"], errors="coerce")
        hotspots = hotspots[(p <= SIGNIFICANT_HOTSPOT_P).to_numpy()]
    if hotspots is not None and len(hotspots):
        if id_column not in hotspots.columns:
            raise VeiligError(f"the hotspots lack the id column '{id_column}'")
        ids = hotspots[id_column].astype(str)
        if ids.duplicated().any():
            raise VeiligError(f"hotspot id '{ids[ids.duplicated()].iloc[0]}' occurs twice")
        for i, (hid, geom) in enumerate(zip(ids, hotspots.geometry.values, strict=True)):
            if geom is None or geom.is_empty:
                continue
            part = shapely.difference(shapely.intersection(shapely.make_valid(geom), city), taken)
            if part.is_empty or part.area <= 0:
                continue
            taken = shapely.union(taken, part)
            label = hotspots[name_column].iloc[i] if name_column else None
            rows.append(
                {
                    "area_id": f"hotspot-{hid}",
                    "area_kind": "hotspot",
                    "source_id": hid,
                    "area_name": str(label) if label is not None and label == label else f"Hotspot {hid}",
                    "geometry": part,
                }
            )
    for code, naam, geom in zip(buurten["statcode"], buurten["statnaam"], buurten.geometry.values, strict=True):
        part = shapely.difference(geom, taken) if not taken.is_empty else geom
        if part.is_empty or part.area <= 0:
            continue
        cut = part.area < geom.area - 1e-6
        rows.append(
            {
                "area_id": str(code),
                "area_kind": "buurt",
                "source_id": str(code),
                "area_name": f"{naam} (buiten hotspots)" if cut else str(naam),
                "geometry": part,
            }
        )
    areas = gpd.GeoDataFrame(rows, geometry="geometry", crs=RD_NEW) if rows else gpd.GeoDataFrame(
        {c: [] for c in ("area_id", "area_kind", "source_id", "area_name")}, geometry=[], crs=RD_NEW
    )
    areas["area_m2"] = areas.geometry.area
    areas["statcode"] = _main_buurt(areas, buurten)
    return areas[["area_id", "area_kind", "source_id", "area_name", "statcode", "area_m2", "geometry"]]


def _main_buurt(areas: gpd.GeoDataFrame, buurten: gpd.GeoDataFrame) -> list[str | None]:
    out: list[str | None] = []
    for kind, sid, geom in zip(areas["area_kind"], areas["source_id"], areas.geometry.values, strict=True):
        if kind == "buurt":
            out.append(sid)
            continue
        overlap = shapely.area(shapely.intersection(buurten.geometry.values, geom))
        out.append(str(buurten["statcode"].iloc[int(np.argmax(overlap))]) if overlap.max() > 0 else None)
    return out


def assign_areas(incidents: pd.DataFrame, areas: gpd.GeoDataFrame) -> pd.Series:
    """The area of each incident (``None`` outside every area).

    A point inside a hotspot part goes to that hotspot; otherwise to its buurt (the ``buurt``
    column when present, else point-in-polygon on ``x``/``y``).
    """
    out = pd.Series(None, index=incidents.index, dtype="object")
    if len(incidents) == 0 or len(areas) == 0:
        return out
    hot = areas[areas["area_kind"] == "hotspot"]
    if len(hot):
        _require_columns(incidents, ["x", "y"])
        pts = shapely.points(incidents["x"].to_numpy(dtype=float), incidents["y"].to_numpy(dtype=float))
        tree = shapely.STRtree(hot.geometry.values)
        pt_i, poly_i = tree.query(pts, predicate="intersects")
        if pt_i.size:
            order = np.lexsort((poly_i, pt_i))
            pt_i, poly_i = pt_i[order], poly_i[order]
            first = np.concatenate(([True], pt_i[1:] != pt_i[:-1]))
            out.iloc[pt_i[first]] = hot["area_id"].to_numpy()[poly_i[first]]
    rest = out.isna()
    if rest.any():
        if "buurt" in incidents.columns:
            codes = incidents.loc[rest, "buurt"]
        else:
            _require_columns(incidents, ["x", "y"])
            from .neighbourhoods import assign_buurt

            sub = incidents.loc[rest]
            codes = pd.Series(assign_buurt(sub["x"].to_numpy(), sub["y"].to_numpy())[0], index=sub.index)
        buurt_ids = set(areas.loc[areas["area_kind"] == "buurt", "area_id"])
        codes = codes.astype("object").where(codes.isin(buurt_ids), None)
        out.loc[rest] = codes
    return out


# ------------------------------------------------------------------------------ shift instances


def shift_instances(period: cal.Period, shifts: Sequence[Shift]) -> pd.DataFrame:
    """Every shift of every day of the period, in time order.

    Returns
    -------
    pandas.DataFrame
        ``date`` (datetime.date the shift starts on), ``weekday``, ``shift`` (name),
        ``shift_index``, ``start``, ``end`` (local Timestamps), ``hours`` (real hours: the
        00-08 shift has 7 on the spring day and 9 on the autumn day).
    """
    rows = []
    day = period.start
    while day <= period.end:
        for i, s in enumerate(shifts):
            start, end = s.interval(day)
            rows.append(
                {
                    "date": day,
                    "weekday": day.weekday(),
                    "shift": s.name,
                    "shift_index": i,
                    "start": start,
                    "end": end,
                    "hours": (end - start) / pd.Timedelta(hours=1),
                }
            )
        day += dt.timedelta(days=1)
    out = pd.DataFrame(rows, columns=["date", "weekday", "shift", "shift_index", "start", "end", "hours"])
    return out.sort_values("start", kind="mergesort").reset_index(drop=True)


def incident_shifts(local: pd.Series, shifts: Sequence[Shift]) -> pd.DataFrame:
    """The shift each local time falls in: ``shift_index`` (-1: in no shift) and ``date`` (the
    day that shift started, so 01:00 in a 22-06 shift belongs to the day before)."""
    lookup = np.full(24, -1)
    starts = np.zeros(24, dtype=int)
    for i, s in enumerate(shifts):
        for h in s.clock_hours:
            lookup[h] = i
            starts[h] = s.start_hour
    hour = local.dt.hour.to_numpy()
    idx = lookup[hour]
    day = local.dt.tz_localize(None).dt.normalize()
    before_start = (idx >= 0) & (hour < starts[hour])
    day = day - pd.to_timedelta(before_start.astype(int), unit="D")
    return pd.DataFrame({"shift_index": idx, "date": day.dt.date}, index=local.index)


# ------------------------------------------------------------------------------- the forecast


@dataclass(frozen=True)
class Coverage:
    """How a plan covered what happened in its period.

    ``hit_rate`` = captured / incidents; ``area_share`` = flagged area-time / (city area x
    period hours); ``pai`` = hit_rate / area_share. ``None`` where undefined or suppressed.
    """

    start: dt.date
    end: dt.date
    n_incidents: int | None
    n_captured: int | None
    hit_rate: float | None
    area_share: float | None
    pai: float | None

    def to_dict(self) -> dict:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "n_incidents": self.n_incidents,
            "n_captured": self.n_captured,
            "hit_rate": None if self.hit_rate is None else round(self.hit_rate, 4),
            "area_share": None if self.area_share is None else round(self.area_share, 6),
            "pai": None if self.pai is None else round(self.pai, 3),
        }

    def suppressed(self, threshold: int, keep_zero: bool = False) -> Coverage:
        n, c = self.n_incidents, self.n_captured
        counts = [x for x in (n, c, None if n is None or c is None else n - c) if x is not None]
        small = any(_is_small(x, threshold, keep_zero) for x in counts)
        return dataclasses.replace(
            self,
            n_incidents=None if _is_small(n, threshold, keep_zero) else n,
            n_captured=None if _is_small(c, threshold, keep_zero) else c,
            # A ratio next to its denominator reveals the small count it was made of.
            hit_rate=None if small else self.hit_rate,
            pai=None if small else self.pai,
        )


@dataclass(frozen=True)
class ShiftPlan:
    """A shift plan for one theme and period, with the back-test of the previous period.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per shift and pair, columns :data:`PLAN_COLUMNS` (dates and times as ISO strings).
    coverage : Coverage or None
        The previous period's plan scored against what happened; ``None`` with
        ``coverage_note`` saying why when it cannot be computed.
    areas : geopandas.GeoDataFrame
        The areas ranked (:func:`build_areas`), for maps. Not in JSON.
    """

    theme: str
    start: dt.date
    end: dt.date
    pairs: int
    shifts: tuple[Shift, ...]
    table: pd.DataFrame = field(compare=False)
    coverage: Coverage | None
    coverage_note: str
    holidays: list[dict]
    method: dict
    areas: gpd.GeoDataFrame = field(repr=False, compare=False)
    suppressed_below: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready: ``theme``, ``start``, ``end``, ``week``, ``pairs``, ``shifts``, ``plan``
        (the table's rows), ``coverage``, ``coverage_note``, ``holidays``, ``method``, ``suppressed_below``."""
        records = self.table.astype(object).where(self.table.notna(), None).to_dict(orient="records")
        is_week = self.start.weekday() == 0 and (self.end - self.start).days == 6
        return {
            "theme": self.theme,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "week": cal.iso_week_of(self.start) if is_week else None,
            "pairs": self.pairs,
            "shifts": [s.name for s in self.shifts],
            "plan": records,
            "coverage": None if self.coverage is None else self.coverage.to_dict(),
            "coverage_note": self.coverage_note,
            "holidays": [dict(h) for h in self.holidays],
            "method": dict(self.method),
            "suppressed_below": self.suppressed_below,
        }

    def to_csv(self) -> str:
        """The plan table as CSV text (UTF-8, comma-separated, header row), formula cells neutralised
        (area names come from imported buurt names: ``=HYPERLINK(...)`` must stay text)."""
        from veilig.csvout import frame_csv

        return frame_csv(self.table)

    def suppressed(self, threshold: int = DEFAULT_SMALL_COUNT_THRESHOLD, keep_zero: bool = False) -> ShiftPlan:
        """See :func:`veilig.geo.rhythm.suppress_small_counts`."""
        cov = None if self.coverage is None else self.coverage.suppressed(threshold, keep_zero)
        return dataclasses.replace(self, coverage=cov, suppressed_below=threshold)


def _theme_frame(incidents: pd.DataFrame, categories: tuple[str, ...]) -> pd.DataFrame:
    sub = incidents.loc[incidents["category"].isin(categories)]
    return sub.assign(_local=cal.to_local(sub["occurred_at"]))


def _history_windows(
    period: cal.Period, data_start: dt.date, data_end: dt.date, recent_weeks: int, margin_weeks: int
) -> dict[str, cal.Period | None]:
    """The recent and last-year windows for a plan, clipped to the data and to before the plan.

    Days outside ``data_start``..``data_end`` are unknown, not quiet: a window is cut to them,
    and left out when less than :data:`MIN_WINDOW_DAYS` remain.
    """
    last_day = period.start - dt.timedelta(days=1)
    recent = cal.Period(period.start - dt.timedelta(weeks=recent_weeks), last_day)
    last_year = period.shift(-364)  # 52 weeks: same weekdays
    last_year = cal.Period(
        last_year.start - dt.timedelta(weeks=margin_weeks),
        min(last_year.end + dt.timedelta(weeks=margin_weeks), last_day),
    )
    out: dict[str, cal.Period | None] = {}
    for name, w in (("recent", recent), ("last_year", last_year)):
        s, e = max(w.start, data_start), min(w.end, data_end)
        out[name] = cal.Period(s, e) if (e - s).days + 1 >= MIN_WINDOW_DAYS else None
    return out


def expected_rates(
    theme_incidents: pd.DataFrame,
    area_of: pd.Series,
    window: cal.Period,
    shifts: Sequence[Shift],
    area_ids: Sequence[str],
    smoothing_weeks: float = DEFAULT_SMOOTHING_WEEKS,
) -> np.ndarray:
    """Incidents per real hour for each (area, weekday, shift) in a history window.

    Returns an array ``(n_areas, 7, n_shifts)``. Without smoothing a cell's rate is its count
    divided by the real hours of that weekday's shift in the window (0 where the window has
    none). With ``smoothing_weeks`` > 0 the rate is shrunk towards the separable model
    ``city rate of the weekday-shift x the area's share of that shift's incidents``: a
    Gamma-Poisson posterior mean ``(count + kappa * prior) / (hours + kappa)`` whose prior weighs
    as much as ``smoothing_weeks`` weeks of observation. Eight weeks of one area's Tuesday
    nights hold a handful of incidents at best; the separable model borrows strength from the
    other weekdays and areas, while a real interaction (a nightlife street at night) still
    shows through as data accumulate.
    """
    inst = shift_instances(window, shifts)
    hours = np.zeros((7, len(shifts)))
    np.add.at(hours, (inst["weekday"].to_numpy(), inst["shift_index"].to_numpy()), inst["hours"].to_numpy())
    counts = np.zeros((len(area_ids), 7, len(shifts)))
    local = theme_incidents["_local"]
    inside = (local >= window.start_ts) & (local < window.end_ts)
    sub = theme_incidents.loc[inside]
    if len(sub):
        sh = incident_shifts(sub["_local"], shifts)
        pos = {a: i for i, a in enumerate(area_ids)}
        a_idx = area_of.loc[sub.index].map(pos)
        weekday = pd.to_datetime(sh["date"]).dt.day_of_week.to_numpy()
        ok = a_idx.notna().to_numpy() & (sh["shift_index"].to_numpy() >= 0)
        # Shifts are counted by the day they start on; a night shift's first day can lie just
        # before the window, which is negligible for ranking.
        np.add.at(
            counts,
            (a_idx.to_numpy()[ok].astype(int), weekday[ok], sh["shift_index"].to_numpy()[ok]),
            1,
        )
    safe_hours = np.where(hours > 0, hours, 1.0)
    if smoothing_weeks <= 0:
        return np.where(hours > 0, counts / safe_hours, 0.0)
    # Shrink each cell towards the separable model "city rate of this weekday-shift x the area's
    # share of this shift's incidents", with the weight of `smoothing_weeks` weeks of observation.
    city_rate = np.where(hours > 0, counts.sum(axis=0) / safe_hours, 0.0)
    per_shift = counts.sum(axis=1)
    shift_total = per_shift.sum(axis=0)
    share = np.where(shift_total > 0, per_shift / np.where(shift_total > 0, shift_total, 1), 0.0)
    prior = city_rate[None, :, :] * share[:, None, :]
    kappa = smoothing_weeks * hours * 7.0 / window.n_days
    return np.where(hours > 0, (counts + kappa * prior) / (safe_hours + kappa), 0.0)


def shift_plan(
    incidents: pd.DataFrame,
    theme: str,
    *,
    week: str | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    pairs: int = DEFAULT_PAIRS,
    shifts: str | Sequence | None = None,
    buurten: gpd.GeoDataFrame | None = None,
    hotspots: gpd.GeoDataFrame | None = None,
    hotspot_id_column: str = "id",
    hotspot_name_column: str | None = None,
    themes: Mapping[str, Sequence[str]] | None = None,
    recent_weeks: int = DEFAULT_RECENT_WEEKS,
    recent_weight: float = DEFAULT_RECENT_WEIGHT,
    last_year_margin_weeks: int = DEFAULT_LAST_YEAR_MARGIN_WEEKS,
    smoothing_weeks: float = DEFAULT_SMOOTHING_WEEKS,
    data_start: dt.date | str | None = None,
    data_end: dt.date | str | None = None,
    backtest: bool = True,
) -> ShiftPlan:
    """Plan the boa pairs for a week, a date range or one date.

    Parameters
    ----------
    incidents : pandas.DataFrame
        All incidents (``occurred_at`` tz-aware, ``category``, ``x``, ``y``, and ``buurt``
        statcode or else ``x``/``y`` to find it). Pass all categories: the first and last
        incident of the frame define how far the data reach (see ``data_start``/``data_end``).
    theme : str
        A theme (:func:`veilig.geo.rhythm.theme_table`).
    week : str, optional
        ISO week, ``'2025-W10'``. Or give ``start`` (and ``end``, inclusive; ``start`` alone
        plans that one day).
    pairs : int, default 2
        Boa pairs per shift: the number of areas flagged in every shift.
    shifts : str or sequence, optional
        ``'08-16,16-24,00-08'`` (default) or see :func:`parse_shifts`.
    buurten : geopandas.GeoDataFrame, optional
        Default :func:`veilig.geo.neighbourhoods.load_buurten`.
    hotspots : geopandas.GeoDataFrame, optional
        Hotspot polygons (EPSG:28992) with ``hotspot_id_column``; see :func:`build_areas`.
    recent_weeks : int, default 8
        Length of the recent window, ending the day before the plan.
    recent_weight : float, default 0.5
        Weight of the recent rate in the blend; the last-year rate gets ``1 - recent_weight``.
    last_year_margin_weeks : int, default 2
        The last-year window is the plan period 52 weeks (364 days, same weekdays) earlier,
        widened by this many weeks on each side.
    smoothing_weeks : float, default 8
        Shrinkage of sparse (area, weekday, shift) cells towards the separable model, in
        weeks of observation (:func:`expected_rates`); 0 turns it off.
    data_start, data_end : date, optional
        The days from/until which the data are complete (default: first/last incident).
    backtest : bool, default True
        Score the plan the method would have made for the previous period (same length,
        directly before) against what then happened.

    Returns
    -------
    ShiftPlan

    Raises
    ------
    VeiligError
        Unknown theme, bad week/dates, reversed range, bad shifts, ``pairs`` < 1 or more than
        the areas, or no incident of the theme in the history windows (no basis for a plan).

    Notes
    -----
    Model. For area *a*, weekday *w* and shift *s*, the rate per hour in a window is the count
    of the theme's incidents there divided by the real hours of that weekday's shift in the
    window, shrunk towards the separable model (:func:`expected_rates`). The expected count of a shift in the plan is
    ``(recent_weight * rate_recent + (1 - recent_weight) * rate_last_year) * hours`` of that
    shift (so a night shift over a DST change counts 7 or 9 hours). Recent weeks follow current
    trends (a new hotspot, a closed venue); last year carries the season (winter burglary,
    summer events), which eight weeks cannot know. When one window lacks data (before
    ``data_start``, or shorter than a week) the other is used alone. Ties are broken by the
    area's rate in that shift over all weekdays, then by area id. Only data before the plan's
    first day are used, so the back-test cannot peek.

    Scoring. Hit rate = share of the period's incidents of the theme that fell in an area
    while that area was flagged; PAI = hit rate / share of area-time flagged, where area-time
    flagged sums (area x real hours) over the flagged shifts and is divided by (city area x
    real hours of the period). With shifts covering the whole day this is the mean share of the
    city flagged. PAI > 1 means the plan does better than flagging areas at random.

    Cost: O(n) in the incidents plus O(days x shifts x areas).

    References
    ----------
    Chainey, S., Tompson, L., Uhlig, S. (2008). The utility of hotspot mapping for predicting
    spatial patterns of crime. Security Journal 21, 4-28 (the PAI).
    """
    categories = theme_categories(theme, themes)
    theme_key = str(theme).strip().lower()
    _require_columns(incidents, ["occurred_at", "category"])
    period = plan_period(week, start, end)
    shift_list = parse_shifts(shifts)
    if not isinstance(pairs, (int, np.integer)) or isinstance(pairs, bool) or pairs < 1:
        raise VeiligError(f"pairs must be a whole number of at least 1, not {pairs!r}")
    if not 0.0 <= recent_weight <= 1.0:
        raise VeiligError("recent_weight must lie between 0 and 1")
    if recent_weeks < 1:
        raise VeiligError("recent_weeks must be at least 1")
    if smoothing_weeks < 0:
        raise VeiligError("smoothing_weeks must not be negative")
    if buurten is None:
        from .neighbourhoods import load_buurten

        buurten = load_buurten()
    areas = build_areas(buurten, hotspots, hotspot_id_column, hotspot_name_column)
    if pairs > len(areas):
        raise VeiligError(f"pairs: {pairs} boa-koppels per dienst, maar er zijn maar {len(areas)} gebieden")

    span = _data_span(incidents, data_start, data_end)
    if span is None:
        raise VeiligError("there are no incidents at all: no basis for a plan")
    d_start, d_end = span
    frame = _theme_frame(incidents, categories)
    area_of = assign_areas(frame, areas)

    table, method = _plan_table(
        frame, area_of, areas, period, shift_list, pairs, d_start, d_end,
        recent_weeks, recent_weight, last_year_margin_weeks, smoothing_weeks, theme_key,
    )

    coverage, note = None, ""
    if backtest:
        prev = period.shift(-period.n_days)
        if prev.end > d_end:
            note = f"the data end on {d_end.isoformat()}, before the previous period ends ({prev.end.isoformat()})"
        else:
            try:
                prev_table, _ = _plan_table(
                    frame, area_of, areas, prev, shift_list, pairs, d_start, d_end,
                    recent_weeks, recent_weight, last_year_margin_weeks, smoothing_weeks, theme_key,
                )
            except VeiligError as exc:
                note = f"no plan for the previous period {prev.start.isoformat()} to {prev.end.isoformat()}: {exc}"
            else:
                coverage = plan_coverage(prev_table, frame, areas, prev, shift_list, area_of=area_of)
                note = (
                    f"the plan this method would have made for {prev.start.isoformat()} to "
                    f"{prev.end.isoformat()}, scored against what then happened"
                )
    else:
        note = "not computed"

    return ShiftPlan(
        theme=theme_key,
        start=period.start,
        end=period.end,
        pairs=int(pairs),
        shifts=shift_list,
        table=table,
        coverage=coverage,
        coverage_note=note,
        holidays=cal.calendar_marks(period),
        method=method,
        areas=areas,
    )


def _data_span(incidents: pd.DataFrame, data_start, data_end) -> tuple[dt.date, dt.date] | None:
    from .rhythm import data_period

    span = data_period(incidents)
    if span is None and (data_start is None or data_end is None):
        return None
    s = cal.to_date(data_start, "data_start") if data_start is not None else span[0]
    e = cal.to_date(data_end, "data_end") if data_end is not None else span[1]
    return s, e


def _plan_table(
    frame: pd.DataFrame,
    area_of: pd.Series,
    areas: gpd.GeoDataFrame,
    period: cal.Period,
    shifts: Sequence[Shift],
    pairs: int,
    data_start: dt.date,
    data_end: dt.date,
    recent_weeks: int,
    recent_weight: float,
    margin_weeks: int,
    smoothing_weeks: float,
    theme: str,
) -> tuple[pd.DataFrame, dict]:
    area_ids = areas["area_id"].tolist()
    windows = _history_windows(period, data_start, data_end, recent_weeks, margin_weeks)
    rates = {
        name: expected_rates(frame, area_of, w, shifts, area_ids, smoothing_weeks) if w is not None else None
        for name, w in windows.items()
    }
    if rates["recent"] is not None and rates["last_year"] is not None:
        weights = {"recent": recent_weight, "last_year": 1.0 - recent_weight}
    elif rates["recent"] is not None:
        weights = {"recent": 1.0, "last_year": 0.0}
    elif rates["last_year"] is not None:
        weights = {"recent": 0.0, "last_year": 1.0}
    else:
        raise VeiligError(
            f"no history for a plan from {period.start.isoformat()}: the data cover "
            f"{data_start.isoformat()} to {data_end.isoformat()}, and neither the {recent_weeks} weeks before "
            "nor the same period last year lie in it"
        )
    blended = sum(weights[k] * r for k, r in rates.items() if r is not None and weights[k] > 0)
    if not np.any(blended > 0):
        raise VeiligError(
            f"no incidents of theme '{theme}' in the history before {period.start.isoformat()} "
            f"({_describe(windows)}): no basis for a plan"
        )
    # Tie-break: the area's rate in that shift over all weekdays.
    pooled = blended.mean(axis=1)

    inst = shift_instances(period, shifts)
    names = areas["area_name"].to_numpy()
    kinds = areas["area_kind"].to_numpy()
    statcodes = areas["statcode"].to_numpy()
    ids = np.asarray(area_ids, dtype=object)
    rows = []
    for r in inst.itertuples(index=False):
        score = blended[:, r.weekday, r.shift_index] * r.hours
        order = np.lexsort((ids, -pooled[:, r.shift_index], -score))[:pairs]
        label = cal.interval_label(r.start, r.end)
        for pair, a in enumerate(order, start=1):
            rows.append(
                {
                    "date": r.date.isoformat(),
                    "weekday": int(r.weekday),
                    "weekday_label": cal.WEEKDAYS_NL[r.weekday],
                    "shift": r.shift,
                    "shift_start": r.start.isoformat(),
                    "shift_end": r.end.isoformat(),
                    "hours": float(r.hours),
                    "pair": pair,
                    "area_id": str(ids[a]),
                    "area_kind": str(kinds[a]),
                    "area_name": str(names[a]),
                    "statcode": statcodes[a],
                    "expected": round(float(score[a]), 3),
                    "calendar": label,
                }
            )
    table = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    method = {
        "recent_window": _window_dict(windows["recent"]),
        "last_year_window": _window_dict(windows["last_year"]),
        "weights": weights,
        "smoothing_weeks": smoothing_weeks,
        "expected": "incidents expected in the area during the shift: blended rate per hour x real hours",
    }
    return table, method


def _window_dict(w: cal.Period | None) -> dict | None:
    return None if w is None else {"start": w.start.isoformat(), "end": w.end.isoformat()}


def _describe(windows: dict[str, cal.Period | None]) -> str:
    parts = [f"{k.replace('_', ' ')} {w.start.isoformat()} to {w.end.isoformat()}" for k, w in windows.items() if w]
    return "; ".join(parts) if parts else "no window"


def plan_coverage(
    plan: pd.DataFrame,
    incidents: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    period: cal.Period,
    shifts: Sequence[Shift] | str | None = None,
    *,
    area_of: pd.Series | None = None,
) -> Coverage:
    """Score a plan against the incidents that happened in its period.

    Parameters
    ----------
    plan : pandas.DataFrame
        Rows with ``date`` (ISO or date), ``shift`` (name) and ``area_id``: the flagged areas.
    incidents : pandas.DataFrame
        The incidents to score (already the plan's theme); those outside ``period`` are ignored.
    areas : geopandas.GeoDataFrame
        The partition the plan flags from (:func:`build_areas`).
    period : veilig.geo.calendar_nl.Period
        The plan's period: its real hours make the time side of the area-time denominator.
    shifts : optional
        The plan's shifts (:func:`parse_shifts`).
    area_of : pandas.Series, optional
        Precomputed :func:`assign_areas` for ``incidents``.

    Returns
    -------
    Coverage
        ``hit_rate = captured / incidents``; ``area_share = sum(area_m2 x shift hours over
        flagged rows) / (total area x period hours)``; ``pai = hit_rate / area_share``.
        With no incidents ``hit_rate`` and ``pai`` are ``None``.
    """
    shift_list = parse_shifts(shifts)
    by_name = {s.name: i for i, s in enumerate(shift_list)}
    local = incidents["_local"] if "_local" in incidents.columns else cal.to_local(incidents["occurred_at"])
    inside = ((local >= period.start_ts) & (local < period.end_ts)).to_numpy(dtype=bool)
    sub_local = local[inside]
    if area_of is None:
        area_of = assign_areas(incidents, areas)
    sub_area = area_of.loc[sub_local.index]
    sh = incident_shifts(sub_local, shift_list)

    _require_columns(plan, ["date", "shift", "area_id"])
    area_m2 = dict(zip(areas["area_id"], areas["area_m2"], strict=True))
    unknown_shift = set(plan["shift"].astype(str)) - set(by_name)
    unknown_area = set(plan["area_id"].astype(str)) - set(area_m2)
    if unknown_shift or unknown_area:
        what = sorted(unknown_shift) + sorted(unknown_area)
        raise VeiligError(f"the plan names shifts or areas that are not given: {', '.join(what)}")
    flagged = {
        (cal.to_date(d), by_name[str(s)], str(a))
        for d, s, a in zip(plan["date"], plan["shift"], plan["area_id"], strict=True)
        if period.start <= cal.to_date(d) <= period.end
    }
    captured = sum(
        (d, int(i), a) in flagged
        for d, i, a in zip(sh["date"], sh["shift_index"], sub_area, strict=True)
        if a is not None and i >= 0
    )
    n = int(len(sub_local))

    total_area = float(areas["area_m2"].sum())
    period_hours = len(cal.hour_starts(period))
    flagged_area_time = 0.0
    for d, i, a in flagged:
        start, end = shift_list[i].interval(d)
        # A night shift that runs past midnight on the last day counts only inside the period.
        start, end = max(start, period.start_ts), min(end, period.end_ts)
        flagged_area_time += area_m2[a] * max((end - start) / pd.Timedelta(hours=1), 0.0)
    area_share = flagged_area_time / (total_area * period_hours) if total_area > 0 and period_hours else None
    hit_rate = captured / n if n else None
    pai = hit_rate / area_share if hit_rate is not None and area_share else None
    return Coverage(period.start, period.end, n, int(captured), hit_rate, area_share, pai)


def area_rhythm(
    incidents: pd.DataFrame,
    theme: str,
    area_id: str,
    areas: gpd.GeoDataFrame,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    *,
    themes: Mapping[str, Sequence[str]] | None = None,
    alpha: float = DEFAULT_ALPHA,
    exclude_holidays: bool = False,
) -> RhythmResult:
    """The rhythm (:func:`veilig.geo.rhythm.rhythm`) of one plan area, e.g. a hotspot polygon.

    ``area_id`` is a row of ``areas`` (:func:`build_areas`, or :attr:`ShiftPlan.areas`); its
    incidents are those :func:`assign_areas` gives it, so a buurt cut by hotspots means its
    remainder. A missing ``start``/``end`` defaults to the first/last day of all ``incidents``.
    The result's ``area`` is ``area_id``; ``buurt`` is the statcode for a buurt area, else ``None``.
    An unknown area is a :class:`~veilig.errors.NotFoundError`.
    """
    match = areas.loc[areas["area_id"].astype(str) == str(area_id)]
    if match.empty:
        raise NotFoundError(f"unknown area '{area_id}': use one of the plan's area ids")
    period = resolve_period(incidents, start, end)
    categories = theme_categories(theme, themes)
    sub = incidents.loc[incidents["category"].isin(categories)]
    sub = sub.loc[assign_areas(sub, areas) == str(area_id)]
    # The buurt column would restrict twice (and is not the area); the city path of rhythm() does.
    result = rhythm(
        sub.drop(columns=["buurt"], errors="ignore"), theme, period.start, period.end,
        themes=themes, alpha=alpha, exclude_holidays=exclude_holidays,
    )
    is_buurt = match["area_kind"].iloc[0] == "buurt"
    return dataclasses.replace(result, area=str(area_id), buurt=str(area_id) if is_buurt else None)
