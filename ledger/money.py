"""Money as integer euro cents: parsing what people type, and showing it the Dutch way. No floats."""

from __future__ import annotations

import re

from .errors import RuleViolation

#: One euro cent short of absurd: no single amount in this pilot may exceed EUR 100 million.
MAX_AMOUNT_CENTS = 10_000_000_000

_EURO_MARK = re.compile(r"^\s*(?:€|eur\b|euro\b)\s*|\s*(?:€|eur|euro)\s*$", re.IGNORECASE)


def parse_amount_cents(text: str) -> int:
    """Parse an amount as typed on the command line into integer cents.

    A plain integer is cents (``"25000"`` -> 25000). A decimal separator, or a euro sign, means euros:
    ``"250,00"``, ``"250.00"``, ``"1.234,56"``, ``"€ 250"`` -> cents. Exactly one or two decimals;
    an ambiguous ``"1.234"`` is refused rather than guessed.
    """
    raw = str(text).strip()
    if not raw:
        raise RuleViolation("bedrag", "bedrag ontbreekt")
    stripped = _EURO_MARK.sub("", raw).strip()
    euros_meant = stripped != raw
    negative = stripped.startswith("-")
    if negative:
        stripped = stripped[1:].strip()
    if re.fullmatch(r"\d+", stripped):
        cents = int(stripped) * (100 if euros_meant else 1)
    else:
        m = re.fullmatch(r"(\d{1,3}(?:([.,])\d{3})*|\d+)([.,])(\d{1,2})", stripped)
        if not m or (m.group(2) and m.group(2) == m.group(3)):
            raise RuleViolation(
                "bedrag",
                f"bedrag {raw!r} is niet te lezen: geef centen (25000) of euro's met twee decimalen (250,00)",
            )
        whole = re.sub(r"[.,]", "", m.group(1))
        cents = int(whole) * 100 + int(m.group(4).ljust(2, "0"))
    return -cents if negative else cents


def format_euros(cents: int) -> str:
    """``123456`` -> ``"€ 1.234,56"`` (Dutch notation)."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}€ {whole:,}".replace(",", ".") + f",{rest:02d}"


def plain_euros(cents: int) -> str:
    """``123456`` -> ``"1234,56"``: for CSV columns that spreadsheets read as numbers."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(int(cents)), 100)
    return f"{sign}{whole},{rest:02d}"


def require_cents(name: str, value: object, *, minimum: int = 0, maximum: int = MAX_AMOUNT_CENTS) -> int:
    """Check that ``value`` is an integer number of cents in ``[minimum, maximum]``; return it."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleViolation(
            "bedrag_in_centen", f"{name} moet een geheel aantal eurocenten zijn, niet {value!r}"
        )
    if value < minimum:
        if value < 0:
            raise RuleViolation("bedrag_negatief", f"{name} mag niet negatief zijn ({value} cent)")
        raise RuleViolation("bedrag_te_laag", f"{name} moet minstens {minimum} cent zijn ({value} cent)")
    if value > maximum:
        raise RuleViolation(
            "bedrag_absurd",
            f"{name} van {format_euros(value)} is onwaarschijnlijk hoog (maximaal {format_euros(maximum)})",
        )
    return value
