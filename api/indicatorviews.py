"""What the indicator routes, the dashboard and the command line share: the register as JSON
rows, as CSV, and Dutch number parsing. Thin: the logic lives in veilig.indicators."""

from __future__ import annotations

from typing import Any

from veilig.errors import VeiligError
from veilig.indicators.seed import DIRECTIONS, GOALS
from veilig.storage import Database
from veilig.storage import indicators_repo as repo


def json_number(unit: str, value: float) -> int | float:
    """Counts as JSON integers, everything else as the float it is (7.6, 8.0)."""
    if unit.startswith("aantal") and float(value).is_integer():
        return int(value)
    return float(value)


def indicator_json(rec: repo.IndicatorRecord) -> dict[str, Any]:
    def series(values: dict[int, float]) -> dict[str, int | float]:
        return {str(y): json_number(rec.unit, v) for y, v in sorted(values.items())}

    return {
        "code": rec.code, "name": rec.name, "goal": rec.goal, "goal_name": GOALS.get(rec.goal),
        "source": rec.source, "unit": rec.unit, "direction": rec.direction,
        "direction_label": DIRECTIONS.get(rec.direction, rec.direction), "threshold": rec.threshold,
        "baseline": rec.baseline, "note": rec.note, "seed_source": rec.seed_source,
        "realisations": series(rec.realisations), "norms": series(rec.norms),
        "value_sources": {
            kind: {str(y): src for (k, y), src in sorted(rec.value_sources.items()) if k == kind}
            for kind in ("realisation", "norm")},
    }


def indicators_json(db: Database) -> list[dict[str, Any]]:
    return [indicator_json(r) for r in repo.list_indicators(db)]


CSV_HEADER = ["code", "naam", "doelstelling", "bron", "eenheid", "richting", "jaar", "soort", "waarde", "herkomst"]


def indicators_csv(db: Database) -> str:
    """The register in long form (one row per indicator, year and kind) for the P&C cycle."""
    from veilig.csvout import csv_text

    rows = []
    for rec in repo.list_indicators(db):
        years = sorted(set(rec.realisations) | set(rec.norms))
        if not years:
            rows.append([rec.code, rec.name, rec.goal, rec.source, rec.unit, DIRECTIONS.get(rec.direction),
                         None, None, None, rec.note])
        for y in years:
            for kind, values in (("realisatie", rec.realisations), ("norm", rec.norms)):
                if y in values:
                    src = rec.value_sources.get(("realisation" if kind == "realisatie" else "norm", y))
                    rows.append([rec.code, rec.name, rec.goal, rec.source, rec.unit,
                                 DIRECTIONS.get(rec.direction), y, kind, json_number(rec.unit, values[y]), src])
    return csv_text(CSV_HEADER, rows)


def parse_number(text: str) -> float:
    """A Dutch or English number: ``7,5``, ``7.5``, ``180``, ``1.234,5``."""
    t = text.strip().replace(" ", "")
    if "," in t:
        t = t.replace(".", "").replace(",", ".")
    try:
        return float(t)
    except ValueError:
        raise VeiligError(f"waarde: '{text}' is geen getal (gebruik bijv. 180 of 7,5)") from None
