"""Local time and the Dutch calendar for the rhythm analysis: Europe/Amsterdam hours, periods,
ISO weeks, public holidays and the turn of the year (jaarwisseling).

Everything here is pure and daylight-saving correct: an hour is a real elapsed hour, labelled by
the local clock, so the spring day has 23 of them (no 02:00) and the autumn day 25 (02:00 twice).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

import holidays as _holidays
import numpy as np
import pandas as pd

from veilig.errors import VeiligError

from .timeutil import TZ_NAME as TZ

#: Monday first, as in :attr:`pandas.Timestamp.weekday`.
WEEKDAYS_NL: tuple[str, ...] = (
    "maandag",
    "dinsdag",
    "woensdag",
    "donderdag",
    "vrijdag",
    "zaterdag",
    "zondag",
)
WEEKDAYS_SHORT_NL: tuple[str, ...] = ("ma", "di", "wo", "do", "vr", "za", "zo")
MONTHS_NL: tuple[str, ...] = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)

#: The turn of the year: from this local hour on 31 December ...
JAARWISSELING_START_HOUR = 18
#: ... until this local hour on 1 January (the night of New Year's Eve, fireworks included).
JAARWISSELING_END_HOUR = 6
JAARWISSELING_LABEL = "Jaarwisseling"

_WEEK_RE = re.compile(r"^\s*(\d{4})-?W(\d{1,2})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Period:
    """A span of whole local calendar days, ``start`` to ``end`` inclusive.

    ``start_ts`` and ``end_ts`` are the local midnights that bound it (``end_ts`` exclusive), so
    ``start_ts <= t < end_ts`` selects the incidents of the period.
    """

    start: dt.date
    end: dt.date

    @property
    def start_ts(self) -> pd.Timestamp:
        return pd.Timestamp(self.start).tz_localize(TZ)

    @property
    def end_ts(self) -> pd.Timestamp:
        return pd.Timestamp(self.end + dt.timedelta(days=1)).tz_localize(TZ)

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days + 1

    def shift(self, days: int) -> Period:
        """The same span moved by ``days`` (negative: earlier)."""
        delta = dt.timedelta(days=days)
        return Period(self.start + delta, self.end + delta)


def to_date(value: dt.date | str | pd.Timestamp, what: str = "date") -> dt.date:
    """A calendar date from a date, a datetime/Timestamp (its own local date) or an ISO string."""
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise VeiligError(f"{what}: '{value}' is geen datum (gebruik JJJJ-MM-DD)") from None
    raise VeiligError(f"{what}: {value!r} is geen datum (gebruik JJJJ-MM-DD)")


def make_period(
    start: dt.date | str | None,
    end: dt.date | str | None,
    default_start: dt.date | None = None,
    default_end: dt.date | None = None,
) -> Period:
    """Validate a period of whole days (``end`` inclusive).

    A missing bound takes its default (typically the first or last day with data); a reversed
    range is refused with a :class:`~veilig.errors.VeiligError`.
    """
    s = to_date(start, "start") if start is not None else default_start
    e = to_date(end, "end") if end is not None else default_end
    if s is None or e is None:
        raise VeiligError("de periode is leeg: geef start en end (JJJJ-MM-DD); er zijn geen gegevens om op terug te vallen")
    if e < s:
        raise VeiligError(f"de periode is omgedraaid: end {e.isoformat()} ligt vóór start {s.isoformat()}")
    return Period(s, e)


def parse_iso_week(week: str) -> Period:
    """``'2025-W10'`` (or ``'2025W10'``) -> the Monday-to-Sunday :class:`Period` of that ISO week."""
    m = _WEEK_RE.match(str(week))
    if not m:
        raise VeiligError(f"week: '{week}' is geen ISO-week; schrijf JJJJ-Www, bijvoorbeeld 2025-W10")
    year, wk = int(m.group(1)), int(m.group(2))
    if not 1970 <= year <= 2100:
        # Incident data, holidays and local times only exist in this range (0001-W01 broke a map).
        raise VeiligError(f"week: '{week}': het jaar {year} ligt buiten 1970-2100")
    try:
        monday = dt.date.fromisocalendar(year, wk, 1)
    except ValueError:
        raise VeiligError(f"week: '{week}' bestaat niet: {year} heeft geen ISO-week {wk}") from None
    return Period(monday, monday + dt.timedelta(days=6))


def iso_week_of(day: dt.date) -> str:
    """The ISO week label (``'2025-W10'``) of a date."""
    y, w, _ = day.isocalendar()
    return f"{y}-W{w:02d}"


def to_local(occurred_at: pd.Series) -> pd.Series:
    """Timestamps in Europe/Amsterdam local time.

    Accepts any timezone-aware series (UTC, Amsterdam, mixed offsets as objects); refuses naive
    times, because guessing their zone would shift incidents by one or two hours.
    """
    s = occurred_at
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert(TZ)
    if len(s) == 0:
        return pd.Series(pd.DatetimeIndex([], tz=TZ), index=s.index, name=s.name)
    if pd.api.types.is_datetime64_dtype(s.dtype):
        raise VeiligError("occurred_at has no time zone: give timezone-aware times (UTC or Europe/Amsterdam)")
    # Object column: Timestamps/datetimes with offsets, or ISO strings with offsets.
    values = s.to_numpy()
    missing = np.flatnonzero(pd.isna(s).to_numpy())
    if missing.size:
        raise VeiligError(f"occurred_at ontbreekt in rij {s.index[missing[0]]}")
    naive = [
        i
        for i, v in enumerate(values)
        if not isinstance(v, str) and getattr(v, "tzinfo", None) is None
        or isinstance(v, str) and _naive_iso(v)
    ]
    if naive:
        raise VeiligError(
            f"occurred_at has no time zone in row {s.index[naive[0]]}: "
            "give timezone-aware times (UTC or Europe/Amsterdam)"
        )
    try:
        out = pd.to_datetime(s, utc=True)
    except (ValueError, TypeError) as exc:
        raise VeiligError(f"occurred_at cannot be read as times: {exc}") from None
    return out.dt.tz_convert(TZ)


def _naive_iso(text: str) -> bool:
    t = text.strip()
    return not (t.endswith(("Z", "z")) or re.search(r"[+-]\d{2}:?\d{2}$", t))


def hour_starts(period: Period) -> pd.DatetimeIndex:
    """Every real hour of the period, as local (Amsterdam) start times.

    Built in UTC and converted, so the spring day yields 23 hours and the autumn day 25 (the
    local hour 02 appears twice).
    """
    start = period.start_ts.tz_convert("UTC")
    end = period.end_ts.tz_convert("UTC")
    return pd.date_range(start, end, freq="h", inclusive="left").tz_convert(TZ)


def hour_exposure(period: Period, exclude: np.ndarray | None = None) -> np.ndarray:
    """How many times each local (weekday, hour) occurs in the period: a 7 x 24 integer array.

    Parameters
    ----------
    period : Period
        Whole local days.
    exclude : numpy.ndarray of bool, optional
        A mask over :func:`hour_starts` of hours to leave out (e.g. public holidays).

    Returns
    -------
    numpy.ndarray
        ``(7, 24)`` counts, Monday first; its sum is the number of real hours (minus excluded).
    """
    hours = hour_starts(period)
    keep = np.ones(len(hours), dtype=bool) if exclude is None else ~np.asarray(exclude, dtype=bool)
    flat = hours.day_of_week.to_numpy()[keep] * 24 + hours.hour.to_numpy()[keep]
    return np.bincount(flat, minlength=168).reshape(7, 24)


@lru_cache(maxsize=64)
def _nl_holidays(year: int) -> dict[dt.date, str]:
    return dict(_holidays.Netherlands(years=year, language="nl"))


def public_holidays(period: Period) -> dict[dt.date, str]:
    """Dutch public holidays (``holidays.Netherlands``, Dutch names) within the period."""
    out: dict[dt.date, str] = {}
    for year in range(period.start.year, period.end.year + 1):
        for day, name in _nl_holidays(year).items():
            if period.start <= day <= period.end:
                out[day] = name
    return dict(sorted(out.items()))


def jaarwisseling_window(year: int) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The turn of the year into ``year + 1``: 31 December 18:00 to 1 January 06:00, local."""
    start = pd.Timestamp(year, 12, 31, JAARWISSELING_START_HOUR).tz_localize(TZ)
    end = pd.Timestamp(year + 1, 1, 1, JAARWISSELING_END_HOUR).tz_localize(TZ)
    return start, end


