"""What a non-analyst receives of the near-repeat outputs: the Knox table, alert zones, outreach.

Pure. The rules of :mod:`veilig.geo.privacy`, applied to pairs, zones and grants:

* **Knox table**: a cell counts *pairs* of burglaries. A pair's record key is the sum of its two
  incidents' record keys (mod 2**32), so a cell's key is the sum over its pairs, as for any cell
  (:func:`knox_cell_keys`); the observed pair counts are perturbed with it and hidden below the
  threshold. Every row and column of ``expected`` sums to that row's or column's observed pairs
  (the permutation moves dates, not locations, and keeps the multiset of day differences), so
  ``expected`` is published only when no cell is hidden, rounded to 0.5; the ratio is the
  published count over that; the p-value is given as the smallest of 0.001, 0.01, 0.05, 0.1, 1
  it does not exceed (a tail probability at full precision places the count); the number of
  events and pairs never (n (n - 1) / 2 minus the visible cells is the hidden one).
* **Alert zones**: drawn as the 100 m cells they cover (never a disc around an address); the
  burglaries of a zone perturbed with the zone's cell key (the sum of its burglaries' record
  keys: the same zone gives the same value on every date it is active) and hidden below the
  threshold.
* **Outreach**: grants reserved and paid per (zone, postcode) perturbed with the cell keys of
  the applications (record key of ``grant-<id>``) and hidden below the threshold; the amounts
  scaled to the published count (the mean grant there, times the published count; rounded to
  10 euro) and hidden with it. No totals.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from .cellkey import KEY_MOD, perturb
from .suppress import hide_small_counts

#: The p-value ladder a non-analyst sees (p <= level).
P_LADDER = (0.001, 0.01, 0.05, 0.1, 1.0)
#: Published amounts of the outreach list are rounded to this many cents (10 euro).
AMOUNT_STEP_CENTS = 1000


def _uint_sum_to_key(sums: np.ndarray) -> np.ndarray:
    return (np.asarray(sums, dtype=np.uint64) % np.uint64(KEY_MOD)).astype(np.float64) / KEY_MOD


def knox_cell_keys(x: np.ndarray, y: np.ndarray, day: np.ndarray, keys: np.ndarray,
                   bands) -> tuple[np.ndarray, np.ndarray]:
    """Cell key and pair count of every Knox cell, from the events and their record keys.

    Parameters
    ----------
    x, y : arrays of float
        Event locations (metres).
    day : array of int
        Local day number of each event.
    keys : array of uint64
        Record key of each event (:func:`veilig.geo.privacy.record_keys`).
    bands : veilig.geo.nearrepeat.KnoxBands
        The bands (their own band rules are used).

    Returns
    -------
    (cell_keys, counts) : arrays of shape ``bands.shape``
        ``counts`` is an independent count of the observed pairs (a KD-tree over the pairs within
        the largest band; the *more than* row by complement per column), which the caller checks
        against the Knox test's own.

    Notes
    -----
    O(n log n + p) for p pairs within the largest band; memory O(n + p).
    """
    from scipy.spatial import cKDTree

    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    day = np.asarray(day, dtype=np.int64)
    keys = np.asarray(keys, dtype=np.uint64)
    n = x.size
    rows, cols = bands.shape
    near_keys = np.zeros((rows - 1, cols), dtype=np.uint64)
    near_counts = np.zeros((rows - 1, cols), dtype=np.int64)
    if n >= 2:
        pairs = cKDTree(np.column_stack([x, y])).query_pairs(bands.max_distance * (1 + 1e-9) + 1e-6,
                                                             output_type="ndarray")
        i, j = pairs[:, 0], pairs[:, 1]
        d2 = (x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2
        r = bands.spatial_index_sq(d2)
        inside = r <= rows - 2
        i, j, r = i[inside], j[inside], r[inside]
        c = bands.temporal_index(np.abs(day[i] - day[j]))
        flat = r * cols + c
        size = (rows - 1) * cols
        pair = keys[i] + keys[j]  # < 2**33
        # Exact sums by bincount: 17-bit halves summed in float64 stay below 2**53 for up to
        # 2**36 pairs, and bincount is far faster than np.add.at.
        lo = np.bincount(flat, weights=(pair & np.uint64(0xFFFF)).astype(np.float64), minlength=size)
        hi = np.bincount(flat, weights=(pair >> np.uint64(16)).astype(np.float64), minlength=size)
        sums = lo.astype(np.uint64) + (hi.astype(np.uint64) << np.uint64(16))
        near_keys = sums.reshape(rows - 1, cols)
        near_counts = np.bincount(flat, minlength=size).astype(np.int64).reshape(rows - 1, cols)

    # Per column, over all pairs: sum_i k_i * (the number of others at a day difference in the
    # column); the near columns' lags from the band rule, the last column the rest.
    col_keys = np.zeros(cols, dtype=np.uint64)
    col_counts = np.zeros(cols, dtype=np.int64)
    if n >= 2:
        d0 = day.min()
        h = np.bincount(day - d0)
        cum = np.concatenate([[0], np.cumsum(h)])

        def between(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
            """Events with a day number in [lo, hi] (relative days, clipped)."""
            lo = np.clip(lo, 0, h.size)
            hi = np.clip(hi + 1, 0, h.size)
            return cum[np.maximum(hi, lo)] - cum[lo]

        rel = day - d0
        lut = bands.temporal_lut()
        seen = np.zeros(n, dtype=np.int64)
        for col in range(cols - 1):
            lags = np.flatnonzero(lut == col)
            if not lags.size:
                continue
            lo, hi = int(lags.min()), int(lags.max())
            if lo == 0:
                m = between(rel - hi, rel + hi) - 1
            else:
                m = between(rel + lo, rel + hi) + between(rel - hi, rel - lo)
            seen += m
            col_keys[col] = np.sum(keys * m.astype(np.uint64), dtype=np.uint64)
            col_counts[col] = int(m.sum()) // 2
        rest = (n - 1) - seen
        col_keys[cols - 1] = np.sum(keys * rest.astype(np.uint64), dtype=np.uint64)
        col_counts[cols - 1] = int(rest.sum()) // 2
    far_keys = col_keys - near_keys.sum(axis=0, dtype=np.uint64)  # wraps mod 2**64: harmless
    far_counts = col_counts - near_counts.sum(axis=0)
    all_keys = np.vstack([near_keys, far_keys[None, :]])
    counts = np.vstack([near_counts, far_counts[None, :]])
    return _uint_sum_to_key(all_keys), counts


def _ladder(p: float | None) -> float | None:
    if p is None or not np.isfinite(p):
        return None
    return next(level for level in P_LADDER if p <= level)


def public_knox(result, cell_keys: np.ndarray, threshold: int, alpha: float = 0.05) -> dict:
    """The Knox result as a non-analyst may see it, in the form of :meth:`KnoxResult.to_dict`.

    ``cell_keys`` from :func:`knox_cell_keys` for the same events. Each row carries
    ``suppressed``; ``n_events`` and ``n_pairs`` are None; the summary is written from the
    published table (so it quotes no figure the table does not give), and left out when a cell
    is hidden (without the ratios it would read "no pattern").
    """
    from veilig.geo.nearrepeat import summary_nl

    published = np.array(perturb(result.observed, cell_keys, threshold), dtype=object)
    hidden = np.array([[v is None for v in row] for row in published], dtype=bool)
    pub = np.where(hidden, np.nan, published).astype(np.float64)
    any_hidden = bool(hidden.any())
    expected = np.full(result.expected.shape, np.nan) if any_hidden else np.round(result.expected * 2) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, np.round(pub / expected, 2), np.nan)
    p = np.array([[np.nan if h else _ladder(float(v)) for v, h in zip(pr, hr, strict=True)]
                  for pr, hr in zip(result.p_value, hidden, strict=True)], dtype=np.float64)
    shown = dataclasses.replace(result, observed=np.nan_to_num(pub).astype(np.int64), expected=expected,
                                knox_ratio=ratio, p_value=np.where(np.isnan(p), 1.0, p))
    payload = shown.to_dict(alpha)
    for rec, h, e, rt, pv, ob in zip(payload["rows"], hidden.ravel(), expected.ravel(), ratio.ravel(),
                                     p.ravel(), pub.ravel(), strict=True):
        rec.update(suppressed=bool(h), observed=None if h else int(ob),
                   expected=None if not np.isfinite(e) else float(e),
                   knox_ratio=None if not np.isfinite(rt) else float(rt),
                   p_value=None if not np.isfinite(pv) else float(pv))
    payload.update(n_events=None, n_pairs=None, first_date=None, last_date=None,
                   summary=None if any_hidden else summary_nl(shown, alpha), suppressed_below=threshold)
    return payload


def public_zones(zones, threshold: int):
    """Alert zones as a non-analyst sees them: the 100 m cells they cover, the burglaries per zone
    perturbed with the zone's ``cell_key`` and hidden below ``threshold``."""
    import geopandas as gpd

    from veilig.geo.nearrepeat_zones import zone_cells

    if "cell_key" not in zones.columns:
        raise ValueError("the zones carry no cell keys: load the burglaries with record keys "
                         "(veilig.geo.privacy.with_record_keys)")
    shown = hide_small_counts(zone_cells(zones), threshold)
    return gpd.GeoDataFrame(shown, geometry="geometry", crs=zones.crs)


