"""Mann-Kendall: S, its tie-corrected variance, z and p equal a brute-force reference (ties included),
pymannkendall as a peer, and the variance for correlated series."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import norm

from veilig.geo.mannkendall import kendall_s, mann_kendall, s_variance, s_variance_correlated, tie_term


def brute_force(x):
    """The textbook definition, one pair at a time."""
    n = len(x)
    s = 0
    for i in range(n):
        for j in range(i + 1, n):
            s += int(x[j] > x[i]) - int(x[j] < x[i])
    ties = sum(t * (t - 1) * (2 * t + 5) for t in Counter(float(v) for v in x).values())
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18
    if var > 0:
        z = (s - 1) / math.sqrt(var) if s > 0 else (s + 1) / math.sqrt(var) if s < 0 else 0.0
        p = 2 * norm.sf(abs(z))
    else:
        z, p = 0.0, 1.0
    return s, var, z, p, s / (n * (n - 1) / 2)


@pytest.mark.parametrize("n", [2, 3, 5, 10, 24, 36])
def test_equal_to_brute_force_on_random_series_with_ties(n):
    rng = np.random.default_rng(n)
    series = [rng.integers(0, 4, size=n) for _ in range(40)] + [rng.normal(size=n).round(1) for _ in range(40)]
    res = mann_kendall(np.vstack(series))
    for k, x in enumerate(series):
        s, var, z, p, tau = brute_force(list(x))
        assert res.s[k] == s
        assert res.var_s[k] == pytest.approx(var, rel=1e-12, abs=1e-12)
        assert res.z[k] == pytest.approx(z, rel=1e-12, abs=1e-12)
        assert res.p[k] == pytest.approx(p, rel=1e-12, abs=1e-12)
        assert res.tau[k] == pytest.approx(tau, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=-3, max_value=3), min_size=2, max_size=30))
def test_brute_force_equality_and_symmetry(values):
    x = np.array(values, dtype=float)
    res = mann_kendall(x)
    s, var, z, p, _ = brute_force(values)
    assert res.s[0] == s and res.var_s[0] == pytest.approx(var) and res.p[0] == pytest.approx(p)
    # Reversing time reverses the trend; the p-value is the same.
    rev = mann_kendall(x[::-1])
    assert rev.s[0] == -s and rev.p[0] == pytest.approx(res.p[0])


def test_constant_series_has_no_trend():
    res = mann_kendall(np.zeros((2, 12)))
    assert (res.s == 0).all() and (res.var_s == 0).all() and (res.p == 1).all() and (res.z == 0).all()


def test_equal_to_pymannkendall():
    from helpers import require

    try:
        import pymannkendall as mk
    except ImportError:
        mk = None
    require(mk is not None, "pymannkendall (the test-only peer, in the test extra) is not installed")
    rng = np.random.default_rng(7)
    for n in (5, 12, 36):
        for _ in range(20):
            x = rng.integers(0, 6, size=n).astype(float) + np.arange(n) * rng.choice([0, 0.1])
            ours = mann_kendall(x)
            peer = mk.original_test(x)
            assert ours.s[0] == peer.s
            assert ours.var_s[0] == pytest.approx(peer.var_s)
            assert ours.z[0] == pytest.approx(peer.z)
            assert ours.p[0] == pytest.approx(peer.p)
            assert ours.tau[0] == pytest.approx(peer.Tau)


def test_tie_term_counts_each_group():
    # groups: 1 x3, 2 x2, 5 x1 -> 3*2*11 + 2*1*9 = 66 + 18
    assert tie_term([1, 2, 1, 5, 2, 1])[0] == 84
    assert kendall_s([1, 2, 3])[0] == 3


def test_correlated_variance_of_independent_series_is_the_classic_one():
    for n in (3, 10, 36):
        assert s_variance_correlated(np.eye(n)) == pytest.approx(float(s_variance(n)), rel=1e-12)


def test_correlated_variance_matches_simulation_of_a_moving_sum():
    """Moving sums of two independent steps (the z series of a time window of 1) are correlated
    0.5 at lag 1; the variance of S for that correlation matches a simulation (20,000 series)."""
    rng = np.random.default_rng(3)
    n = 12
    e = rng.normal(size=(20_000, n + 1))
    x = (e[:, 1:] + e[:, :-1]) / math.sqrt(2)
    corr = np.eye(n) + 0.5 * (np.eye(n, k=1) + np.eye(n, k=-1))
    var = s_variance_correlated(corr)
    sim = kendall_s(x).var()
    assert var > float(s_variance(n)) * 1.2  # the classic variance would be far too small
    assert sim == pytest.approx(var, rel=0.04)