def calendar_marks(period: Period) -> list[dict]:
    """The days of the period that need a marker: public holidays and turns of the year.

    Returns
    -------
    list of dict
        Sorted by start; each ``{"date", "name", "kind", "weekday", "start", "end"}`` where
        ``kind`` is ``"feestdag"`` or ``"jaarwisseling"``, ``date`` the ISO day it starts on and
        ``start``/``end`` ISO local timestamps (``end`` exclusive).
    """
    marks: list[dict] = []
    for day, name in public_holidays(period).items():
        start = pd.Timestamp(day).tz_localize(TZ)
        end = pd.Timestamp(day + dt.timedelta(days=1)).tz_localize(TZ)
        marks.append(_mark(day, name, "feestdag", start, end))
    for year in range(period.start.year - 1, period.end.year + 1):
        start, end = jaarwisseling_window(year)
        if start < period.end_ts and end > period.start_ts:
            marks.append(_mark(start.date(), JAARWISSELING_LABEL, "jaarwisseling", start, end))
    marks.sort(key=lambda m: (m["start"], m["kind"]))
    return marks


def _mark(day: dt.date, name: str, kind: str, start: pd.Timestamp, end: pd.Timestamp) -> dict:
    return {
        "date": day.isoformat(),
        "name": name,
        "kind": kind,
        "weekday": day.weekday(),
        "start": start.isoformat(),
        "end": end.isoformat(),
    }


