"""IBAN check (ISO 13616): country length and the mod-97 check digits."""

from __future__ import annotations

import re
import unicodedata

from .errors import RuleViolation

# Lengths of the SEPA countries a Zoetermeer resident is likely to bank in; others only pass mod-97.
IBAN_LENGTHS = {
    "NL": 18, "BE": 16, "DE": 22, "FR": 27, "LU": 20, "AT": 20, "ES": 24, "IT": 27, "PT": 25,
    "IE": 22, "GB": 22, "DK": 18, "FI": 18, "SE": 24, "NO": 15, "PL": 28, "CH": 21,
}


def normalise_iban(text: str) -> str:
    """Upper case, no spaces: ``"nl91 abna 0417 1643 00"`` -> ``"NL91ABNA0417164300"``.

    NFKC first (full-width characters fold to ASCII); whatever is then not ASCII (Arabic-Indic
    check digits, for instance) is refused by :func:`validate_iban`'s ASCII-only pattern.
    """
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text)))
    # Upper-casing non-ASCII could make ASCII out of it (dotless i -> I): only ASCII is upper-cased.
    return folded.upper() if folded.isascii() else folded


def iban_checksum_ok(iban: str) -> bool:
    """True when the mod-97 check of ISO 7064 gives 1."""
    rearranged = iban[4:] + iban[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


def validate_iban(text: str) -> str:
    """Return the normalised IBAN, or refuse naming what is wrong."""
    iban = normalise_iban(text)
    if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}", iban, flags=re.ASCII):
        raise RuleViolation("iban_formaat", f"IBAN {text!r} heeft niet de vorm van een IBAN (bijv. NL91ABNA0417164300)")
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        raise RuleViolation(
            "iban_lengte", f"IBAN {iban} heeft {len(iban)} tekens; een {iban[:2]}-IBAN heeft er {expected}"
        )
    if not iban_checksum_ok(iban):
        raise RuleViolation("iban_mod97", f"IBAN {iban} is ongeldig: het controlegetal (mod-97) klopt niet")
    return iban
