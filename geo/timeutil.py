"""Time conventions: incidents carry tz-aware timestamps; local time is Europe/Amsterdam.

A period given as dates is inclusive at both ends in local time: ``start=2025-01-01,
end=2025-12-31`` covers 2025-01-01 00:00 up to (not including) 2026-01-01 00:00 in Amsterdam.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

TZ = ZoneInfo("Europe/Amsterdam")
TZ_NAME = "Europe/Amsterdam"


def period_bounds(
    start: date | datetime | None, end: date | datetime | None
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """UTC half-open bounds ``[lo, hi)`` for an inclusive local-date period (``None`` = open)."""
    lo = hi = None
    if start is not None:
        lo = _as_utc(start, end_of_day=False)
    if end is not None:
        hi = _as_utc(end, end_of_day=True)
    return lo, hi


def _as_utc(value: date | datetime, end_of_day: bool) -> pd.Timestamp:
    if isinstance(value, datetime):
        ts = pd.Timestamp(value)
        if ts.tzinfo is None:
            ts = ts.tz_localize(TZ_NAME)
        return ts.tz_convert("UTC")
    day = value + timedelta(days=1) if end_of_day else value
    return pd.Timestamp(datetime.combine(day, time(0, 0), tzinfo=TZ)).tz_convert("UTC")
