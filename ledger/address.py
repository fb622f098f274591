"""Addresses of applications: Dutch postcodes, house numbers, the pilot's area, one key per address."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from .errors import RuleViolation

#: Zoetermeer's four-digit postcode areas (configurable per pilot).
ZOETERMEER_POSTCODES: tuple[tuple[int, int], ...] = ((2711, 2729),)


def ascii_text(text: object, rule: str, label: str) -> str:
    """NFKC-normalised text that must then be ASCII, or a refusal.

    NFKC folds compatibility forms (full-width ``２７１３ＡＢ`` -> ``2713AB``); digits of other scripts
    (Arabic-Indic ``٢٧١٣``, Bengali ``২৭১৩``) stay what they are and are refused, so one address can
    never be written in two ways that the uniqueness rule sees as two (Python's ``\\d`` and ``int``
    accept every script's digits).
    """
    folded = unicodedata.normalize("NFKC", str(text))
    if not folded.isascii():
        raise RuleViolation(rule, f"{label} {str(text)[:40]!r} bevat tekens buiten ASCII (gebruik de cijfers 0-9 en A-Z)")
    return folded


def normalise_postcode(text: str) -> str:
    """``"2711 ab"`` -> ``"2711AB"``; refuse anything that is not a full Dutch postcode."""
    pc = re.sub(r"\s+", "", ascii_text(text, "postcode_formaat", "postcode")).upper()
    if not re.fullmatch(r"[1-9][0-9]{3}[A-Z]{2}", pc):
        raise RuleViolation("postcode_formaat", f"postcode {text!r} is geen Nederlandse postcode (1234 AB)")
    return pc


def parse_postcode_ranges(text: str) -> tuple[tuple[int, int], ...]:
    """``"2711-2729,2730"`` -> ``((2711, 2729), (2730, 2730))``."""
    ranges = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d{4})(?:\s*-\s*(\d{4}))?", part)
        if not m:
            raise RuleViolation("postcodegebied", f"postcodegebied {part!r} is geen 1234 of 1234-1240")
        lo = int(m.group(1))
        hi = int(m.group(2) or lo)
        if hi < lo:
            raise RuleViolation("postcodegebied", f"postcodegebied {part!r} loopt achteruit")
        ranges.append((lo, hi))
    if not ranges:
        raise RuleViolation("postcodegebied", "het postcodegebied van de pilot is leeg")
    return tuple(ranges)


def format_postcode_ranges(ranges: Sequence[tuple[int, int]]) -> str:
    return ",".join(f"{lo}" if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)


def check_postcode_in_area(postcode: str, ranges: Sequence[tuple[int, int]] = ZOETERMEER_POSTCODES) -> str:
    """Return the normalised postcode when its four digits lie in ``ranges``; refuse otherwise."""
    pc = normalise_postcode(postcode)
    digits = int(pc[:4])
    if not any(lo <= digits <= hi for lo, hi in ranges):
        raise RuleViolation(
            "postcode_buiten_gebied",
            f"postcode {pc[:4]} {pc[4:]} ligt buiten het gebied van de pilot ({format_postcode_ranges(ranges)})",
        )
    return pc


def normalise_house_number(value: object) -> int:
    if isinstance(value, bool):
        raise RuleViolation("huisnummer", f"huisnummer {value!r} is geen getal")
    text = ascii_text(value, "huisnummer", "huisnummer").strip()
    if not re.fullmatch(r"[0-9]{1,6}", text):
        raise RuleViolation("huisnummer", f"huisnummer {str(value)[:20]!r} is geen getal")
    try:
        number = int(text)
    except ValueError:
        raise RuleViolation("huisnummer", f"huisnummer {value!r} is geen getal") from None
    if not 1 <= number <= 99999:
        raise RuleViolation("huisnummer", f"huisnummer {number} bestaat niet (1 tot 99999)")
    return number


def normalise_addition(value: str | None) -> str:
    """House number addition (``"a"``, ``"-2"``, ``" BIS"``) -> ``"A"``, ``"2"``, ``"BIS"``; ``""`` for none."""
    if value is None:
        return ""
    addition = re.sub(r"[\s\-/]+", "", ascii_text(value, "huisnummertoevoeging", "huisnummertoevoeging")).upper()
    if not re.fullmatch(r"[A-Z0-9]{0,6}", addition):
        raise RuleViolation("huisnummertoevoeging", f"huisnummertoevoeging {value!r} is ongeldig")
    return addition


def address_key(postcode: str, house_number: int, addition: str | None) -> str:
    """One key per address, the unit of 'one grant per address per pilot': ``"2711AB|12|A"``."""
    return f"{normalise_postcode(postcode)}|{normalise_house_number(house_number)}|{normalise_addition(addition)}"
