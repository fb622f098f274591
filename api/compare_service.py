"""``veilig hotspots --compare YEAR`` / ``--previous START END``: the earlier period, analysed alike, and the marks."""

from __future__ import annotations

from datetime import date

from veilig.errors import VeiligError
from veilig.storage import Database


def earlier_period(compare: int | None, previous: tuple | None) -> tuple[date, date] | None:
    """The earlier period asked for: a whole year (``--compare 2025``) or ``--previous START END``."""
    if compare is not None and previous is not None:
        raise VeiligError("--compare and --previous: choose one")
    if compare is not None:
        if not 1970 <= compare <= 2100:
            raise VeiligError(f"--compare: {compare} is not a year between 1970 and 2100")
        return date(compare, 1, 1), date(compare, 12, 31)
    if previous is not None:
        start, end = (d.date() if hasattr(d, "date") else d for d in previous)
        if end < start:
            raise VeiligError(f"--previous: {end} ligt vóór {start}; het einde moet op of na het begin liggen")
        return start, end
    return None


def compare_with(db: Database, result, category: str, period: tuple[date, date]):
    """The current result marked against ``period``, analysed with the current result's parameters."""
    from veilig.geo.period_compare import compare_periods

    from .services import hotspot_result

    earlier = hotspot_result(db, category, period[0], period[1], result.params)
    return compare_periods(result, earlier)
