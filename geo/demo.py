"""Seeded generator of synthetic incidents over Zoetermeer's real buurten.

Real incident locations are confidential, so veilig ships this generator. It plants what an
analyst should be able to find again:

* **space**: per category a few hotspot centres (``PLANTED_CENTRES``, Gaussian with
  ``HOTSPOT_SIGMA_M``), on top of a background spread over the buurten (residential buurten
  weigh more than industrial estates and the rural fringe);
* **near repeats**: a quarter of the burglaries follow an earlier one within a few hundred metres
  and one to three weeks;
* **time**: burglary on dark winter evenings, youth nuisance on Friday and Saturday evenings,
  alcohol on weekend nights, events on summer weekends, neighbourhood reports in office hours;
* **volume**: at the default size (``DEFAULT_PER_YEAR`` a year) about 135 home burglaries and 45
  shed burglaries a year, of the order of Zoetermeer's registered figures.

Everything is labelled synthetic (source ``demo``, description "Synthetisch ...").
The output is a pure function of ``(seed, n, start, end)``.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import shapely

from .neighbourhoods import load_buurten
from .timeutil import TZ_NAME

DEFAULT_START = date(2023, 1, 1)
DEFAULT_END = date(2025, 12, 31)
DEFAULT_PER_YEAR = 5000
HOTSPOT_SIGMA_M = 90.0
DEMO_SOURCE = "demo"

#: Category shares of all incidents (the rest is 'overig').
SHARES: dict[str, float] = {
    "melding_wijkzorg": 0.35,
    "overlast_jeugd": 0.20,
    "alcohol": 0.10,
    "drugs": 0.08,
    "evenement": 0.05,
    "woninginbraak": 0.027,
    "inbraak_schuur": 0.009,
}

#: Planted hotspot centres (RD New metres), each inside the buurt named in the comment.
PLANTED_CENTRES: dict[str, list[tuple[float, float]]] = {
    "drugs": [(93494.0, 452949.0), (94543.0, 452508.0), (92449.0, 452208.0)],  # Stadscentrum, Palenstein, Meerzicht-Oost
    "woninginbraak": [(92498.0, 453664.0), (95478.0, 453562.0), (96916.0, 453148.0)],  # Buytenwegh, Seghwaert-NO, Oosterheem-NO
    "inbraak_schuur": [(93131.0, 450148.0), (96086.0, 454285.0)],  # Rokkeveen-Oost, Noordhove-Oost
    "overlast_jeugd": [(93494.0, 452949.0), (93639.0, 453994.0), (96674.0, 452041.0)],  # Stadscentrum, De Leyens, Oosterheem-ZW
    "alcohol": [(93494.0, 452949.0), (93868.0, 452197.0)],  # Stadscentrum, Dorp
    "evenement": [(93494.0, 452949.0), (89829.0, 452346.0)],  # Stadscentrum, Westerpark
    "melding_wijkzorg": [],
    "overig": [],
}

#: Share of a category's incidents drawn around its planted centres (the rest is background).
HOTSPOT_SHARE: dict[str, float] = {
    "drugs": 0.6, "woninginbraak": 0.35, "inbraak_schuur": 0.35, "overlast_jeugd": 0.5,
    "alcohol": 0.6, "evenement": 0.7, "melding_wijkzorg": 0.0, "overig": 0.0,
}

NEAR_REPEAT_SHARE = 0.25
NEAR_REPEAT_SIGMA_M = 120.0

# Background weight per buurt (by statcode prefix class): homes attract most incidents.
_LOW_WEIGHT = {"BU06370800": 0.4, "BU06370801": 0.4, "BU06370802": 0.4, "BU06370803": 0.4,
               "BU06370902": 0.2, "BU06370903": 0.2, "BU06370904": 0.1, "BU06370905": 0.1,
               "BU06370906": 0.1, "BU06370907": 0.2}

# Weekday weights, Monday first, applied to the "service day" (06:00 to 06:00 next day).
_WEEKDAY = {
    "overlast_jeugd": [1, 1, 1, 1.2, 3.5, 3.5, 1.2],
    "alcohol": [0.6, 0.6, 0.7, 1.0, 3.0, 3.5, 1.2],
    "evenement": [0.3, 0.3, 0.3, 0.5, 1.5, 3.0, 2.5],
    "melding_wijkzorg": [1.2, 1.2, 1.2, 1.2, 1.1, 0.5, 0.4],
}
# Month weights, January first.
_MONTH = {
    "woninginbraak": [1.6, 1.4, 1.0, 0.8, 0.7, 0.6, 0.7, 0.8, 0.9, 1.2, 1.6, 1.8],
    "inbraak_schuur": [1.4, 1.3, 1.0, 0.9, 0.8, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.5],
    "evenement": [0.3, 0.3, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0, 1.2, 0.6, 0.4, 0.8],
    "alcohol": [1.2, 0.9, 0.9, 1.0, 1.0, 1.1, 1.2, 1.2, 1.0, 0.9, 0.9, 1.3],
}


def _hour_weights(category: str) -> np.ndarray:
    """Weights over service-day hour offsets 6..29 (06:00 to 05:59 next day)."""
    h = np.arange(6, 30)
    w = np.ones(24)
    if category in ("woninginbraak", "inbraak_schuur"):
        w = np.where((h >= 17) & (h <= 21), 6.0, np.where((h >= 10) & (h <= 16), 1.5,
                     np.where(h <= 9, 0.7, np.where(h <= 25, 1.0, 0.5))))
    elif category == "overlast_jeugd":
        w = np.where((h >= 20) & (h <= 22), 7.0, np.where((h >= 16) & (h <= 19), 2.0,
                     np.where((h >= 23) & (h <= 25), 2.0, 0.3)))
    elif category == "alcohol":
        w = np.where((h >= 23) & (h <= 27), 6.0, np.where((h >= 18) & (h <= 22), 2.0, 0.3))
    elif category == "evenement":
        w = np.where((h >= 13) & (h <= 23), 4.0, 0.4)
    elif category == "drugs":
        w = np.where((h >= 19) & (h <= 25), 3.0, np.where(h >= 12, 1.0, 0.5))
    elif category == "melding_wijkzorg":
        w = np.where((h >= 8) & (h <= 17), 5.0, np.where(h <= 22, 1.0, 0.2))
    return w / w.sum()


def category_counts(n: int) -> dict[str, int]:
    """Exact, deterministic counts per category for ``n`` incidents."""
    counts = {c: int(np.floor(s * n)) for c, s in SHARES.items()}
    counts["overig"] = n - sum(counts.values())
    return counts


def _sample_in_union(rng, union, buurten, weights, n):
    """``n`` points uniformly inside buurten chosen with ``weights`` (rejection per buurt)."""
    xs = np.empty(n)
    ys = np.empty(n)
    which = rng.choice(len(buurten), size=n, p=weights)
    geoms = buurten.geometry.values
    for b in np.unique(which):
        idx = np.flatnonzero(which == b)
        poly = geoms[b]
        shapely.prepare(poly)
        minx, miny, maxx, maxy = poly.bounds
        filled = 0
        while filled < idx.size:
            k = (idx.size - filled) * 2 + 16
            px = rng.uniform(minx, maxx, k)
            py = rng.uniform(miny, maxy, k)
            inside = shapely.contains_xy(poly, px, py)
            px, py = px[inside], py[inside]
            take = min(px.size, idx.size - filled)
            xs[idx[filled:filled + take]] = px[:take]
            ys[idx[filled:filled + take]] = py[:take]
            filled += take
    return xs, ys


def _jitter_inside(rng, union, cx, cy, sigma):
    """Gaussian offsets around (cx, cy), redrawn until inside ``union`` (falls back to the centre)."""
    x = cx + rng.normal(0, sigma, cx.size)
    y = cy + rng.normal(0, sigma, cy.size)
    for _ in range(50):
        bad = ~shapely.contains_xy(union, x, y)
        if not bad.any():
            break
        x[bad] = cx[bad] + rng.normal(0, sigma, bad.sum())
        y[bad] = cy[bad] + rng.normal(0, sigma, bad.sum())
    bad = ~shapely.contains_xy(union, x, y)
    x[bad], y[bad] = cx[bad], cy[bad]
    return x, y


def _sample_times(rng, category: str, n: int, days: pd.DatetimeIndex) -> np.ndarray:
    """Naive local datetimes (numpy datetime64[s]) following the category's time pattern."""
    wd = np.asarray(_WEEKDAY.get(category, [1.0] * 7))[days.day_of_week]
    mo = np.asarray(_MONTH.get(category, [1.0] * 12))[days.month - 1]
    p = wd * mo
    day_idx = rng.choice(len(days), size=n, p=p / p.sum())
    offset_h = rng.choice(np.arange(6, 30), size=n, p=_hour_weights(category))
    minutes = rng.integers(0, 60, n)
    base = days.values.astype("datetime64[s]")[day_idx]
    return base + (offset_h * 3600 + minutes * 60).astype("timedelta64[s]")


