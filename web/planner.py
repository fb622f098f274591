"""View model of the *Dienstenplan* page: the plan of one week as the briefing reads it.

A row whose expected count rounds to 0,00 is no priority: sending a pair there is sending them
nowhere in particular. Such rows are left out, and a shift left with none says so in words. The
back-test is explained in one Dutch sentence (trefkans and PAI) next to the figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from veilig.csvout import csv_text

#: Below this an expected count shows as 0,00: not a priority area.
MIN_EXPECTED = 0.005

#: The CSV for planners: Dutch headers, the plan table's columns in this order.
CSV_COLUMNS: list[tuple[str, str]] = [
    ("date", "datum"), ("weekday_label", "weekdag"), ("shift", "dienst"), ("shift_start", "begin"),
    ("shift_end", "einde"), ("hours", "uren"), ("pair", "koppel"), ("area_name", "gebied"),
    ("area_kind", "soort_gebied"), ("statcode", "buurtcode"), ("expected", "verwacht_aantal"),
    ("calendar", "bijzonderheden"),
]
AREA_KIND_NL = {"hotspot": "hotspotgebied", "buurt": "buurt"}


@dataclass(frozen=True)
class ShiftBlock:
    """One shift on one day: the areas to send pairs to (may be empty)."""

    day: date
    weekday_label: str
    shift: str
    calendar: str
    rows: list[dict]


def nl_decimal(value: float, decimals: int = 2) -> str:
    return f"{value:.{decimals}f}".replace(".", ",")


def blocks(table: pd.DataFrame, weekday: int | None, shift: str | None) -> list[ShiftBlock]:
    """The plan grouped per day and shift, filtered to ``weekday`` (0 = maandag) and ``shift`` when given."""
    rows = table
    if weekday is not None:
        rows = rows[rows["weekday"] == weekday]
    if shift:
        rows = rows[rows["shift"] == shift]
    out: list[ShiftBlock] = []
    for (day, name), group in rows.groupby(["date", "shift"], sort=False):
        first = group.iloc[0]
        keep = [
            {"pair": int(r.pair), "area_name": str(r.area_name), "area_kind": AREA_KIND_NL.get(r.area_kind, r.area_kind),
             "statcode": r.statcode, "expected": nl_decimal(float(r.expected))}
            for r in group.itertuples(index=False)
            if r.expected is not None and float(r.expected) >= MIN_EXPECTED
        ]
        out.append(ShiftBlock(date.fromisoformat(str(day)), str(first.weekday_label), str(name),
                              str(first.calendar or ""), keep))
    return out


def backtest_sentence(coverage: dict | None, note: str | None) -> str:
    """Trefkans and PAI of the previous period, in one sentence a planner can repeat at the briefing."""
    if not coverage or coverage.get("hit_rate") is None:
        return ("Een terugblik kon niet worden berekend" + (f" ({note})" if note else "") +
                ": er is te weinig data van de vorige periode.")
    start = date.fromisoformat(coverage["start"]).strftime("%d-%m-%Y")
    end = date.fromisoformat(coverage["end"]).strftime("%d-%m-%Y")
    hit = nl_decimal(100 * coverage["hit_rate"], 0)
    share = coverage.get("area_share")
    pai = coverage.get("pai")
    counts = ""
    if coverage.get("n_incidents") is not None and coverage.get("n_captured") is not None:
        counts = f" ({coverage['n_captured']} van {coverage['n_incidents']})"
    tail = ""
    if pai is not None and share is not None:
        tail = (f", terwijl die gebieden en diensten samen {nl_decimal(100 * share, 1)} % van de stad en de tijd "
                f"besloegen: een PAI (Prediction Accuracy Index) van {nl_decimal(pai, 1)}, dus {nl_decimal(pai, 1)} "
                "keer zoveel incidenten per vierkante meter en uur als bij een willekeurige keuze")
    return (f"Dezelfde methode wees in de vorige periode ({start} t/m {end}) gebieden aan waarin {hit} % van de "
            f"incidenten viel{counts} (de trefkans){tail}.")


def plan_csv(table: pd.DataFrame, drop_no_priority: bool = True) -> str:
    """The plan table with Dutch headers, through the one CSV writer (formula cells neutralised).

    The page's CSV leaves out rows that are no priority (expected 0,00), as the page does; the
    API's CSV (``drop_no_priority=False``) keeps one row per row of its JSON.
    """
    keep = table[table["expected"].fillna(0) >= MIN_EXPECTED] if len(table) and drop_no_priority else table
    def cell(col: str, value):
        if col == "area_kind":
            return AREA_KIND_NL.get(value, value)
        if col in ("hours", "expected") and value is not None:
            return nl_decimal(float(value), 1 if col == "hours" else 3)  # decimal comma, as ';' CSV expects
        return value

    rows = [[cell(c, getattr(r, c)) for c, _ in CSV_COLUMNS] for r in keep.itertuples(index=False)]
    return csv_text([nl for _, nl in CSV_COLUMNS], rows, delimiter=";")
