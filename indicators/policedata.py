"""Reading the police's open data on registered crimes per buurt and month (CBS, for the Politie).

The layout is CBS table 47018NED (*Geregistreerde misdrijven; soort misdrijf, wijk en buurt,
maandcijfers*, on dataderden.cbs.nl) as its CSV/OData export delivers it:

- ``WijkenEnBuurten``: region code, ``BUggggbbbb`` (buurt), ``WKggggww`` (wijk) or ``GMgggg``
  (municipality); OData pads codes with spaces (``"GM0637    "``), so they are stripped;
- ``Perioden``: ``2024MM01``-style months (``JJ00`` yearly rows are not in this table and refused);
- ``SoortMisdrijf``: crime-type code such as ``1.1.1`` (*Diefstal/inbraak woning*) or ``1.1.2``
  (*Diefstal/inbraak box/garage/schuur*), also padded, sometimes followed by its label;
- ``GeregistreerdeMisdrijven_1``: the count.

The column names and the code table (CBS code -> veilig category) are configurable. Rules:

- rows of another municipality (a code whose municipality part is not ours) are ignored and counted;
- rows of a crime type not in the code table are ignored and counted (the table is the choice of
  which series the indicators use);
- a row with a missing/unknown region code, a malformed period, a missing or negative or
  non-integer count, a buurt or wijk of ours that the 2023 boundaries do not know, or the same
  (region, month, type) twice is an error, reported as *file, row, field: reason (value)*; a file
  with any error is refused whole (the storage writes all or nothing).
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

import pandas as pd

from veilig.geo.io import RowError

#: The default code table: CBS SoortMisdrijf code -> veilig category (see geo.categories).
DEFAULT_CODES: dict[str, str] = {
    "1.1.1": "woninginbraak",   # Diefstal/inbraak woning
    "1.1.2": "inbraak_schuur",  # Diefstal/inbraak box/garage/schuur
    "3.1.1": "drugs",           # Drugshandel
    "2.1.1": "drugs",           # Drugs/drankoverlast (the brief counts drug nuisance as drug crime)
    "3.7.4": "cybercrime",      # Cybercrime (the indicator "misdrijfcijfers digitale criminaliteit")
}
CODE_LABELS = {
    "1.1.1": "Diefstal/inbraak woning",
    "1.1.2": "Diefstal/inbraak box/garage/schuur",
    "3.1.1": "Drugshandel",
    "2.1.1": "Drugs/drankoverlast",
    "3.7.4": "Cybercrime",
}

_PERIOD = re.compile(r"^(\d{4})MM(\d{2})$")
_REGION = re.compile(r"^(BU(\d{4})\d{4}|WK(\d{4})\d{2}|GM(\d{4}))$")
_CODE = re.compile(r"^(\d+(?:\.\d+)*)")


@dataclass(frozen=True)
class PoliceColumns:
    region: str = "WijkenEnBuurten"
    period: str = "Perioden"
    crime_type: str = "SoortMisdrijf"
    count: str = "GeregistreerdeMisdrijven_1"


@dataclass
class PoliceRead:
    file: str
    n_rows: int = 0
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)  # region_code, level, year, month, cbs_code, category, count, row
    errors: list[RowError] = field(default_factory=list)
    other_municipality: int = 0
    other_type: int = 0

    @property
    def invalid_rows(self) -> int:
        return len({e.row for e in self.errors})


def read_code_table(text: str) -> dict[str, str]:
    """A code table CSV ``code,category`` (header required), e.g. ``1.1.1,woninginbraak``."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"code", "category"} <= {f.strip() for f in reader.fieldnames}:
        raise ValueError("codetabel: kolommen 'code' en 'category' nodig")
    table = {}
    for i, rec in enumerate(reader, start=1):
        code = (rec.get("code") or "").strip()
        cat = (rec.get("category") or "").strip()
        if not code or not cat:
            raise ValueError(f"codetabel, rij {i}: code en categorie zijn beide nodig")
        table[code] = cat
    return table


