"""The one way veilig writes CSV for people: spreadsheet formula injection neutralised in every cell.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a formula
by Excel and LibreOffice (``=HYPERLINK(...)`` in an applicant's name would reach the desk's
spreadsheet). Following OWASP's advice such a cell is prefixed with a single quote, which the
spreadsheet shows as text. Numbers are written as numbers (a negative number such as ``-3`` is a
value, not a formula, and stays as it is), so figures still add up after the import.

Every CSV that the product writes (finance export, shift plan, tables for planners, indicators,
near repeats, emerging hot spots, refusal reports) goes through :func:`csv_text` or
:func:`write_csv`; the database COPY path in storage is machine-to-machine and does not.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Sequence
from numbers import Number
from pathlib import Path
from typing import Any

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """The cell as it may be written: text that a spreadsheet would evaluate gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Number):
        if isinstance(value, float) and not math.isfinite(value):
            return ""
        return value
    text = str(value)
    if text.startswith(_TRIGGERS):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str = ",") -> str:
    """The CSV as a string (``\\n`` line ends), every cell through :func:`neutralise`."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    return buf.getvalue()


def frame_csv(frame, delimiter: str = ",") -> str:
    """A pandas DataFrame as CSV (no index), every cell neutralised; NaN/None as empty cells."""
    values = frame.astype(object).where(frame.notna(), None).itertuples(index=False, name=None)
    return csv_text([str(c) for c in frame.columns], values, delimiter=delimiter)


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str = ",") -> None:
    """Write :func:`csv_text` to ``path`` as UTF-8."""
    Path(path).write_text(csv_text(header, rows, delimiter), encoding="utf-8")
