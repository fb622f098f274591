"""Ritme van de Stad: when trouble happens, per handhaving theme.

Themes map onto incident categories; the rhythm of a theme is its weekday x hour matrix in
Amsterdam local time (plus a month-of-year view), with the cells that stand out against the
theme's own average marked as peaks. Pure: incidents in, :class:`RhythmResult` out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import stats

from veilig.errors import NotFoundError, VeiligError

from . import calendar_nl as cal
from .categories import resolve_categories

#: Default themes of Team Handhaving -> categories or analysis groups (see ``categories.GROUPS``).
DEFAULT_THEMES: dict[str, tuple[str, ...]] = {
    "jeugd": ("overlast_jeugd",),
    "alcohol": ("alcohol",),
    "evenementen": ("evenement",),
    "ondermijning": ("drugs",),
    "wijkzorg": ("melding_wijkzorg",),
    "meldingen": ("melding_wijkzorg",),
    "inbraak": ("burglary",),
}

#: Dutch labels for pages and legends.
THEME_LABELS_NL: dict[str, str] = {
    "jeugd": "Jeugd",
    "alcohol": "Alcohol",
    "evenementen": "Evenementen",
    "ondermijning": "Ondermijning",
    "wijkzorg": "Wijkzorg",
    "meldingen": "Meldingen",
    "inbraak": "Inbraak",
}

DEFAULT_ALPHA = 0.05
DEFAULT_SMALL_COUNT_THRESHOLD = 5


def theme_table(themes: Mapping[str, Sequence[str]] | None = None) -> dict[str, tuple[str, ...]]:
    """The theme table with every entry expanded to incident categories.

    Parameters
    ----------
    themes : mapping of str to sequence of str, optional
        Theme name -> category or group names (``'burglary'`` expands to its two categories).
        Replaces the defaults (:data:`DEFAULT_THEMES`) when given.

    Returns
    -------
    dict
        Lower-case theme name -> tuple of categories, without duplicates.

    Raises
    ------
    VeiligError
        When an entry names an unknown category or group, or names none.
    """
    table = DEFAULT_THEMES if themes is None else themes
    out: dict[str, tuple[str, ...]] = {}
    for name, entries in table.items():
        if isinstance(entries, str):
            entries = (entries,)
        cats: list[str] = []
        for entry in entries:
            for cat in resolve_categories(entry):
                if cat not in cats:
                    cats.append(cat)
        if not cats:
            raise VeiligError(f"theme '{name}' names no category")
        out[str(name).strip().lower()] = tuple(cats)
    return out


def theme_categories(theme: str, themes: Mapping[str, Sequence[str]] | None = None) -> tuple[str, ...]:
    """The incident categories of a theme; an unknown theme is refused, naming the valid ones."""
    table = theme_table(themes)
    key = str(theme).strip().lower()
    if key not in table:
        raise VeiligError(f"theme: onbekend thema '{theme}'; kies uit {', '.join(table)}")
    return table[key]


@dataclass(frozen=True)
class Peak:
    """One weekday-hour cell that stands out against the theme's own average.

    ``p`` is the one-sided Poisson p-value of the cell, ``q`` its Benjamini-Hochberg adjusted
    value over all cells of the matrix. ``count``/``p``/``q`` are ``None`` after suppression.
    """

    weekday: int
    hour: int
    count: int | None
    expected: float
    p: float | None
    q: float | None

    def to_dict(self) -> dict:
        return {
            "weekday": self.weekday,
            "weekday_label": cal.WEEKDAYS_NL[self.weekday],
            "hour": self.hour,
            "count": self.count,
            "expected": round(self.expected, 3),
            "p": self.p,
            "q": self.q,
        }


@dataclass(frozen=True)
class RhythmResult:
    """The rhythm of one theme over one period, for the city (``buurt`` None) or one buurt.

    Attributes
    ----------
    counts : list of list
        7 rows (Monday first) of 24 hourly counts, local time; ``None`` where suppressed.
    hours : numpy.ndarray
        ``(7, 24)`` exposure: how many real hours of each weekday-hour the period holds
        (daylight saving included; holidays left out when ``exclude_holidays``). Not in JSON.
    months : list
        12 counts, January first (month of year, all years of the period together).
    holidays : list of dict
        Calendar markers (:func:`veilig.geo.calendar_nl.calendar_marks`) with ``n_incidents``.
    total : int or None
        Incidents of the theme in the period (and buurt).
    suppressed_below : int or None
        The threshold applied by :func:`suppress_small_counts`, ``None`` when unsuppressed.
    area : str or None
        The area the rhythm is of: ``None`` for the city, the statcode for a buurt, a plan
        area id (``hotspot-<id>``) for :func:`veilig.geo.shiftplan.area_rhythm`.
    """

    theme: str
    categories: tuple[str, ...]
    start: dt.date
    end: dt.date
    buurt: str | None
    counts: list[list[int | None]]
    hours: np.ndarray = field(repr=False, compare=False)
    peaks: list[Peak]
    months: list[int | None]
    holidays: list[dict]
    total: int | None
    exclude_holidays: bool = False
    alpha: float = DEFAULT_ALPHA
    suppressed_below: int | None = None
    area: str | None = None
    #: Cell keys (:mod:`veilig.geo.privacy.cellkey`) of ``counts`` (7 x 24), ``months`` (12),
    #: ``holidays`` (one per mark) and ``total``, when the incidents carried a ``record_key``
    #: column; what the disclosure layer perturbs the published counts with. Never in JSON.
    cell_keys: dict | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """JSON-ready: ``theme``, ``start``, ``end``, ``buurt``, ``area``, ``counts``, ``peaks``,
        ``months``, ``holidays``, ``total``, ``suppressed_below``."""
        return {
            "theme": self.theme,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "buurt": self.buurt,
            "area": self.area,
            "counts": [list(row) for row in self.counts],
            "peaks": [p.to_dict() for p in self.peaks],
            "months": list(self.months),
            "holidays": [dict(h) for h in self.holidays],
            "total": self.total,
            "suppressed_below": self.suppressed_below,
        }

    def counts_frame(self) -> pd.DataFrame:
        """The matrix as a DataFrame: index Dutch weekday names, columns hours 0..23."""
        return pd.DataFrame(self.counts, index=list(cal.WEEKDAYS_NL), columns=list(range(24)))

    def suppressed(self, threshold: int = DEFAULT_SMALL_COUNT_THRESHOLD, keep_zero: bool = False) -> RhythmResult:
        """See :func:`suppress_small_counts`."""

        def hide(c):
            return None if _is_small(c, threshold, keep_zero) else c

        peaks = [
            p for p in self.peaks if not _is_small(p.count, threshold, keep_zero)
        ]
        holidays = [{**h, "n_incidents": hide(h.get("n_incidents"))} for h in self.holidays]
        counts = [[hide(c) for c in row] for row in self.counts]
        months = [hide(c) for c in self.months]
        # The total beside a hidden cell gives it back (total minus the visible cells).
        any_hidden = any(c is None for row in counts for c in row) or any(c is None for c in months)
        return dataclasses.replace(
            self,
            counts=counts,
            peaks=peaks,
            months=months,
            holidays=holidays,
            total=None if any_hidden else hide(self.total),
            suppressed_below=threshold,
        )


def _is_small(count, threshold: int, keep_zero: bool) -> bool:
    if count is None:
        return False
    return count < threshold and not (keep_zero and count == 0)


def suppress_small_counts(result, threshold: int = DEFAULT_SMALL_COUNT_THRESHOLD, keep_zero: bool = False):
    """Hide counts below ``threshold`` for users who may only see aggregates (BRIEF section 6).

    Parameters
    ----------
    result : RhythmResult or ShiftPlan
        Any result with a ``suppressed(threshold, keep_zero)`` method.
    threshold : int, default 5
        Counts ``0 <= c < threshold`` become ``None``.
    keep_zero : bool, default False
        Show zeros (a zero reveals no one; off by default because the brief says "below 5").

    Returns
    -------
    The same type, with small counts hidden: in a rhythm the matrix cells, months, holiday
    counts and total become ``None`` and peaks resting on a small count are dropped; in a shift
    plan the coverage counts, and the ratios that would reveal them, become ``None``.
    Expected values (model output, not counts) stay.
    """
    if threshold < 1:
        raise VeiligError("the small-count threshold must be at least 1")
    if not hasattr(result, "suppressed"):
        raise TypeError(f"cannot suppress counts in a {type(result).__name__}")
    return result.suppressed(threshold, keep_zero)


def _require_columns(incidents: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in incidents.columns]
    if missing:
        raise VeiligError(f"the incidents lack the column(s) {', '.join(missing)}")


def data_period(incidents: pd.DataFrame) -> tuple[dt.date, dt.date] | None:
    """First and last local date with any incident, or ``None`` for an empty frame."""
    if len(incidents) == 0:
        return None
    local = cal.to_local(incidents["occurred_at"]).dropna()
    if local.empty:
        return None
    return local.min().date(), local.max().date()


def resolve_period(incidents: pd.DataFrame, start, end) -> cal.Period:
    """The period asked for, missing bounds defaulting to the data's first/last day."""
    default = data_period(incidents) if start is None or end is None else None
    d_start, d_end = default if default else (None, None)
    return cal.make_period(start, end, d_start, d_end)