def _sniff_delimiter(head: str) -> str:
    # CBS StatLine exports use ';', the OData/CSV downloads ','.
    first = head.splitlines()[0] if head else ""
    return ";" if first.count(";") > first.count(",") else ","


def read_police_csv(text: str, file: str, *, municipality: str = "GM0637", known_buurten: set[str],
                    columns: PoliceColumns = PoliceColumns(), codes: dict[str, str] | None = None) -> PoliceRead:
    """Parse and check a police open-data CSV; nothing is stored here."""
    codes = DEFAULT_CODES if codes is None else codes
    gm = municipality[2:]
    known_wijken = {f"WK{c[2:8]}" for c in known_buurten}
    result = PoliceRead(file=file)
    text = text.lstrip("\ufeff")
    reader = csv.DictReader(io.StringIO(text), delimiter=_sniff_delimiter(text[:2000]))
    header = [h.strip() for h in (reader.fieldnames or [])]
    reader.fieldnames = header
    missing = [c for c in (columns.region, columns.period, columns.crime_type, columns.count) if c not in header]
    if missing:
        result.errors.append(RowError(file, 0, ",".join(missing),
                                      f"kolom ontbreekt; gevonden: {', '.join(header) or 'geen kop'}"))
        return result
    out: list[tuple] = []
    seen: dict[tuple, int] = {}
    for i, rec in enumerate(reader, start=1):
        result.n_rows += 1
        region = (rec.get(columns.region) or "").strip().upper()
        m = _REGION.match(region)
        if not m:
            result.errors.append(RowError(file, i, columns.region, "geen CBS-regiocode (BU..., WK... of GM...)", region))
            continue
        region_gm = m.group(2) or m.group(3) or m.group(4)
        if region_gm != gm:
            result.other_municipality += 1
            continue
        level = "buurt" if region.startswith("BU") else "wijk" if region.startswith("WK") else "gemeente"
        if level == "buurt" and region not in known_buurten:
            result.errors.append(RowError(file, i, columns.region, "buurtcode onbekend in de buurtindeling 2023", region))
            continue
        if level == "wijk" and region not in known_wijken:
            result.errors.append(RowError(file, i, columns.region, "wijkcode onbekend in de wijkindeling 2023", region))
            continue
        raw_type = (rec.get(columns.crime_type) or "").strip()
        cm = _CODE.match(raw_type)
        if not cm:
            result.errors.append(RowError(file, i, columns.crime_type, "geen code van een soort misdrijf", raw_type))
            continue
        code = cm.group(1)
        if code not in codes:
            result.other_type += 1
            continue
        period = (rec.get(columns.period) or "").strip().upper()
        pm = _PERIOD.match(period)
        if not pm or not 1 <= int(pm.group(2)) <= 12:
            result.errors.append(RowError(file, i, columns.period, "geen maand in de vorm JJJJMMnn (bijv. 2024MM01)", period))
            continue
        raw_count = (rec.get(columns.count) or "").strip()
        try:
            count = int(raw_count)
        except ValueError:
            result.errors.append(RowError(file, i, columns.count, "geen geheel aantal", raw_count))
            continue
        if count < 0:
            result.errors.append(RowError(file, i, columns.count, "aantal is negatief", raw_count))
            continue
        key = (region, int(pm.group(1)), int(pm.group(2)), code)
        if key in seen:
            result.errors.append(RowError(file, i, columns.period,
                                          f"dubbel: dezelfde regio, maand en soort als rij {seen[key]}", period))
            continue
        seen[key] = i
        out.append((region, level, key[1], key[2], code, codes[code], count, i))
    result.rows = pd.DataFrame(out, columns=["region_code", "level", "year", "month", "cbs_code", "category",
                                             "count", "row"])
    return result
