"""Text that reaches a map page: escaping for HTML and ``<script>``, and Dutch formatting.

Every value shown in a tooltip, label or panel goes through :func:`escape_html`; data embedded in
a ``<script>`` goes through :func:`json_for_script`. Counts, decimals and dates read as Dutch.
"""

from __future__ import annotations

import html as _html
import json
import math
from datetime import date, datetime

from veilig.geo.calendar_nl import MONTHS_NL

#: Counts below this are hidden from non-analysts (BRIEF section 6; ``VEILIG_SMALL_COUNT_THRESHOLD``).
DEFAULT_SMALL_COUNT_THRESHOLD = 5
HIDDEN_LABEL = "<5"


# ------------------------------------------------------------------------------- escaping


def escape_html(value: object) -> str:
    """Text -> HTML that shows it literally, in element content and in quoted attributes alike.

    Besides ``& < > " '`` it escapes the backtick, ``$`` and ``\\`` too: a value that ends up in a
    JavaScript template literal (as Folium's ``Tooltip`` and ``Popup`` write them) can then neither
    close the literal nor open a ``${...}`` substitution. The second slash of ``//`` is escaped
    as well, so no value can spell a URL (``https://...``) that the origin check would have to
    tell from the page's own.
    ``None`` and NaN become "".
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = _html.escape(str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;").replace("//", "/&#47;")


def json_for_script(obj: object) -> str:
    """JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>``, ``&`` and ``'`` become ``\\u`` escapes, so no value can close the script
    element or open a comment; U+2028/U+2029 are escaped for old JavaScript engines. NaN and
    infinities are refused (they are not JSON).
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


# ------------------------------------------------------------------- Dutch number formatting


def is_missing(value: object) -> bool:
    """None, NaN or pandas' NA."""
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN and pd.NA (NA != NA is NA -> bool raises)
    except TypeError:
        return True


def format_int(value: object) -> str:
    """``1234`` -> ``"1.234"``."""
    return f"{int(value):,}".replace(",", ".")


def format_decimal(value: float, decimals: int = 1) -> str:
    """``1234.5`` -> ``"1.234,5"`` (Dutch: dot for thousands, comma for decimals)."""
    text = f"{float(value):,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def format_count(value: object, hidden: str = HIDDEN_LABEL) -> str:
    """A count as shown to users: ``hidden`` (``"<5"``) when hidden (None), else Dutch thousands."""
    return hidden if is_missing(value) else format_int(value)


def hidden_label(threshold: int | None) -> str:
    """How a hidden count reads: ``"<5"`` for the default threshold."""
    return f"<{threshold or DEFAULT_SMALL_COUNT_THRESHOLD}"


def hide_small(value: object, threshold: int | None) -> object:
    """``value`` itself, or None when it is a count in ``1 .. threshold-1`` (zero reveals nobody)."""
    if threshold is None or is_missing(value):
        return value
    return None if 0 < float(value) < threshold else value


def format_date(value: date | datetime | str | None) -> str:
    """``date(2026, 3, 5)`` -> ``"5 maart 2026"``; None -> ``"-"``."""
    if value is None or is_missing(value):
        return "-"
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    return f"{value.day} {MONTHS_NL[value.month - 1]} {value.year}"
