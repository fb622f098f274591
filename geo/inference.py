"""Shared inference for hotspot statistics: exact tail probabilities under a multinomial null.

The null every hotspot output states: the ``N`` incidents of the period fall independently on the
cells (grid cells, buurten, or space-time bins) with probabilities proportional to each cell's
exposure (its area inside the municipality, its dwellings, ...). The count in any fixed window of
cells (a Gi* neighbourhood: the cell and its neighbours) is then exactly
``Binomial(N, s)`` with ``s`` the window's share of the exposure, so the window count's tail
gives an exact p-value however small, with no Monte Carlo floor of ``1 / (simulations + 1)``.

The two-sided p is the exact binomial test's (``scipy.stats.binomtest``, R's ``binom.test``): the
probability of every count at most as likely as the observed one. Doubling the smaller tail, the
other textbook rule, is also valid but spends half the level on a tail that cannot occur at these
volumes: with ~7 incidents expected in a window, no count below the mean is as unlikely as a hot
count with ``P(X >= x) = 1e-5`` (even ``P(X = 0)`` is ~1e-3), so the exact two-sided p of a hot
window is its upper tail, half the doubled value. Both have ``P(p <= alpha) <= alpha`` under the
null (``tests/test_calibration.py`` enumerates every count). For a count above the mode of a
window with share <= 1/2 (every window of a city grid) the exact p is never the larger; below the
mode it can be somewhat larger (a low count is compared with the long upper tail), so coldspots
pay a little of what hotspots gain. Hotspots are what the product acts on, and the exact test is
the standard one, not a rule picked for this data.

This module is the one place the tail is computed; the Gi* grid, the buurt table, the emerging hot
spot analysis and the shift plan all use it. The interface below is stable: other analyses call it.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom

#: Relative tolerance for "at most as likely" (as scipy's and R's binomial tests).
_LIKELY_RTOL = 1e-7


def window_tail_pvalues(
    observed: np.ndarray, share: np.ndarray, n_total: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Exact one- and two-sided p-values of window counts under ``Binomial(n_total, share)``.

    Parameters
    ----------
    observed : array of int
        The observed count in each window.
    share : array of float in [0, 1]
        Each window's share of the exposure (the null probability that one incident lands in it).
        NaN marks a window that is not an observation; its p-values are NaN.
    n_total : int
        The number of incidents the null distributes (the period's total).

    Returns
    -------
    p_hot, p_cold, p_two : arrays of float
        ``P(X >= observed)``, ``P(X <= observed)`` and the exact two-sided p: ``P(f(X) <= f(observed))``
        with ``f`` the binomial probability mass (equal to ``scipy.stats.binomtest(...).pvalue``;
        at most ``min(1, 2 * p_hot)`` above the mode when ``share <= 1/2``). All three are valid and, the counts being
        discrete, conservative: under the null ``P(p <= alpha) <= alpha`` for every alpha.

    Notes
    -----
    The two-sided p adds to the observed tail the far tail beyond the last count as unlikely as the
    observed one; that count is found by integer bisection on the unimodal mass, vectorised:
    O(windows * log(mean + distance to the mode)) mass evaluations.
    """
    obs = np.asarray(observed, dtype=np.float64)
    s = np.asarray(share, dtype=np.float64)
    obs, s = np.broadcast_arrays(obs, s)
    valid = np.isfinite(s) & np.isfinite(obs)
    sc = np.clip(np.where(valid, s, 0.0), 0.0, 1.0)
    oc = np.where(valid, obs, 0.0)
    n = int(n_total)
    with np.errstate(all="ignore"):
        p_hot = np.where(oc <= 0, 1.0, binom.sf(oc - 1, n, sc))
        p_cold = binom.cdf(oc, n, sc)
        p_two = np.minimum(1.0, np.minimum(p_hot, p_cold) + _far_tail(oc, n, sc))
    nan = np.nan
    return (np.where(valid, p_hot, nan), np.where(valid, p_cold, nan), np.where(valid, p_two, nan))


def _bisect(lo: np.ndarray, hi: np.ndarray, ok, ok_is_low: bool) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised bisection on whole numbers until ``hi - lo <= 1`` everywhere.

    ``ok(k)`` is monotone on each ``[lo, hi]``: true at ``lo``'s end when ``ok_is_low`` (the answer
    is the largest ok ``k``), true at ``hi``'s end otherwise (the smallest ok ``k``).
    """
    while True:
        todo = hi - lo > 1
        if not todo.any():
            return lo, hi
        mid = np.floor((lo + hi) / 2)
        good = ok(mid)
        low_moves = good if ok_is_low else ~good
        lo = np.where(todo & low_moves, mid, lo)
        hi = np.where(todo & ~low_moves, mid, hi)


def _far_tail(x: np.ndarray, n: int, s: np.ndarray) -> np.ndarray:
    """Mass of the counts on the other side of the mode that are at most as likely as ``x``.

    For ``x`` above the mode: ``P(X <= k)`` with ``k`` the largest count below the mode with
    ``f(k) <= f(x)`` (0 when there is none); below the mode: ``P(X >= k)`` with ``k`` the smallest
    such count above it. At the mode (or where the smaller tail is already 1/2 or more) the result
    makes ``p_two`` 1.
    """
    mode = np.floor((n + 1) * s)
    mode = np.minimum(mode, n)
    level = binom.logpmf(x, n, s) + np.log1p(_LIKELY_RTOL)
    hot = x > mode
    cold = x < mode
    out = np.where(hot | cold, 0.0, 1.0)

    # Hot: f increases on [0, mode]; find the largest k in [0, mode) with f(k) <= level.
    h = np.flatnonzero(hot)
    if h.size:
        lo = np.full(h.size, -1.0)  # f(lo) <= level (lo = -1: no such count)
        hi = mode[h].copy()  # f(hi) > level
        sh = s[h]
        lv = level[h]
        lo, hi = _bisect(lo, hi, lambda k: binom.logpmf(k, n, sh) <= lv, ok_is_low=True)
        out[h] = np.where(lo >= 0, binom.cdf(lo, n, sh), 0.0)

    # Cold: f decreases on [mode, n]; find the smallest k in (mode, n] with f(k) <= level.
    c = np.flatnonzero(cold)
    if c.size:
        sc = s[c]
        lv = level[c]
        lo = mode[c].copy()  # f(lo) > level
        step = np.maximum(mode[c] - x[c], 1.0)
        hi = np.minimum(lo + step, n + 1.0)  # exponential search for an upper end with f <= level
        while True:
            grow = (hi <= n) & (binom.logpmf(hi, n, sc) > lv)
            if not grow.any():
                break
            lo = np.where(grow, hi, lo)
            step = np.where(grow, 2 * step, step)
            hi = np.where(grow, np.minimum(hi + step, n + 1.0), hi)
        # f(hi) <= level or hi = n + 1 (none)
        lo, hi = _bisect(lo, hi, lambda k: binom.logpmf(k, n, sc) <= lv, ok_is_low=False)
        out[c] = np.where(hi <= n, binom.sf(hi - 1, n, sc), 0.0)
    return out
