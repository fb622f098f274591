"""Whether a value meets its indicator's norm or rule.

Directions (see :data:`veilig.indicators.seed.DIRECTIONS`):

- ``lower``: met when value <= norm (e.g. burglaries at most 180 a year);
- ``higher``: met when value >= norm (e.g. a safety rating of at least 7.5);
- ``ge_previous``: met when value >= last year's realisation (more reports of undermining is the aim);
- ``gt``: met when value > threshold (a solution rate above 20 %).

A norm for ``lower``/``higher`` is a bound that counts as met when reached exactly, as the budget's
"norm 180" means "no more than 180".
"""

from __future__ import annotations

from dataclasses import dataclass

MET, NOT_MET, UNKNOWN = "gehaald", "niet gehaald", "onbekend"


@dataclass(frozen=True)
class Verdict:
    status: str  # MET, NOT_MET or UNKNOWN
    reason: str  # Dutch, for the page


def evaluate(value: float | None, *, direction: str, norm: float | None = None,
             threshold: float | None = None, previous: float | None = None) -> Verdict:
    """Judge ``value`` against the indicator's norm or rule."""
    if value is None:
        return Verdict(UNKNOWN, "geen realisatie")
    if direction in ("lower", "higher"):
        if norm is None:
            return Verdict(UNKNOWN, "geen norm")
        ok = value <= norm if direction == "lower" else value >= norm
        sign = "<=" if direction == "lower" else ">="
        return Verdict(MET if ok else NOT_MET, f"norm {sign} {_fmt(norm)}")
    if direction == "ge_previous":
        if previous is None:
            return Verdict(UNKNOWN, "geen waarde van vorig jaar")
        return Verdict(MET if value >= previous else NOT_MET, f">= vorig jaar ({_fmt(previous)})")
    if direction == "gt":
        if threshold is None:
            return Verdict(UNKNOWN, "geen drempel")
        return Verdict(MET if value > threshold else NOT_MET, f"> {_fmt(threshold)}")
    raise ValueError(f"unknown direction {direction!r}")


def evaluate_interval(low: float, high: float, *, direction: str, norm: float | None) -> Verdict:
    """Judge a projected interval against a ``lower``/``higher`` norm: met only when the whole
    interval is on the right side, not met when all of it is on the wrong side, else uncertain."""
    if norm is None or direction not in ("lower", "higher"):
        return Verdict(UNKNOWN, "geen norm")
    if direction == "lower":
        if high <= norm:
            return Verdict(MET, f"ook de bovengrens ligt onder de norm {_fmt(norm)}")
        if low > norm:
            return Verdict(NOT_MET, f"ook de ondergrens ligt boven de norm {_fmt(norm)}")
    else:
        if low >= norm:
            return Verdict(MET, f"ook de ondergrens haalt de norm {_fmt(norm)}")
        if high < norm:
            return Verdict(NOT_MET, f"ook de bovengrens blijft onder de norm {_fmt(norm)}")
    return Verdict(UNKNOWN, f"de norm {_fmt(norm)} ligt binnen het interval")


def _fmt(x: float) -> str:
    """Dutch number: decimal comma, no trailing zeros for whole numbers."""
    if float(x).is_integer():
        return f"{int(x)}"
    return f"{x:.2f}".rstrip("0").rstrip(".").replace(".", ",")


format_number = _fmt
