"""The one parser for dates that people type: on the command line, in forms, in query strings.

Accepted: ISO ``JJJJ-MM-DD`` (what ``<input type="date">`` sends) and the Dutch ``DD-MM-JJJJ``
(also with ``/`` or ``.`` between the parts, and one-digit day or month: ``1-2-2026``). Anything
else is refused with a Dutch sentence that names the field and says what is wrong (``maand 13
bestaat niet``), never guessed: ``03-04-2026`` is always 3 April, because the Dutch write the day
first, and a two-digit year is refused rather than assigned to a century.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from .errors import VeiligError

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DUTCH = re.compile(r"^(\d{1,2})([-/.])(\d{1,2})\2(\d{4})$")
FORMATS_NL = "DD-MM-JJJJ of JJJJ-MM-DD"
ZOETERMEER = ZoneInfo("Europe/Amsterdam")


def today_local() -> date:
    """Today's calendar date in Zoetermeer.

    The server's clock may run in UTC: between 23:00 and 01:00 UTC ``date.today()`` names another day
    than the one the desk and the ledger (which count in Europe/Amsterdam days) are in.
    """
    return datetime.now(ZOETERMEER).date()


class DateInputError(VeiligError):
    """A typed date that is not a date: HTTP 422 for forms, exit code 2 on the command line."""

    status_code = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


def _checked(field: str, raw: str, year: int, month: int, day: int) -> date:
    if not 1 <= month <= 12:
        raise DateInputError(field, f"{raw!r} is geen geldige datum: maand {month} bestaat niet ({FORMATS_NL})")
    last = calendar.monthrange(year, month)[1] if 1 <= year <= 9999 else 31
    if not 1 <= day <= last:
        raise DateInputError(field, f"{raw!r} is geen geldige datum: dag {day} bestaat niet in maand {month} van {year}")
    if not 1900 <= year <= 2200:
        raise DateInputError(field, f"{raw!r}: jaar {year} ligt buiten 1900-2200")
    return date(year, month, day)


def parse_date(text: str | date | None, field: str = "datum") -> date | None:
    """``text`` as a date (ISO or Dutch day-first), ``None`` for an empty value.

    >>> parse_date("31-12-2025"), parse_date("2025-12-31")
    (datetime.date(2025, 12, 31), datetime.date(2025, 12, 31))
    """
    if text is None:
        return None
    if isinstance(text, date):
        return text
    raw = str(text).strip()
    if not raw:
        return None
    m = _ISO.match(raw)
    if m:
        return _checked(field, raw, int(m.group(1)), int(m.group(2)), int(m.group(3)))
    m = _DUTCH.match(raw)
    if m:
        return _checked(field, raw, int(m.group(4)), int(m.group(3)), int(m.group(1)))
    raise DateInputError(field, f"{raw!r} is geen datum; schrijf {FORMATS_NL} (bijvoorbeeld 31-12-2025)")


def format_date_nl(value: date | None) -> str:
    """``date(2025, 12, 31)`` -> ``"31-12-2025"``; empty for ``None``."""
    return value.strftime("%d-%m-%Y") if value else ""
