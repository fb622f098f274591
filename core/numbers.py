"""Numbers as a person in Zoetermeer reads them: decimal comma, dot between thousands (``1.234,5``).

Pure and dependency-free, so the geo layer can name numbers in its messages without importing
the terminal tables; :mod:`veilig.api.tables` formats its cells with it.
"""

from __future__ import annotations


def nl_number(value: float, decimals: int | None = None) -> str:
    """``value`` in Dutch notation: ``decimals`` fixed places (with thousands dots), or ``None`` for ``:g``."""
    text = f"{float(value):g}" if decimals is None else f"{float(value):,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")
