"""Periods a non-analyst may ask for: one whole ISO week, calendar month, quarter, or whole years.

A free period lets two overlapping queries, [start, E] and [start, E + 1 day], be subtracted to
give the incidents of one day. Only fixed calendar units are published to non-analysts, so the
smallest difference of two publishable periods is itself a publishable period (protected by the
small-count rule and the cell key perturbation). A period that is not such a unit is refused (no
silent snapping: the user sees exactly which period the figures are of).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from veilig.errors import VeiligError

KINDS = ("week", "maand", "kwartaal", "jaar")

ALLOWED_NL = ("een hele ISO-week (maandag t/m zondag), een kalendermaand, een kwartaal "
              "of een of meer hele kalenderjaren (1 januari t/m 31 december)")


@dataclass(frozen=True)
class AlignedPeriod:
    """A publishable period: ``kind`` one of :data:`KINDS`, ``start``/``end`` inclusive local dates."""

    kind: str
    start: dt.date
    end: dt.date

    @property
    def label_nl(self) -> str:
        if self.kind == "week":
            y, w, _ = self.start.isocalendar()
            return f"week {y}-W{w:02d}"
        if self.kind == "maand":
            return f"{self.start:%m-%Y}"
        if self.kind == "kwartaal":
            return f"Q{(self.start.month - 1) // 3 + 1} {self.start.year}"
        if self.start.year == self.end.year:
            return str(self.start.year)
        return f"{self.start.year}-{self.end.year}"

    def previous(self) -> AlignedPeriod:
        """The unit just before (the previous week, month, quarter or the same number of years)."""
        if self.kind == "week":
            return AlignedPeriod("week", self.start - dt.timedelta(days=7), self.start - dt.timedelta(days=1))
        if self.kind == "jaar":
            n = self.end.year - self.start.year + 1
            return AlignedPeriod("jaar", dt.date(self.start.year - n, 1, 1), dt.date(self.start.year - 1, 12, 31))
        last = self.start - dt.timedelta(days=1)
        if self.kind == "maand":
            return AlignedPeriod("maand", last.replace(day=1), last)
        return AlignedPeriod("kwartaal", dt.date(last.year, last.month - 2, 1), last)


def _month_end(day: dt.date) -> dt.date:
    nxt = dt.date(day.year + (day.month == 12), day.month % 12 + 1, 1)
    return nxt - dt.timedelta(days=1)


def classify(start: dt.date, end: dt.date) -> AlignedPeriod | None:
    """The unit ``[start, end]`` is, or ``None`` when it is none of them."""
    if end < start:
        return None
    if start.weekday() == 0 and (end - start).days == 6:
        return AlignedPeriod("week", start, end)
    if start.day == 1 and end == _month_end(start):
        return AlignedPeriod("maand", start, end)
    if start.day == 1 and start.month in (1, 4, 7, 10):
        q_end = _month_end(dt.date(start.year, start.month + 2, 1))
        if end == q_end:
            return AlignedPeriod("kwartaal", start, end)
    if (start.month, start.day) == (1, 1) and (end.month, end.day) == (12, 31) and end.year >= start.year:
        return AlignedPeriod("jaar", start, end)
    return None


def aligned_period(start: dt.date | None, end: dt.date | None,
                   data_span: tuple[dt.date, dt.date] | None = None) -> AlignedPeriod | None:
    """The period a non-analyst asked for, checked: refuses anything but a whole unit.

    Parameters
    ----------
    start, end : date or None
        Both, or neither. Neither means all whole calendar years the data cover (``data_span``);
        ``None`` is returned when there are no data at all.
    data_span : (date, date), optional
        First and last day of the data, for the default period.

    Raises
    ------
    VeiligError
        (HTTP 400) naming ``start``/``end`` and the periods that are allowed.
    """
    if start is None and end is None:
        if data_span is None:
            return None
        return AlignedPeriod("jaar", dt.date(data_span[0].year, 1, 1), dt.date(data_span[1].year, 12, 31))
    if start is None or end is None:
        missing = "start" if start is None else "end"
        raise VeiligError(f"{missing}: geef zowel start als end, of geen van beide (dan: hele kalenderjaren)")
    period = classify(start, end)
    if period is None:
        raise VeiligError(
            f"start/end: de periode {start:%d-%m-%Y} t/m {end:%d-%m-%Y} is niet toegestaan. "
            f"Zonder analistenrol kunt u alleen {ALLOWED_NL} opvragen, zodat overlappende perioden "
            "niet van elkaar af te trekken zijn.")
    return period
