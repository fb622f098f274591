"""Report shaping: from application rows to counts, per-buurt figures and the finance CSV. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from veilig.csvout import csv_text

from .money import plain_euros
from .status import HOLDS_RESERVATION, Status


def counts_by_status(statuses: Iterable[str]) -> dict[str, int]:
    """Applications per status, with every status present (zero when none)."""
    counts = {s.value: 0 for s in Status}
    for s in statuses:
        counts[Status(s).value] += 1
    return counts


def grants_by_status(rows: Iterable[tuple[str, int | None]]) -> dict[str, int]:
    out = {s.value: 0 for s in Status}
    for status, grant in rows:
        out[Status(status).value] += grant or 0
    return out


def buurt_rows(
    rows: Iterable[tuple[str | None, str, int | None]],
    names: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Per buurt: ``(buurt, status, grant_cents)`` rows -> applications, grants, reserved and paid cents.

    Applications without a buurt yet (received, not complete) are grouped under ``"onbekend"``.
    """
    names = names or {}
    acc: dict[str, dict[str, Any]] = {}
    for buurt, status, grant in rows:
        key = buurt or "onbekend"
        row = acc.setdefault(
            key,
            {"buurt": key, "statnaam": names.get(key), "applications": 0, "grants": 0, "reserved_cents": 0, "paid_cents": 0},
        )
        row["applications"] += 1
        st = Status(status)
        if st in HOLDS_RESERVATION:
            row["grants"] += 1
            row["reserved_cents"] += grant or 0
        elif st is Status.PAID:
            row["grants"] += 1
            row["paid_cents"] += grant or 0
    return [acc[k] for k in sorted(acc)]


FINANCE_COLUMNS = (
    "aanvraag_id", "pilot_id", "status", "aanvrager", "postcode", "huisnummer", "toevoeging", "buurt",
    "object", "factuurbedrag_cent", "factuurdatum", "subsidie_cent", "subsidie_euro", "iban",
    "ontvangen_op", "compleet_op", "goedgekeurd_op", "betaald_op", "reden",
)


def finance_csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str] = FINANCE_COLUMNS) -> str:
    """Semicolon-separated CSV (what Dutch spreadsheets open directly); cents as integers plus a
    euro column with a decimal comma. ``rows`` are dicts keyed by ``columns`` (``subsidie_euro`` is
    filled in here)."""

    def lines():
        for row in rows:
            values = dict(row)
            if "subsidie_euro" in columns:
                grant = values.get("subsidie_cent")
                values["subsidie_euro"] = plain_euros(grant) if grant is not None else ""
            yield [values.get(c) for c in columns]

    # Every cell through veilig.csvout: an applicant named "=HYPERLINK(...)" stays text in the
    # finance department's spreadsheet.
    return csv_text(columns, lines(), delimiter=";")


def entries_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """The ledger's entries as CSV, one line per entry, in order."""
    columns = ("id", "pilot_id", "seq", "kind", "amount_cents", "application_id", "total_after",
               "reserved_after", "paid_after", "created_at", "memo")
    return finance_csv(rows, columns)