def public_outreach(table: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """The outreach list with grant counts perturbed (cell keys ``reserved_key``, ``paid_key``)
    and hidden below ``threshold``, the amounts scaled to the published counts and hidden with them."""
    if len(table) and not {"reserved_key", "paid_key"} <= set(table.columns):
        raise ValueError("the outreach list carries no cell keys: give the grants record keys")
    out = table.drop(columns=[c for c in ("reserved_key", "paid_key") if c in table.columns]).copy()
    for count_col, key_col, cents_col in (("grants_reserved", "reserved_key", "reserved_cents"),
                                          ("grants_paid", "paid_key", "paid_cents")):
        if not len(table):
            continue
        n = table[count_col].to_numpy(dtype=np.int64)
        pub = perturb(n, table[key_col].to_numpy(dtype=np.float64), threshold)
        cents = table[cents_col].to_numpy(dtype=np.float64)
        scaled = []
        for k, v, c in zip(n, pub, cents, strict=True):
            if v is None:
                scaled.append(None)
            elif k == 0:
                scaled.append(0)
            else:
                scaled.append(int(round(c / k * v / AMOUNT_STEP_CENTS) * AMOUNT_STEP_CENTS))
        out[count_col] = pd.Series(pub, index=out.index, dtype=object)
        out[cents_col] = pd.Series(scaled, index=out.index, dtype=object)
    return out
