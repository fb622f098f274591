"""Gi*: the z-scores are esda's, the FDR correction and the classes are the hand-computed ones."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist
from scipy.stats import false_discovery_control, norm

from veilig.errors import VeiligError
from veilig.geo.gistar import benjamini_hochberg, gi_classes, gi_star, gi_star_grid, queen_weights
from veilig.geo.neighbourhoods import load_buurten

# esda and libpysal are declared dependencies, the reference here: imported plainly, so a
# missing one fails instead of skipping silently.
import esda.getisord as esda_getisord  # noqa: E402
import libpysal  # noqa: E402
from libpysal.weights.distance import DistanceBand  # noqa: E402

# esda's own example (esda/tests/test_getisord.py).
ESDA_POINTS = np.array([(10, 10), (20, 10), (40, 10), (15, 20), (30, 20), (30, 30)])
ESDA_Y = np.array([2, 3, 3.2, 5, 8, 7])


def esda_zs(y, w):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return esda_getisord.G_Local(np.asarray(y, dtype=float), w, transform="B", star=True, permutations=0).Zs


def grid_centres(ny, nx, cell):
    rows, cols = np.mgrid[0:ny, 0:nx]
    return np.column_stack([(cols.ravel() + 0.5) * cell, (rows.ravel() + 0.5) * cell])


def test_z_equals_esda_on_esdas_six_point_example():
    w = DistanceBand(ESDA_POINTS, threshold=15)
    ours = gi_star(ESDA_Y, w.sparse)
    np.testing.assert_allclose(ours.z, esda_zs(ESDA_Y, w), rtol=0, atol=1e-9)
    assert ours.z[0] == pytest.approx(-1.39727626, abs=1e-8)  # the value esda's test publishes


def test_grid_z_equals_esda_on_a_50x50_grid():
    rng = np.random.default_rng(0)
    counts = rng.poisson(1.5, (50, 50))
    counts[10:16, 20:27] += rng.poisson(6, (6, 7))  # a hot patch
    counts[35:40, 5:9] = 0  # and a cold one
    w = DistanceBand(grid_centres(50, 50, 100.0), threshold=300.0, silence_warnings=True)
    ours = gi_star_grid(counts, cell=100.0, band=300.0)
    np.testing.assert_allclose(ours.z.ravel(), esda_zs(counts.ravel(), w), rtol=0, atol=1e-9)
    assert ours.gi_class[12, 23] == 3


def test_grid_z_equals_esda_on_an_irregular_study_area():
    rng = np.random.default_rng(1)
    counts = rng.poisson(2.0, (50, 50))
    yy, xx = np.mgrid[0:50, 0:50]
    mask = (xx - 25) ** 2 + (yy - 25) ** 2 < 24**2
    mask[30:, 40:] = False
    idx = np.flatnonzero(mask.ravel())
    w = DistanceBand(grid_centres(50, 50, 1.0)[idx], threshold=3.0, silence_warnings=True)
    ours = gi_star_grid(counts, mask, cell=1.0, band=3.0)
    np.testing.assert_allclose(ours.z.ravel()[idx], esda_zs(counts.ravel()[idx], w), rtol=0, atol=1e-9)
    assert (ours.z[~mask] == 0).all() and np.isnan(ours.p[~mask]).all() and (ours.gi_class[~mask] == 0).all()


@settings(max_examples=60, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    cell=st.sampled_from([1.0, 2.5, 100.0]),
    band_cells=st.sampled_from([1.0, 1.5, 2.0, 2.9, 3.0, 4.5]),
    seed=st.integers(0, 2**32 - 1),
)
def test_grid_gi_star_equals_the_explicit_weights_computation(shape, cell, band_cells, seed):
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rng.uniform(0.2, 4.0), shape)
    mask = rng.random(shape) < 0.85
    band = band_cells * cell
    idx = np.flatnonzero(mask.ravel())
    centres = grid_centres(*shape, cell)[idx]
    W = sp.csr_matrix((cdist(centres, centres) <= band + 1e-9 * band).astype(float))
    ref = gi_star(counts.ravel()[idx], W)
    ours = gi_star_grid(counts, mask, cell=cell, band=band)
    np.testing.assert_allclose(ours.z.ravel()[idx], ref.z, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(ours.gi_class.ravel()[idx], ref.gi_class)
    np.testing.assert_array_equal(ours.n_neighbours.ravel()[idx], ref.n_neighbours)


def test_buurt_queen_contiguity_and_z_equal_libpysal_and_esda_on_the_real_buurten():
    buurten = load_buurten()
    graph = libpysal.graph.Graph.build_contiguity(buurten, rook=False)
    W = queen_weights(buurten.geometry.values)
    assert abs(W - graph.sparse).sum() == 0
    assert (np.asarray(W.sum(axis=1)).ravel() >= 1).all()  # no island
    counts = np.random.default_rng(4).poisson(20, len(buurten))
    np.testing.assert_allclose(gi_star(counts, W).z, esda_zs(counts, graph), rtol=0, atol=1e-9)


def test_fdr_and_classes_equal_a_hand_computation():
    p = np.array([0.0001, 0.01, 0.04, 0.03, 0.005, 0.20, 0.08])
    z = np.array([4.0, -2.6, 2.1, -2.2, 2.8, 1.3, -1.8])
    # Sorted: 0.0001 .005 .01 .03 .04 .08 .2; times 7/rank: .0007 .0175 .02333 .0525 .056 .09333 .2;
    # already monotone, so those are the adjusted values.
    q = benjamini_hochberg(p)
    np.testing.assert_allclose(q, [0.0007, 0.07 / 3, 0.056, 0.0525, 0.0175, 0.2, 0.56 / 6], rtol=1e-12)
    np.testing.assert_allclose(q, false_discovery_control(p, method="bh"), rtol=1e-12)
    # 99 % (q <= .01): 3; 95 %: 2; 90 %: 1; signed by z.
    np.testing.assert_array_equal(gi_classes(z, q), [3, -2, 1, -1, 2, 0, -1])
    # The monotone step: p = (.01, .012, .013) gives m*p/k = .03, .018, .013 -> .013 for all three.
    np.testing.assert_allclose(benjamini_hochberg([0.01, 0.012, 0.013]), [0.013] * 3, rtol=1e-12)


def test_p_values_are_two_sided_normal():
    w = DistanceBand(ESDA_POINTS, threshold=15)
    res = gi_star(ESDA_Y, w.sparse)
    np.testing.assert_allclose(res.p, 2 * norm.sf(np.abs(res.z)))


def test_no_variation_gives_zero_z_and_no_hotspots_not_a_crash():
    for values in (np.zeros((20, 20), dtype=int), np.full((20, 20), 3)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            res = gi_star_grid(values, cell=100.0, band=300.0)
        assert (res.z == 0).all() and (res.gi_class == 0).all() and (res.p == 1).all()
    one = gi_star_grid(np.array([[5]]), cell=100.0, band=300.0)
    assert one.z.shape == (1, 1) and one.gi_class[0, 0] == 0
    assert gi_star(np.zeros(0), sp.csr_matrix((0, 0))).z.size == 0


def test_bad_grid_input_is_refused_by_name():
    with pytest.raises(VeiligError, match="cell"):
        gi_star_grid(np.zeros((3, 3)), cell=0.0)
    with pytest.raises(VeiligError, match="band"):
        gi_star_grid(np.zeros((3, 3)), band=-1.0)
    with pytest.raises(VeiligError, match="missing or infinite"):
        gi_star(np.array([1.0, np.nan]), sp.eye(2))


# ------------------------------------------------------------------------------ exact inference

from scipy.stats import binom, binomtest  # noqa: E402

from veilig.geo.gistar import gi_star_exact, gi_star_grid_exact  # noqa: E402


def test_exact_grid_keeps_esdas_z_and_normal_p_as_gi_p_norm():
    rng = np.random.default_rng(0)
    counts = rng.poisson(1.5, (50, 50))
    counts[10:16, 20:27] += rng.poisson(6, (6, 7))
    w = DistanceBand(grid_centres(50, 50, 100.0), threshold=300.0, silence_warnings=True)
    share = np.full((50, 50), 1 / 2500)
    ours = gi_star_grid_exact(counts, share, cell=100.0, band=300.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda_getisord.G_Local(counts.ravel().astype(float), w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(ours.z.ravel(), ref.Zs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(ours.p_norm.ravel(), 2 * norm.sf(np.abs(ref.Zs)), rtol=1e-9, atol=1e-15)
    assert ours.gi_class[12, 23] == 3


@settings(max_examples=40, deadline=None)
@given(shape=st.tuples(st.integers(2, 10), st.integers(2, 10)), band_cells=st.sampled_from([1.0, 1.5, 2.0, 3.0]),
       seed=st.integers(0, 2**32 - 1))
def test_exact_grid_p_is_the_binomial_tail_of_the_window_count(shape, band_cells, seed):
    rng = np.random.default_rng(seed)
    mask = rng.random(shape) < 0.8
    mask.flat[0] = True
    weight = np.where(mask, rng.uniform(0.1, 2.0, shape), 0.0)
    share = weight / weight.sum()
    counts = np.where(mask, rng.poisson(rng.uniform(0.1, 3.0), shape), 0)
    res = gi_star_grid_exact(counts, share, mask, cell=1.0, band=band_cells)
    idx = np.flatnonzero(mask.ravel())
    centres = grid_centres(*shape, 1.0)[idx]
    W = cdist(centres, centres) <= band_cells + 1e-9
    obs = W @ counts.ravel()[idx]
    win = W @ share.ravel()[idx]
    n = int(counts[mask].sum())
    hot = np.where(obs > 0, binom.sf(obs - 1, n, np.clip(win, 0, 1)), 1.0)
    cold = binom.cdf(obs, n, np.clip(win, 0, 1))
    # The exact two-sided binomial test, window by window (scipy's own implementation).
    p = np.array([binomtest(int(k), n, float(s)).pvalue if n > 0 else 1.0
                  for k, s in zip(obs, np.clip(win, 0, 1))])
    np.testing.assert_allclose(res.p.ravel()[idx], p, rtol=1e-9, atol=1e-300)
    np.testing.assert_array_equal(res.observed.ravel()[idx], obs)
    np.testing.assert_allclose(res.expected.ravel()[idx], n * win, rtol=1e-9)
    np.testing.assert_allclose(res.p_fdr.ravel()[idx], benjamini_hochberg(p), rtol=1e-9, atol=1e-300)
    q = res.p_fdr.ravel()[idx]
    direction = np.where(hot <= cold, 1, -1)
    expected_cls = direction * ((q <= 0.1).astype(int) + (q <= 0.05) + (q <= 0.01))
    np.testing.assert_array_equal(res.gi_class.ravel()[idx], expected_cls)
    assert np.isnan(res.p[~mask]).all() and (res.gi_class[~mask] == 0).all()


def test_exact_buurt_gi_uses_the_exposure_share_of_each_window():
    buurten = load_buurten()
    W = queen_weights(buurten.geometry.values)
    area = buurten.geometry.area.to_numpy()
    counts = np.random.default_rng(4).poisson(20 * area / area.mean())
    res = gi_star_exact(counts, area / area.sum(), W)
    np.testing.assert_allclose(res.z, esda_zs(counts, libpysal.graph.Graph.build_contiguity(buurten, rook=False)),
                               atol=1e-9)
    # Counts in proportion to area: nothing should be significant; a buurt with ten times its share is.
    assert (res.gi_class == 0).all()
    counts[3] = int(10 * counts.sum() * area[3] / area.sum()) + 10
    assert gi_star_exact(counts, area / area.sum(), W).gi_class[3] == 3
