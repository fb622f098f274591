"""Shared inference for hotspot statistics: exact tail probabilities under a multinomial null.

The null every hotspot output states: the ``N`` incidents of the period fall independently on the
cells (grid cells, buurten, or space-time bins) with probabilities proportional to each cell's
exposure (its area inside the municipality, its dwellings, ...). The count in any fixed window of
cells (a Gi* neighbourhood: the cell and its neighbours) is then exactly
``Binomial(N, s)`` with ``s`` the window's share of the exposure, so the window count's tail
gives an exact p-value however small, with no Monte Carlo floor of ``1 / (simulations + 1)``.

This module is the one place the tail is computed; the Gi* grid, the buurt table, the emerging hot
spot analysis and the shift plan all use it. The interface below is stable: other analyses call it.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import binom


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
        ``P(X >= observed)``, ``P(X <= observed)`` and ``min(1, 2 * min(p_hot, p_cold))``.
        Discrete tails are conservative: under the null ``P(p <= alpha) <= alpha`` for every alpha.
    """
    obs = np.asarray(observed, dtype=np.float64)
    s = np.asarray(share, dtype=np.float64)
    valid = np.isfinite(s) & np.isfinite(obs)
    sc = np.clip(np.where(valid, s, 0.0), 0.0, 1.0)
    oc = np.where(valid, obs, 0.0)
    with np.errstate(all="ignore"):
        p_hot = np.where(oc <= 0, 1.0, binom.sf(oc - 1, n_total, sc))
        p_cold = binom.cdf(oc, n_total, sc)
    p_two = np.minimum(1.0, 2.0 * np.minimum(p_hot, p_cold))
    nan = np.nan
    return (np.where(valid, p_hot, nan), np.where(valid, p_cold, nan), np.where(valid, p_two, nan))