def check_buurt(buurt: str, buurten: gpd.GeoDataFrame | None = None) -> str:
    """A known buurt statcode as given; an unknown one is refused (404-style)."""
    if buurten is None:
        from .neighbourhoods import load_buurten

        buurten = load_buurten()
    codes = set(buurten["statcode"].astype(str))
    code = str(buurt).strip().upper()
    if code not in codes:
        example = sorted(codes)[0] if codes else "BU06370101"
        raise NotFoundError(f"buurt: onbekende buurt '{buurt}'; geef een CBS-buurtcode van Zoetermeer, zoals {example}")
    return code


def poisson_peaks(
    counts: np.ndarray, hours: np.ndarray, alpha: float = DEFAULT_ALPHA
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Test every weekday-hour cell against the matrix's own mean rate.

    Parameters
    ----------
    counts : numpy.ndarray
        ``(7, 24)`` incident counts.
    hours : numpy.ndarray
        ``(7, 24)`` exposure: real hours of each cell in the period.
    alpha : float
        False discovery rate.

    Returns
    -------
    expected, p, q, is_peak : numpy.ndarray
        ``(7, 24)`` each. ``expected = hours * total / sum(hours)``; ``p`` is the upper-tail
        Poisson probability ``P(X >= count)``; ``q`` the Benjamini-Hochberg adjusted p over the
        cells with exposure; ``is_peak = (q <= alpha) & (count > expected)``.

    Notes
    -----
    The null hypothesis is "this theme happens at a constant rate around the clock and the
    week": every hour of the period is equally likely, so a cell's expected count is the
    theme's mean hourly rate times the hours the cell has in the period. The exposure makes the
    test honest across daylight saving (the autumn Sunday's 02:00 occurs twice, the spring
    Sunday's not at all), holidays left out, and periods that are not whole weeks. Only
    excesses are of interest (one-sided). With 168 simultaneous tests, the Benjamini-Hochberg
    procedure keeps the expected share of false peaks at ``alpha``. O(168) time and memory.

    References
    ----------
    Benjamini, Y., Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B 57(1).
    """
    counts = np.asarray(counts, dtype=float)
    hours = np.asarray(hours, dtype=float)
    total_hours = hours.sum()
    total = counts.sum()
    rate = total / total_hours if total_hours > 0 else 0.0
    expected = hours * rate
    p = np.ones_like(counts)
    q = np.ones_like(counts)
    tested = (hours > 0) & (total > 0)
    if tested.any():
        p[tested] = stats.poisson.sf(counts[tested] - 1, expected[tested])
        q[tested] = benjamini_hochberg(p[tested])
    is_peak = tested & (q <= alpha) & (counts > expected)
    return expected, p, q, is_peak


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (monotone, capped at 1), in the input order."""
    p = np.asarray(p, dtype=float).ravel()
    m = p.size
    if m == 0:
        return p
    order = np.argsort(p, kind="mergesort")
    ranked = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def rhythm(
    incidents: pd.DataFrame,
    theme: str,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    buurt: str | None = None,
    *,
    themes: Mapping[str, Sequence[str]] | None = None,
    buurten: gpd.GeoDataFrame | None = None,
    alpha: float = DEFAULT_ALPHA,
    exclude_holidays: bool = False,
) -> RhythmResult:
    """The weekday x hour rhythm of a theme, for the city or one buurt.

    Parameters
    ----------
    incidents : pandas.DataFrame
        ``occurred_at`` (timezone-aware), ``category``, and ``buurt`` (statcode) when a buurt
        is asked for. Pass all incidents: a missing ``start``/``end`` defaults to the data's
        first/last day.
    theme : str
        A theme of :func:`theme_table` (e.g. ``'jeugd'``).
    start, end : datetime.date or str, optional
        Local calendar days, both inclusive.
    buurt : str, optional
        A buurt statcode; ``None`` for the whole city.
    themes : mapping, optional
        Replaces the default theme table.
    buurten : geopandas.GeoDataFrame, optional
        The known buurten (default :func:`veilig.geo.neighbourhoods.load_buurten`), to check ``buurt``.
    alpha : float, default 0.05
        False discovery rate for the peaks (:func:`poisson_peaks`).
    exclude_holidays : bool, default False
        Leave public holidays and the jaarwisseling out of matrix, months and exposure, so the
        ordinary week stands out; they are still listed in ``holidays`` with their counts.

    Returns
    -------
    RhythmResult
        A theme without incidents in the period gives a clear empty result: zero counts,
        ``total`` 0 and no peaks.

    Raises
    ------
    VeiligError
        Unknown theme, reversed period, missing columns; :class:`~veilig.errors.NotFoundError`
        for an unknown buurt.

    Notes
    -----
    An incident's cell is the local weekday and hour of its own timestamp, converted to
    Europe/Amsterdam, so UTC input and daylight saving are handled. O(n) in the incidents.
    """
    categories = theme_categories(theme, themes)
    theme_key = str(theme).strip().lower()
    _require_columns(incidents, ["occurred_at", "category"] + (["buurt"] if buurt is not None else []))
    code = check_buurt(buurt, buurten) if buurt is not None else None
    period = resolve_period(incidents, start, end)
    local = _theme_local_times(incidents, categories, period, code)
    return _rhythm_of(local, theme_key, categories, period, code, alpha, exclude_holidays,
                      _record_keys(incidents))


def _record_keys(incidents: pd.DataFrame) -> pd.Series | None:
    return incidents["record_key"] if "record_key" in incidents.columns else None


def rhythm_by_buurt(
    incidents: pd.DataFrame,
    theme: str,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    *,
    themes: Mapping[str, Sequence[str]] | None = None,
    buurten: gpd.GeoDataFrame | None = None,
    alpha: float = DEFAULT_ALPHA,
    exclude_holidays: bool = False,
) -> dict[str, RhythmResult]:
    """:func:`rhythm` for every buurt (statcode -> result, all buurten, empty ones included).

    Each buurt's peaks are tested against that buurt's own mean rate.
    """
    categories = theme_categories(theme, themes)
    theme_key = str(theme).strip().lower()
    _require_columns(incidents, ["occurred_at", "category", "buurt"])
    if buurten is None:
        from .neighbourhoods import load_buurten

        buurten = load_buurten()
    period = resolve_period(incidents, start, end)
    local = _theme_local_times(incidents, categories, period, None)
    codes = incidents.loc[local.index, "buurt"].astype("string").str.upper()
    return {
        code: _rhythm_of(local[codes == code], theme_key, categories, period, code, alpha, exclude_holidays,
                         _record_keys(incidents))
        for code in buurten["statcode"].astype(str)
    }


def _theme_local_times(
    incidents: pd.DataFrame, categories: tuple[str, ...], period: cal.Period, buurt: str | None
) -> pd.Series:
    """Local times of the theme's incidents inside the period (and buurt), index kept."""
    rows = incidents["category"].isin(categories)
    if buurt is not None:
        rows &= incidents["buurt"].astype("string").str.upper() == buurt
    local = cal.to_local(incidents.loc[rows, "occurred_at"])
    inside = (local >= period.start_ts) & (local < period.end_ts)
    return local[inside.fillna(False).astype(bool)]


def _rhythm_of(
    local: pd.Series,
    theme: str,
    categories: tuple[str, ...],
    period: cal.Period,
    buurt: str | None,
    alpha: float,
    exclude_holidays: bool,
    record_keys: pd.Series | None = None,
) -> RhythmResult:
    from .privacy.cellkey import cell_keys, total_key

    special = cal.special_day_mask(local)
    marks = cal.calendar_marks(period)
    rk = None if record_keys is None else record_keys.reindex(local.index).to_numpy(dtype=np.uint64)
    mark_keys: list[float] = []
    for mark in marks:
        lo, hi = pd.Timestamp(mark["start"]), pd.Timestamp(mark["end"])
        inside = ((local >= lo) & (local < hi)).to_numpy(dtype=bool)
        mark["n_incidents"] = int(inside.sum())
        if rk is not None:
            mark_keys.append(total_key(rk[inside]))
    if exclude_holidays:
        if rk is not None:
            rk = rk[~special]
        local = local[~special]
        hours = cal.hour_exposure(period, exclude=cal.special_day_mask(cal.hour_starts(period)))
    else:
        hours = cal.hour_exposure(period)
    flat = local.dt.day_of_week.to_numpy() * 24 + local.dt.hour.to_numpy()
    counts = np.bincount(flat.astype(int), minlength=168).reshape(7, 24)
    months = np.bincount(local.dt.month.to_numpy().astype(int) - 1, minlength=12)
    expected, p, q, is_peak = poisson_peaks(counts, hours, alpha)
    peaks = [
        Peak(int(w), int(h), int(counts[w, h]), float(expected[w, h]), float(p[w, h]), float(q[w, h]))
        for w, h in zip(*np.nonzero(is_peak), strict=True)
    ]
    peaks.sort(key=lambda pk: (-pk.count, pk.q, pk.weekday, pk.hour))
    keys = None
    if rk is not None:
        keys = {
            "counts": cell_keys(flat.astype(np.int64), rk, 168).reshape(7, 24),
            "months": cell_keys(local.dt.month.to_numpy().astype(np.int64) - 1, rk, 12),
            "holidays": mark_keys,
            "total": total_key(rk),
        }
    return RhythmResult(
        theme=theme,
        categories=categories,
        start=period.start,
        end=period.end,
        buurt=buurt,
        counts=counts.astype(int).tolist(),
        hours=hours,
        peaks=peaks,
        months=months.astype(int).tolist(),
        holidays=marks,
        total=int(counts.sum()),
        exclude_holidays=exclude_holidays,
        alpha=alpha,
        area=buurt,
        cell_keys=keys,
    )
