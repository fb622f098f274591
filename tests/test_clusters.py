"""Hotspot clusters: the grid DBSCAN is scikit-learn's DBSCAN, stays small on dense data,
and gives stable ids and sound polygons."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import DBSCAN

from veilig.errors import VeiligError
from veilig.geo import clusters as clusters_mod
from veilig.geo.clusters import GridDBSCAN, cluster_points, cluster_polygons, merge_duplicates

ZOETERMEER_BBOX = (88351.0, 449648.0, 98079.0, 456128.0)


def assert_same_as_sklearn(X, eps, min_samples, sample_weight=None):
    """Same noise, same core points, same partition of the core points; border points in a reachable cluster."""
    ours = GridDBSCAN(eps=eps, min_samples=min_samples).fit(X, sample_weight=sample_weight)
    ref = DBSCAN(eps=eps, min_samples=min_samples).fit(X, sample_weight=sample_weight)
    n = len(X)
    core_ours = np.zeros(n, bool)
    core_ours[ours.core_sample_indices_] = True
    core_ref = np.zeros(n, bool)
    core_ref[ref.core_sample_indices_] = True
    np.testing.assert_array_equal(core_ours, core_ref)
    np.testing.assert_array_equal(ours.labels_ == -1, ref.labels_ == -1)
    # Same clusters of core points up to renumbering: the label pairs form a bijection.
    a, b = ours.labels_[core_ref], ref.labels_[core_ref]
    pairs = set(zip(a.tolist(), b.tolist()))
    assert len(pairs) == len(set(a.tolist())) == len(set(b.tolist()))
    # A border point belongs to the cluster of some core point within eps.
    border = np.flatnonzero(~core_ref & (ref.labels_ >= 0))
    core_idx = np.flatnonzero(core_ref)
    for i in border:
        d = np.hypot(*(X[core_idx] - X[i]).T)
        assert ours.labels_[i] in set(ours.labels_[core_idx[d <= eps]].tolist())
    return ours, ref


def dense_points(rng, n):
    lo, hi = np.array(ZOETERMEER_BBOX[:2]), np.array(ZOETERMEER_BBOX[2:])
    centres = rng.uniform(lo, hi, (25, 2))
    k = int(n * 0.8)
    hot = centres[rng.integers(0, 25, k)] + rng.normal(0, 120, (k, 2))
    return np.round(np.vstack([hot, rng.uniform(lo, hi, (n - k, 2))]), 1)


def test_grid_dbscan_equals_sklearn_on_20000_dense_points():
    X = dense_points(np.random.default_rng(7), 20_000)
    ours, ref = assert_same_as_sklearn(X, eps=150.0, min_samples=5)
    assert len(set(ref.labels_)) > 10


def test_grid_dbscan_equals_sklearn_on_20000_sparse_points():
    rng = np.random.default_rng(8)
    lo, hi = np.array(ZOETERMEER_BBOX[:2]), np.array(ZOETERMEER_BBOX[2:])
    X = np.round(rng.uniform(lo, hi, (20_000, 2)), 1)
    ours, ref = assert_same_as_sklearn(X, eps=40.0, min_samples=4)
    # Sparse: many small clusters, much noise and many border points, so the comparison bites.
    assert len(set(ref.labels_)) > 100 and (ref.labels_ == -1).sum() > 1000


def test_grid_dbscan_equals_sklearn_with_duplicate_locations_and_weights():
    rng = np.random.default_rng(9)
    X = np.round(dense_points(rng, 5_000) / 25.0) * 25.0  # many incidents on the same spot
    assert merge_duplicates(X)[0].shape[0] < 4_000
    assert_same_as_sklearn(X, eps=60.0, min_samples=8)
    assert_same_as_sklearn(X, eps=60.0, min_samples=8, sample_weight=rng.integers(1, 4, len(X)).astype(float))
    assert_same_as_sklearn(X[:2000], eps=80.0, min_samples=3, sample_weight=rng.uniform(0.2, 2.0, 2000))


@settings(max_examples=60, deadline=None)
@given(
    pts=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=0, max_size=120),
    eps=st.integers(1, 25),
    min_samples=st.integers(1, 8),
)
def test_grid_dbscan_equals_sklearn_on_any_small_integer_point_set(pts, eps, min_samples):
    X = np.array(pts, dtype=float).reshape(-1, 2)
    if len(X) == 0:
        assert GridDBSCAN(eps, min_samples).fit(X).labels_.size == 0
        return
    # Integer coordinates put many pairs at exactly eps: the inclusive boundary must match too.
    assert_same_as_sklearn(X, float(eps), min_samples)


def test_dense_million_point_scale_stays_within_memory():
    # 400,000 incidents in 500 m x 500 m: scikit-learn's neighbour lists would hold about 4e10
    # entries (hundreds of GB); the grid DBSCAN keeps a few arrays of n.
    rng = np.random.default_rng(3)
    X = rng.uniform(0, 500, (400_000, 2)) + np.array([93000.0, 452500.0])
    tracemalloc.start()
    labels = cluster_points(X, eps=150.0, min_samples=5)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert set(labels.tolist()) == {0}
    assert peak < 400e6


def test_cluster_ids_are_stable_largest_first_whatever_the_input_order():
    rng = np.random.default_rng(11)
    X = dense_points(rng, 6_000)
    labels = cluster_points(X, eps=150.0, min_samples=5)
    sizes = np.bincount(labels[labels >= 0])
    assert (np.diff(sizes) <= 0).all()  # 0 is the largest
    perm = rng.permutation(len(X))
    again = cluster_points(X[perm], eps=150.0, min_samples=5)
    np.testing.assert_array_equal(again, labels[perm])


def test_polygons_cover_their_points_and_are_never_slivers_or_empty():
    rng = np.random.default_rng(5)
    line = np.column_stack([np.linspace(93000, 93600, 40), np.full(40, 452000.0)])  # collinear
    spot = np.full((12, 2), [95000.0, 453000.0])  # all on one spot
    blob = rng.normal([91000.0, 451000.0], 60, (300, 2))
    X = np.vstack([line, spot, blob])
    labels = cluster_points(X, eps=50.0, min_samples=5)
    assert labels.max() + 1 == 3 and (labels[:52] >= 0).all()
    polygons = cluster_polygons(X, labels, buffer_m=25.0)
    assert all(p.geom_type == "Polygon" and p.is_valid and not p.is_empty for p in polygons)
    for c, poly in enumerate(polygons):
        pts = shapely.points(X[labels == c])
        assert shapely.covers(poly, pts).all()
        # Never a sliver: at least the buffer's disk, and a compactness far from a line's.
        assert poly.area >= 0.95 * np.pi * 25.0**2
        assert poly.area / poly.length >= 0.4 * 25.0
    # The spot is a disk of the buffer radius.
    spot_cluster = labels[40]
    assert polygons[spot_cluster].area == pytest.approx(np.pi * 25.0**2, rel=0.02)


def test_hdbscan_finds_separated_groups_deterministically():
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal([92000, 452000], 40, (200, 2)), rng.normal([95000, 454000], 40, (150, 2)),
                   rng.uniform([88351, 449648], [98079, 456128], (30, 2))])
    labels = cluster_points(X, method="hdbscan", min_samples=10)
    assert labels.max() + 1 == 2
    assert (labels[:200] == 0).mean() > 0.9 and (labels[200:350] == 1).mean() > 0.9
    perm = rng.permutation(len(X))
    np.testing.assert_array_equal(cluster_points(X[perm], method="hdbscan", min_samples=10), labels[perm])


def test_hdbscan_refuses_more_points_than_it_can_handle(monkeypatch):
    monkeypatch.setattr(clusters_mod, "HDBSCAN_MAX_POINTS", 100)
    with pytest.raises(VeiligError, match="hdbscan"):
        cluster_points(np.random.default_rng(0).uniform(0, 1000, (101, 2)), method="hdbscan")


@pytest.mark.parametrize("method", ["dbscan", "hdbscan"])
def test_degenerate_inputs_give_empty_or_single_results_not_crashes(method):
    empty = cluster_points(np.zeros((0, 2)), method=method)
    assert empty.shape == (0,)
    few = cluster_points(np.array([[93000.0, 452000.0], [93010.0, 452000.0]]), method=method, min_samples=5)
    assert (few == -1).all()
    one_spot = cluster_points(np.full((20, 2), [93000.0, 452000.0]), method=method, min_samples=5)
    assert (one_spot == 0).all()
    assert cluster_polygons(np.zeros((0, 2)), np.zeros(0, dtype=int), 75.0).size == 0


def test_bad_parameters_and_coordinates_are_refused_by_name():
    X = np.zeros((3, 2))
    with pytest.raises(VeiligError, match="eps"):
        cluster_points(X, eps=0)
    with pytest.raises(VeiligError, match="min_samples"):
        cluster_points(X, min_samples=0)
    with pytest.raises(VeiligError, match="method"):
        cluster_points(X, method="kmeans")
    with pytest.raises(VeiligError, match="missing or infinite"):
        cluster_points(np.array([[0.0, np.nan]]))