def generate_incidents(
    seed: int, n: int, start: date | None = None, end: date | None = None
) -> pd.DataFrame:
    """Generate ``n`` synthetic incidents between ``start`` and ``end`` (inclusive local dates).

    Returns a DataFrame with ``id``, ``occurred_at`` (tz-aware, Europe/Amsterdam), ``category``,
    ``x``, ``y`` (RD New metres, 0.1 m), ``source`` and ``description``, sorted by time.
    Vectorised: a million incidents take a few seconds.
    """
    start = start or DEFAULT_START
    end = end or DEFAULT_END
    if n < 0 or n > 10_000_000:
        raise ValueError("n must be between 0 and 10,000,000")
    if end < start:
        raise ValueError(f"end {end} lies before start {start}")
    rng = np.random.default_rng(seed)
    buurten = load_buurten()
    union = shapely.union_all(buurten.geometry.values)
    shapely.prepare(union)
    area = buurten.geometry.area.to_numpy()
    bw = area * np.array([_LOW_WEIGHT.get(c, 1.0) for c in buurten["statcode"]])
    bw = bw / bw.sum()
    # Service days end one day early so 06:00 + 29 h stays within the period's last day.
    days = pd.date_range(start, end, freq="D")

    frames = []
    for category, count in category_counts(n).items():
        if count == 0:
            continue
        n_repeat = int(count * NEAR_REPEAT_SHARE) if category in ("woninginbraak", "inbraak_schuur") else 0
        n_base = count - n_repeat
        centres = PLANTED_CENTRES.get(category, [])
        n_hot = int(round(n_base * HOTSPOT_SHARE.get(category, 0.0))) if centres else 0
        x = np.empty(n_base)
        y = np.empty(n_base)
        if n_hot:
            c = np.asarray(centres)[rng.integers(0, len(centres), n_hot)]
            x[:n_hot], y[:n_hot] = _jitter_inside(rng, union, c[:, 0], c[:, 1], HOTSPOT_SIGMA_M)
        if n_base - n_hot:
            x[n_hot:], y[n_hot:] = _sample_in_union(rng, union, buurten, bw, n_base - n_hot)
        t = _sample_times(rng, category, n_base, days)
        if n_repeat:
            # Near repeats: a follow-up 1-21 days after an earlier burglary, a few hundred metres away,
            # at a similar time of day.
            parent = rng.integers(0, n_base, n_repeat)
            lag = rng.integers(1, 22, n_repeat) * 86400 + rng.integers(-7200, 7200, n_repeat)
            tr = t[parent] + lag.astype("timedelta64[s]")
            too_late = tr > np.datetime64(pd.Timestamp(end) + pd.Timedelta(hours=23, minutes=59))
            tr[too_late] = t[parent][too_late] - lag[too_late].astype("timedelta64[s]")
            xr, yr = _jitter_inside(rng, union, x[parent], y[parent], NEAR_REPEAT_SIGMA_M)
            x, y, t = np.concatenate([x, xr]), np.concatenate([y, yr]), np.concatenate([t, tr])
        frames.append(pd.DataFrame({"local": t, "category": category, "x": x, "y": y}))

    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(
        {"local": np.array([], "datetime64[s]"), "category": [], "x": [], "y": []})
    # Keep every time inside the period: clamp the few that the night offsets pushed past the end.
    lo = np.datetime64(pd.Timestamp(start))
    hi = np.datetime64(pd.Timestamp(end) + pd.Timedelta(hours=23, minutes=59))
    df["local"] = df["local"].clip(lower=pd.Timestamp(lo), upper=pd.Timestamp(hi))
    local = pd.DatetimeIndex(df["local"])
    # Ambiguous autumn hour: the first (summer-time) one; a spring-gap time moves forward.
    df["occurred_at"] = local.tz_localize(
        TZ_NAME, ambiguous=np.ones(len(df), dtype=bool), nonexistent="shift_forward"
    )
    df["x"] = df["x"].round(1)
    df["y"] = df["y"].round(1)
    # Rounding to 0.1 m can push a point that hugged an edge just outside; pull those inside.
    outside = np.flatnonzero(~shapely.contains_xy(union, df["x"].to_numpy(), df["y"].to_numpy()))
    if outside.size:
        inner = union.buffer(-1.0)
        pts = shapely.points(df["x"].to_numpy()[outside], df["y"].to_numpy()[outside])
        moved = shapely.shortest_line(pts, inner)
        ends = shapely.get_coordinates(shapely.get_point(moved, 1))
        df.loc[outside, "x"] = np.round(ends[:, 0], 1)
        df.loc[outside, "y"] = np.round(ends[:, 1], 1)
    df = df.sort_values(["occurred_at", "category", "x", "y"], kind="mergesort").reset_index(drop=True)
    df["id"] = [f"DEMO-{i:07d}" for i in range(1, len(df) + 1)]
    df["source"] = DEMO_SOURCE
    from .categories import LABELS_NL

    df["description"] = "Synthetisch incident (demo): " + df["category"].map(LABELS_NL)
    return df[["id", "occurred_at", "category", "x", "y", "source", "description"]]


def default_demo_size(start: date, end: date) -> int:
    """Incidents for a period at Zoetermeer-like yearly volumes (``DEFAULT_PER_YEAR`` a year)."""
    return int(round(DEFAULT_PER_YEAR * ((end - start).days + 1) / 365.25))
