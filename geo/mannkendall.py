"""Mann-Kendall trend test, vectorised over many series (one per space-time location).

``S = sum_{i<j} sign(x_j - x_i)``; under the null of no trend (independent, identically
distributed values) ``E[S] = 0`` and, with ties,
``Var(S) = (n(n-1)(2n+5) - sum_g t_g(t_g-1)(2t_g+5)) / 18`` over the groups of ``t_g`` tied
values (Kendall 1975; Hirsch and Slack 1984). The test statistic uses the continuity correction,
``z = (S - sign(S)) / sqrt(Var(S))``, two-sided ``p = 2 * sf(|z|)``, and Kendall's
``tau = S / (n(n-1)/2)`` (tau-a, as ``pymannkendall.original_test`` and R's ``Kendall`` report).

Series whose values are not independent under the null (the space-time Gi* z-scores of
neighbouring time steps share slices when the time window is > 0) get the variance of ``S``
for their known null correlation instead: :func:`s_variance_correlated`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from veilig.errors import VeiligError


@dataclass(frozen=True)
class MannKendall:
    """Mann-Kendall results per series (arrays of shape ``(m,)``).

    Attributes
    ----------
    s : ndarray of int64
        Kendall's S.
    var_s : ndarray of float
        The variance of S under the null (tie-corrected, or for the stated correlation).
    z : ndarray of float
        ``(S - sign(S)) / sqrt(var_s)``; 0 where ``var_s`` is 0 (a constant series).
    p : ndarray of float
        Two-sided p-value ``2 * sf(|z|)``; 1 for a constant series.
    tau : ndarray of float
        Kendall's tau-a, ``S / (n(n-1)/2)``.
    """

    s: np.ndarray
    var_s: np.ndarray
    z: np.ndarray
    p: np.ndarray
    tau: np.ndarray


def _as_series(x) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2:
        raise VeiligError(f"Mann-Kendall: series must be 1-D or 2-D (series x time), got shape {a.shape}")
    if not np.isfinite(a).all():
        raise VeiligError("Mann-Kendall: the series contain missing or infinite values")
    return a


def kendall_s(x) -> np.ndarray:
    """Kendall's S of each row of ``x`` (shape ``(m, n)`` or ``(n,)``). O(m n²) time, O(m n) memory."""
    a = _as_series(x)
    m, n = a.shape
    s = np.zeros(m, dtype=np.int64)
    for lag in range(1, n):  # n-1 vectorised steps instead of an (m, n, n) array
        s += np.sign(a[:, lag:] - a[:, :-lag]).astype(np.int64).sum(axis=1)
    return s


def tie_term(x) -> np.ndarray:
    """``sum_g t_g (t_g - 1)(2 t_g + 5)`` over the groups of tied values of each row. O(m n log n)."""
    a = np.sort(_as_series(x), axis=1)
    m, n = a.shape
    if n == 0:
        return np.zeros(m)
    # Group starts per row, then the group lengths from the flattened start positions.
    start = np.ones((m, n), dtype=bool)
    start[:, 1:] = a[:, 1:] != a[:, :-1]
    flat = np.flatnonzero(start.ravel())
    lengths = np.diff(np.r_[flat, m * n])
    rows = flat // n
    t = lengths.astype(np.float64)
    return np.bincount(rows, weights=t * (t - 1) * (2 * t + 5), minlength=m)


def s_variance(n: int, ties: np.ndarray | float = 0.0) -> np.ndarray:
    """The null variance of S for ``n`` values with the tie term of :func:`tie_term`."""
    return (n * (n - 1) * (2 * n + 5) - np.asarray(ties, dtype=np.float64)) / 18.0


def s_variance_correlated(corr) -> float:
    """The variance of S for a Gaussian series with correlation matrix ``corr`` (``n x n``).

    ``Var(S) = sum_{(i<j),(k<l)} E[sign(x_j - x_i) sign(x_l - x_k)]`` and, for jointly Gaussian
    differences, ``E[sign(A) sign(B)] = (2 / pi) arcsin(corr(A, B))``. For the identity matrix this
    is exactly ``n(n-1)(2n+5)/18``. Ties (which only lower the variance) are not counted, so the
    test is conservative for series with ties. O(n⁴) time, O(n⁴) memory: 36 steps take a few ms.

    References
    ----------
    Kendall, M. G. (1975), Rank Correlation Methods, 4th ed., Griffin (the sign covariance);
    Hamed, K. H. and Rao, A. R. (1998), "A modified Mann-Kendall trend test for autocorrelated
    data", Journal of Hydrology 204 (the idea of the correlated variance).
    """
    c = np.asarray(corr, dtype=np.float64)
    n = c.shape[0]
    if c.shape != (n, n):
        raise VeiligError(f"correlation matrix must be square, got {c.shape}")
    i, j = np.triu_indices(n, 1)
    if i.size == 0:
        return 0.0
    # cov(x_j - x_i, x_l - x_k) for every pair of pairs
    cov = c[j][:, j] - c[j][:, i] - c[i][:, j] + c[i][:, i]
    var = np.diag(cov).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        r = cov / np.sqrt(np.outer(var, var))
    r = np.clip(np.nan_to_num(r, nan=0.0), -1.0, 1.0)
    return float((2.0 / np.pi) * np.arcsin(r).sum())


def mann_kendall(x, var_s: np.ndarray | float | None = None) -> MannKendall:
    """Mann-Kendall test of every row of ``x`` (series x time steps, or one series).

    Parameters
    ----------
    x : array-like of shape (m, n) or (n,)
        The series, oldest value first.
    var_s : float or array of shape (m,), optional
        The null variance of S to use; default the classic one with the tie correction.

    Returns
    -------
    MannKendall

    Notes
    -----
    O(m n²) time and O(m n) memory: 3,853 series of 36 steps take a few milliseconds.
    """
    a = _as_series(x)
    m, n = a.shape
    s = kendall_s(a)
    v = s_variance(n, tie_term(a)) if var_s is None else np.broadcast_to(
        np.asarray(var_s, dtype=np.float64), (m,)).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(v > 0, (s - np.sign(s)) / np.sqrt(v), 0.0)
    z = np.where(np.isfinite(z), z, 0.0)
    p = np.where(v > 0, 2.0 * norm.sf(np.abs(z)), 1.0)
    pairs = n * (n - 1) / 2.0
    tau = s / pairs if pairs > 0 else np.zeros(m)
    return MannKendall(s=s, var_s=v, z=z, p=np.minimum(p, 1.0), tau=np.asarray(tau, dtype=np.float64))
