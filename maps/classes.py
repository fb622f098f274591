"""Choropleth classes and the legend: palettes, quantile classes with Dutch labels, legend HTML."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .text import escape_html, format_decimal, format_int, is_missing

# ------------------------------------------------------------------------------- classes

#: ColorBrewer YlOrRd, light to dark (sequential: counts, rates, euros).
SEQUENTIAL = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
#: Greys, light to dark: a neutral background choropleth under the red/blue Gi* classes.
SEQUENTIAL_GREY = ("#f7f7f7", "#d9d9d9", "#bdbdbd", "#969696", "#737373", "#525252")
#: Blues, light to dark (grants and euros next to the burglary colours).
SEQUENTIAL_BLUE = ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c")
HIDDEN_COLOR = "#c8c8c8"
#: Hidden (<5) on a grey choropleth: sand, so it is not read as one of the grey classes.
HIDDEN_COLOR_ON_GREY = "#e3cf9a"
NO_DATA_COLOR = "#f4f4f4"


@dataclass(frozen=True)
class Classes:
    """A choropleth classification: per value its class (-1 when missing), colours and labels."""

    index: np.ndarray
    colors: tuple[str, ...]
    labels: tuple[str, ...]


def classify(values: Sequence, k: int = 5, *, integer: bool = True, decimals: int = 1,
             palette: Sequence[str] = SEQUENTIAL, fmt=None) -> Classes:
    """Quantile classes (at most ``k``, fewer when the values are few or tied), Dutch labels.

    A class's label is the range of the values in it. Zero gets a class of its own when there
    are zeros and positive values (it then counts as one of the ``k``), so no class spans the
    hidden counts 1-4. ``fmt`` formats a bound (default: Dutch integer or decimal). Missing
    values get class -1.
    """
    vals = np.array([np.nan if is_missing(v) else float(v) for v in values], dtype="float64")
    ok = np.isfinite(vals)
    index = np.full(vals.shape, -1, dtype=np.int64)
    if not ok.any():
        return Classes(index, (), ())
    if fmt is None:
        fmt = format_int if integer else (lambda v: format_decimal(v, decimals))
    finite = vals[ok]
    # Zero is a class of its own when it sits beside positive values: a quantile class "0 – 5"
    # would claim to hold the hidden counts 1-4 (and "none" reads differently from "few").
    zero = finite == 0
    zero_class = bool(zero.any() and (finite > 0).any() and (finite >= 0).all())
    rest = finite[~zero] if zero_class else finite
    k_rest = max(k - 1, 1) if zero_class else k
    uppers = np.quantile(rest, np.linspace(0, 1, k_rest + 1)[1:])
    uppers = np.ceil(uppers) if integer else np.round(uppers, decimals)
    uppers = np.unique(uppers)
    uppers[-1] = max(uppers[-1], rest.max())
    raw = np.searchsorted(uppers, finite, side="left")
    if zero_class:
        raw = np.where(zero, 0, raw + 1)
    used, index[ok] = np.unique(raw, return_inverse=True)  # drop classes nothing falls in
    n = len(used)
    # Spread the colours over the palette, so two classes are light and dark, not two light ones.
    pick = np.rint(np.linspace(0, len(palette) - 1, n)).astype(int) if n > 1 else np.array([len(palette) // 2])
    colors = tuple(palette[i] for i in pick)
    # Label each class with the range of the values in it: honest where hidden counts or ties
    # leave gaps between classes ("5 – 7" rather than "1 – 7" when 1-4 are hidden).
    labels = []
    for i in range(n):
        members = finite[index[ok] == i]
        low, high = float(members.min()), float(members.max())
        labels.append(fmt(high) if low == high else f"{fmt(low)} – {fmt(high)}")
    return Classes(index, colors, tuple(labels))


# ------------------------------------------------------------------------------- legend


@dataclass(frozen=True)
class LegendItem:
    """One legend row: a swatch (``fill``, ``line`` or ``dot``) in a colour, and its label."""

    color: str
    label: str
    kind: str = "fill"


def legend_html(sections: Sequence[tuple[str, Sequence[LegendItem]]], note: str | None = None) -> str:
    """A Dutch legend: one titled table per layer, an optional note under it (all escaped)."""
    parts = ['<h2>Legenda</h2>']
    for heading, items in sections:
        if not items:
            continue
        parts.append(f"<p><b>{escape_html(heading)}</b></p><table>")
        for item in items:
            color = _safe_color(item.color)
            if item.kind == "line":
                sw = f'<span class="veilig-swatch-line" style="border-color:{color}"></span>'
            elif item.kind == "dot":
                sw = f'<span class="veilig-swatch-dot" style="background:{color}"></span>'
            else:
                sw = f'<span class="veilig-swatch" style="background:{color}"></span>'
            parts.append(f"<tr><td>{sw}</td><td>{escape_html(item.label)}</td></tr>")
        parts.append("</table>")
    if note:
        parts.append(f'<p class="veilig-source">{escape_html(note)}</p>')
    return "".join(parts)


_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{3,8}$")


def _safe_color(color: str) -> str:
    if not _COLOR_RE.match(color):
        raise ValueError(f"not a hex colour: {color!r}")
    return color
