"""Offline SVG charts, rendered on the server: no script, no third party, readable when printed.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>`` (what a screen reader
announces); the figures themselves are in the data table the page puts next to it. All text is
escaped (markupsafe), so a label can never become markup. A missing value (``None``, e.g. a
count hidden by the disclosure layer) breaks the line instead of being drawn as zero.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

_ids = itertools.count(1)

#: Colour-blind-safe palette (Okabe-Ito), all >= 3:1 against white for graphical objects.
PALETTE = ("#0b5cad", "#b35900", "#1d6b34", "#8a3b9e", "#555b61")
NORM_COLOUR = "#b3261e"


@dataclass(frozen=True)
class Line:
    label: str
    values: dict[float, float | None]  # x -> y
    colour: str | None = None
    dashed: bool = False
    step: bool = False  # draw as a step function (cumulative ledger totals)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(value))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= m * exp:
            return m * exp
    return 10 * exp


def _fmt(v: float) -> str:
    if float(v).is_integer():
        return f"{int(v):,}".replace(",", ".")
    return f"{v:.1f}".replace(".", ",")


def line_chart(
    lines: Sequence[Line],
    *,
    title: str,
    desc: str,
    x_ticks: Sequence[tuple[float, str]],
    y_min: float | None = None,
    y_max: float | None = None,
    y_format: Callable[[float], str] = _fmt,
    vlines: Sequence[tuple[float, str]] = (),
    width: int = 560,
    height: int = 240,
) -> Markup:
    """A line chart with a legend; ``vlines`` are labelled vertical markers (e.g. the pilot's end)."""
    uid = next(_ids)
    left, right, top, bottom = 52, 16, 14, 34 + 18 * math.ceil(len(lines) / 2)
    pw, ph = width - left - right, height - top - bottom
    xs = [x for x, _ in x_ticks] + [x for ln in lines for x in ln.values] + [x for x, _ in vlines]
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x1 == x0:
        x0, x1 = x0 - 0.5, x1 + 0.5
    ys = [v for ln in lines for v in ln.values.values() if v is not None]
    lo = y_min if y_min is not None else min([0.0, *ys])
    hi = y_max if y_max is not None else _nice_max(max(ys) * 1.08 if ys else 1.0)
    if hi <= lo:
        hi = lo + 1

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + ph - (y - lo) / (hi - lo) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
           f'width="100%" preserveAspectRatio="xMidYMid meet" aria-labelledby="c{uid}t c{uid}d">',
           f'<title id="c{uid}t">{escape(title)}</title><desc id="c{uid}d">{escape(desc)}</desc>']
    # grid and y axis labels
    for i in range(5):
        yv = lo + (hi - lo) * i / 4
        y = py(yv)
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#d5d8dc" stroke-width="1"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#3b4046">'
                   f'{escape(y_format(yv))}</text>')
    for x, label in x_ticks:
        # Labels at the very ends are anchored inwards so they are not cut off.
        anchor = "start" if px(x) - left < 30 and len(label) > 4 else "end" if left + pw - px(x) < 30 and len(label) > 4 else "middle"
        out.append(f'<text x="{px(x):.1f}" y="{top + ph + 16}" text-anchor="{anchor}" font-size="11" '
                   f'fill="#3b4046">{escape(label)}</text>')
    out.append(f'<line x1="{left}" x2="{left + pw}" y1="{top + ph}" y2="{top + ph}" stroke="#767676"/>')
    for x, label in vlines:
        out.append(f'<line x1="{px(x):.1f}" x2="{px(x):.1f}" y1="{top}" y2="{top + ph}" stroke="#3b4046" '
                   f'stroke-dasharray="2 3"/>')
        out.append(f'<text x="{px(x) - 4:.1f}" y="{top + 10}" text-anchor="end" font-size="11" fill="#1f2328">'
                   f'{escape(label)}</text>')
    for i, ln in enumerate(lines):
        colour = ln.colour or PALETTE[i % len(PALETTE)]
        dash = ' stroke-dasharray="6 4"' if ln.dashed else ""
        for segment in _segments(sorted(ln.values.items())):
            pts = []
            for j, (x, y) in enumerate(segment):
                if ln.step and j:
                    pts.append(f"{px(x):.1f},{py(segment[j - 1][1]):.1f}")
                pts.append(f"{px(x):.1f},{py(y):.1f}")
            if len(segment) > 1:
                out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5"{dash} points="{" ".join(pts)}"/>')
            if not ln.step:
                for x, y in segment:
                    out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{colour}"/>')
    # legend
    for i, ln in enumerate(lines):
        colour = ln.colour or PALETTE[i % len(PALETTE)]
        lx = left + (i % 2) * (pw / 2)
        ly = top + ph + 32 + 18 * (i // 2)
        dash = ' stroke-dasharray="6 4"' if ln.dashed else ""
        out.append(f'<line x1="{lx:.1f}" x2="{lx + 22:.1f}" y1="{ly - 4}" y2="{ly - 4}" stroke="{colour}" '
                   f'stroke-width="2.5"{dash}/>')
        out.append(f'<text x="{lx + 28:.1f}" y="{ly}" font-size="12" fill="#1f2328">{escape(ln.label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))


def _segments(points: list[tuple[float, float | None]]) -> list[list[tuple[float, float]]]:
    segs: list[list[tuple[float, float]]] = [[]]
    for x, y in points:
        if y is None:
            if segs[-1]:
                segs.append([])
            continue
        segs[-1].append((x, y))
    return [s for s in segs if s]


def sparkline(values: dict[int, int | None], *, title: str, y_max: float, width: int = 150,
              height: int = 54) -> Markup:
    """A small-multiple panel: the yearly series of one buurt on a shared scale ``y_max``."""
    uid = next(_ids)
    pad_l, pad_r, pad_t, pad_b = 4, 4, 6, 14
    years = sorted(values)
    pw, ph = width - pad_l - pad_r, height - pad_t - pad_b
    hi = y_max if y_max > 0 else 1.0

    def px(i: int) -> float:
        return pad_l + (i / max(len(years) - 1, 1)) * pw

    def py(v: float) -> float:
        return pad_t + ph - v / hi * ph

    shown = ", ".join(f"{y}: {'verborgen' if values[y] is None else values[y]}" for y in years)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" role="img" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" aria-labelledby="s{uid}t">',
           f'<title id="s{uid}t">{escape(title)}: {escape(shown)}</title>',
           f'<line x1="{pad_l}" x2="{pad_l + pw}" y1="{pad_t + ph}" y2="{pad_t + ph}" stroke="#767676"/>']
    points = [(i, values[y]) for i, y in enumerate(years)]
    for seg in _segments(points):  # type: ignore[arg-type]
        pts = " ".join(f"{px(int(i)):.1f},{py(v):.1f}" for i, v in seg)
        if len(seg) > 1:
            out.append(f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="2" points="{pts}"/>')
        for i, v in seg:
            out.append(f'<circle cx="{px(int(i)):.1f}" cy="{py(v):.1f}" r="2.5" fill="{PALETTE[0]}"/>')
    for i, y in enumerate(years):
        if values[y] is None:  # a hidden count: an open marker on the axis, not a zero
            out.append(f'<circle cx="{px(i):.1f}" cy="{pad_t + ph}" r="3" fill="#fff" stroke="#555b61"/>')
    if years:
        out.append(f'<text x="{pad_l}" y="{height - 2}" font-size="10" fill="#3b4046">{years[0]}</text>')
        out.append(f'<text x="{pad_l + pw}" y="{height - 2}" font-size="10" text-anchor="end" fill="#3b4046">'
                   f'{years[-1]}</text>')
    out.append("</svg>")
    return Markup("".join(out))