def special_day_mask(local_times: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    """True where a local time falls on a public holiday or in a jaarwisseling window."""
    idx = pd.DatetimeIndex(local_times)
    if len(idx) == 0:
        return np.zeros(0, dtype=bool)
    idx = idx.tz_convert(TZ)
    dates = idx.date
    years = range(min(dates).year - 1, max(dates).year + 1)
    holiday_days = {d for y in years for d in _nl_holidays(y)}
    mask = np.fromiter((d in holiday_days for d in dates), dtype=bool, count=len(idx))
    for year in years:
        start, end = jaarwisseling_window(year)
        mask |= np.asarray((idx >= start) & (idx < end))
    return mask


def special_label(moment: pd.Timestamp) -> str:
    """The Dutch calendar label of a local moment: holiday name(s), 'Jaarwisseling', or ''."""
    t = pd.Timestamp(moment)
    t = t.tz_localize(TZ) if t.tzinfo is None else t.tz_convert(TZ)
    names = []
    name = _nl_holidays(t.year).get(t.date())
    if name:
        names.append(name)
    for year in (t.year - 1, t.year):
        start, end = jaarwisseling_window(year)
        if start <= t < end:
            names.append(JAARWISSELING_LABEL)
    return ", ".join(names)


def interval_label(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """Calendar label of a local interval (e.g. a shift): every holiday/jaarwisseling it touches."""
    names: list[str] = []
    day = start.date()
    last = (end - pd.Timedelta(microseconds=1)).date()
    while day <= last:
        name = _nl_holidays(day.year).get(day)
        if name and name not in names:
            names.append(name)
        day += dt.timedelta(days=1)
    for year in range(start.year - 1, end.year + 1):
        js, je = jaarwisseling_window(year)
        if js < end and je > start and JAARWISSELING_LABEL not in names:
            names.append(JAARWISSELING_LABEL)
    return ", ".join(names)
