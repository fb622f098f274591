"""Reading the CBS table *postcode-huisnummer-buurt* (CSV: postcode, house number, buurt code). Pure:
text in, rows out; a malformed row is refused by line number so nothing is half-imported."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

from .address import normalise_house_number, normalise_postcode
from .errors import RuleViolation

_POSTCODE_COLS = ("postcode", "pc6", "pc")
_NUMBER_COLS = ("huisnummer", "house_number", "huisnr", "hnr", "nummer")
_BUURT_PREFIXES = ("buurt", "bu_code", "statcode", "buurtcode")


def normalise_buurt_code(text: str) -> str:
    """``"BU06370101"``, ``"06370101"`` or ``"6370101"`` -> ``"BU06370101"``."""
    code = str(text).strip().upper()
    if code.startswith("BU"):
        code = code[2:]
    if not re.fullmatch(r"\d{1,8}", code):
        raise ValueError(f"buurtcode {text!r} is geen CBS-buurtcode")
    return "BU" + code.zfill(8)


def _pick(header: list[str], names: Iterable[str], prefix: bool = False) -> int:
    lowered = [h.strip().lower() for h in header]
    for i, h in enumerate(lowered):
        if any(h == n or (prefix and h.startswith(n)) for n in names):
            return i
    raise RuleViolation("postcodetabel_kolommen", f"kolom {'/'.join(names)} ontbreekt in de kop {header}")


def parse_postcode_table(text: str) -> list[tuple[str, int, str]]:
    """Rows ``(postcode, house_number, buurt statcode)`` from CSV text (``,`` or ``;`` separated, header
    row with postcode/PC6, huisnummer and a buurt column such as Buurt2023). Duplicates keep the last."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise RuleViolation("postcodetabel_leeg", "de postcodetabel is leeg") from None
    header[0] = header[0].lstrip("\ufeff")
    i_pc, i_nr = _pick(header, _POSTCODE_COLS), _pick(header, _NUMBER_COLS)
    i_bu = _pick(header, _BUURT_PREFIXES, prefix=True)
    rows: dict[tuple[str, int], str] = {}
    for line_no, rec in enumerate(reader, start=2):
        if not rec or all(not c.strip() for c in rec):
            continue
        try:
            pc = normalise_postcode(rec[i_pc])
            nr = normalise_house_number(rec[i_nr])
            bu = normalise_buurt_code(rec[i_bu])
        except (RuleViolation, ValueError, IndexError) as exc:
            raise RuleViolation("postcodetabel_rij", f"postcodetabel regel {line_no}: {exc}") from None
        rows[(pc, nr)] = bu
    return [(pc, nr, bu) for (pc, nr), bu in rows.items()]
