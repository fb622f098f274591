"""Density clusters of incident points in RD New metres: an exact, memory-safe DBSCAN, HDBSCAN, and hotspot polygons.

scikit-learn's DBSCAN stores every point's neighbour list; for 1,000,000 incidents inside Zoetermeer
(about 37 km²) that is tens of GB. :class:`GridDBSCAN` gives the same clustering with memory linear in
the number of points, by merging identical locations (sample weights) and working on a grid of
cells whose diagonal is ``eps``.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from veilig.errors import VeiligError
from veilig.numbers import nl_number

#: Clustering methods offered to users.
METHODS: tuple[str, ...] = ("dbscan", "hdbscan")

#: HDBSCAN (scikit-learn) builds a minimum spanning tree in O(n²) time; beyond this many points it is refused.
HDBSCAN_MAX_POINTS = 50_000

#: Concavity of the hotspot outline: 0 follows the points tightly, 1 is the convex hull.
CONCAVE_RATIO = 0.3

# Offsets (in cells) of every cell that can hold a point within eps of a point in the centre cell:
# with cells of side eps/sqrt(2) (a hair less), that is the 5x5 block, corners included.
_BLOCK = np.array([(dx, dy) for dx in range(-2, 3) for dy in range(-2, 3)], dtype=np.int64)
# Half of the block (one of each +/- pair, without the centre) for undirected cell pairs.
_HALF = np.array([(dx, dy) for dx, dy in _BLOCK if dx > 0 or (dx == 0 and dy > 0)], dtype=np.int64)

# Query budget (neighbour-list entries) per chunk when weighted neighbour sums are needed.
_CHUNK_ENTRIES = 4_000_000


def as_points(X) -> np.ndarray:
    """``X`` as a C-contiguous float64 array of shape (n, 2); refuse anything else or non-finite values."""
    P = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    if P.ndim != 2 or P.shape[1] != 2:
        raise VeiligError(f"points must have shape (n, 2), got {P.shape}")
    if not np.isfinite(P).all():
        raise VeiligError("points contain missing or infinite coordinates")
    return P


def merge_duplicates(
    X: np.ndarray, sample_weight: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge identical locations.

    Parameters
    ----------
    X : ndarray of shape (n, 2)
        Coordinates.
    sample_weight : ndarray of shape (n,), optional
        Weight of each point; defaults to 1.

    Returns
    -------
    locations : ndarray of shape (m, 2)
        The distinct locations, sorted by x, then y.
    weights : ndarray of shape (m,)
        Summed weight per location.
    inverse : ndarray of shape (n,)
        ``locations[inverse] == X``.

    Notes
    -----
    O(n log n) time (one lexsort), O(n) memory.
    """
    n = X.shape[0]
    w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
    if n == 0:
        return X.reshape(0, 2), w[:0], np.zeros(0, dtype=np.intp)
    order = np.lexsort((X[:, 1], X[:, 0]))
    xs = X[order]
    new = np.ones(n, dtype=bool)
    new[1:] = (xs[1:, 0] != xs[:-1, 0]) | (xs[1:, 1] != xs[:-1, 1])
    starts = np.flatnonzero(new)
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return xs[starts], np.add.reduceat(w[order], starts), inverse


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Concatenate ``arange(s, s + l)`` for every (s, l), vectorised."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(lengths)
    offs = np.repeat(ends - lengths, lengths)
    return np.repeat(np.asarray(starts, dtype=np.int64), lengths) + (np.arange(total) - offs)


def _cells_near(cell_keys: np.ndarray, marked: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per cell (``cell_keys`` sorted): is a marked cell at one of the key ``offsets``? O(cells * offsets * log)."""
    targets = cell_keys[marked]
    out = np.zeros(cell_keys.size, dtype=bool)
    if targets.size == 0:
        return out
    for off in offsets:
        probe = cell_keys + off
        pos = np.searchsorted(targets, probe).clip(max=targets.size - 1)
        out |= targets[pos] == probe
    return out


def _tree_query_within(tree: cKDTree, Q: np.ndarray, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Nearest tree point within ``eps`` (inclusive) of each row of ``Q``: (found mask, index)."""
    if Q.shape[0] == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=np.intp)
    # cKDTree's distance_upper_bound is strict; the next float up makes it inclusive like DBSCAN's eps.
    d, j = tree.query(Q, k=1, distance_upper_bound=float(np.nextafter(eps, np.inf)), workers=-1)
    found = d <= eps
    return found, j


class GridDBSCAN:
    """Exact DBSCAN on planar points, with memory linear in the number of points.

    Same definition as :class:`sklearn.cluster.DBSCAN` with the Euclidean metric: a point is a core
    point when the summed weight of the points within ``eps`` (itself included) reaches
    ``min_samples``; core points within ``eps`` of each other share a cluster; a non-core point
    within ``eps`` of a core point joins that point's cluster (the nearest one, where several
    clusters reach it; scikit-learn picks the one it happens to visit first); all others are noise.

    Parameters
    ----------
    eps : float, default=150.0
        Neighbourhood radius in the units of the coordinates (RD New metres).
    min_samples : int, default=5
        Minimum summed weight of a neighbourhood for a core point, the point itself included.

    Attributes
    ----------
    labels_ : ndarray of shape (n,)
        Cluster per point, -1 for noise. The numbering is deterministic but arbitrary; see
        :func:`cluster_points` for the stable, size-ordered numbering.
    core_sample_indices_ : ndarray
        Indices of the core points.
    n_locations_ : int
        Number of distinct locations after merging identical points.

    Notes
    -----
    Identical locations are merged into one weighted point first. The plane is cut into square
    cells of side ``eps / sqrt(2)``, so any two points in one cell are within ``eps``:

    - every point of a cell whose total weight reaches ``min_samples`` is a core point without
      looking at its neighbours; only points in lighter cells have their neighbours counted
      (a k-d tree over the points of their 5x5 cell block);
    - core points in one cell are in one cluster, so clusters are the connected components of a
      graph over cells with core points. Two such cells are linked when some pair of their core
      points is within ``eps``; this is first tried with one representative point per cell pair
      and settled exactly (all candidate points, a k-d tree keyed by cell) only for pairs that are
      not yet connected through other cells.

    Time is O(n log n) for the sort and the k-d trees, plus, in the worst case, work proportional
    to the points of light cells times their neighbours. Memory is O(n): no neighbour list is kept.
    With ``eps`` = 150 m, 1,000,000 points take a few seconds and a few hundred MB, where
    scikit-learn's neighbour lists would need tens of GB.

    Ties at exactly ``eps`` follow floating-point distances, as in scikit-learn; the two may
    differ on a pair at exactly ``eps`` up to rounding.

    References
    ----------
    Ester, Kriegel, Sander and Xu (1996), "A density-based algorithm for discovering clusters in
    large spatial databases with noise", KDD-96.
    Gunawan (2013), "A faster algorithm for DBSCAN", master's thesis, TU Eindhoven (the grid).
    """

    def __init__(self, eps: float = 150.0, min_samples: int = 5) -> None:
        self.eps = eps
        self.min_samples = min_samples

    def _validate_params(self) -> None:
        if not (isinstance(self.eps, (int, float)) and math.isfinite(self.eps) and self.eps > 0):
            raise VeiligError(f"eps moet een positief aantal meters zijn, niet {self.eps!r}")
        if isinstance(self.min_samples, bool) or not isinstance(self.min_samples, (int, np.integer)) \
                or self.min_samples < 1:
            raise VeiligError(f"min_samples moet een geheel getal van minstens 1 zijn, niet {self.min_samples!r}")

    def fit(self, X, y=None, sample_weight=None) -> GridDBSCAN:
        """Cluster ``X`` (n, 2); ``sample_weight`` (n,) non-negative weights, default 1. Returns self."""
        self._validate_params()
        P = as_points(X)
        if sample_weight is not None:
            sample_weight = np.asarray(sample_weight, dtype=np.float64)
            if sample_weight.shape != (P.shape[0],) or not np.isfinite(sample_weight).all() \
                    or (sample_weight < 0).any():
                raise VeiligError("sample_weight must hold one finite, non-negative weight per point")
        locations, weights, inverse = merge_duplicates(P, sample_weight)
        labels, core = _grid_dbscan(locations, weights, float(self.eps), float(self.min_samples))
        self.n_locations_ = int(locations.shape[0])
        self.labels_ = labels[inverse]
        self.core_sample_indices_ = np.flatnonzero(core[inverse])
        return self

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Cluster ``X`` and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_


def _grid_dbscan(P: np.ndarray, w: np.ndarray, eps: float, min_samples: float) -> tuple[np.ndarray, np.ndarray]:
    """DBSCAN on distinct, weighted locations: (labels, core mask)."""
    m = P.shape[0]
    labels = np.full(m, -1, dtype=np.int64)
    if m == 0:
        return labels, np.zeros(0, dtype=bool)

    # Cells of side a hair under eps/sqrt(2): the diagonal stays <= eps despite rounding of floor().
    side = eps / math.sqrt(2.0) * (1.0 - 1e-12)
    x0, y0 = P[:, 0].min(), P[:, 1].min()
    ix = np.floor((P[:, 0] - x0) / side).astype(np.int64) + 2
    iy = np.floor((P[:, 1] - y0) / side).astype(np.int64) + 2
    span = int(iy.max()) + 3  # a key offset by (dx, dy) in [-2, 2] stays unique and non-negative
    key = ix * span + iy
    cell_keys, cell_of = np.unique(key, return_inverse=True)
    cell_of = cell_of.ravel()
    block_keys = _BLOCK[:, 0] * span + _BLOCK[:, 1]

    # 1. Core points. A cell heavy enough is all core; points of light cells count their neighbours.
    cell_w = np.bincount(cell_of, weights=w, minlength=cell_keys.size)
    core = cell_w[cell_of] >= min_samples
    cand = np.flatnonzero(~core)
    if cand.size:
        near = np.flatnonzero(_cells_near(cell_keys, cell_w < min_samples, block_keys)[cell_of])
        wn = w[near]
        if np.all(wn == np.round(wn)) and wn.sum() <= 4 * max(m, 1_000_000):
            # Whole weights (merged duplicates): count over the locations repeated by weight.
            tree = cKDTree(np.repeat(P[near], wn.astype(np.int64), axis=0))
            sums = tree.query_ball_point(P[cand], eps, return_length=True, workers=-1).astype(np.float64)
        else:
            tree = cKDTree(P[near])
            lengths = tree.query_ball_point(P[cand], eps, return_length=True, workers=-1)
            sums = np.empty(cand.size)
            cum = np.cumsum(lengths)
            inner = np.searchsorted(cum, np.arange(_CHUNK_ENTRIES, cum[-1], _CHUNK_ENTRIES))
            cuts = np.unique(np.concatenate(([0], inner, [cand.size])))
            for a, b in zip(cuts[:-1], cuts[1:]):
                hits = tree.query_ball_point(P[cand[a:b]], eps)
                sums[a:b] = [wn[h].sum() for h in hits]
        core[cand] = sums >= min_samples

    core_idx = np.flatnonzero(core)
    if core_idx.size == 0:
        return labels, core

    # 2. Cells with core points, and the core points grouped by cell.
    order = core_idx[np.argsort(cell_of[core_idx], kind="stable")]
    ocell = cell_of[order]
    ccells, starts, sizes = np.unique(ocell, return_index=True, return_counts=True)
    n_cc = ccells.size
    cc_num = np.full(cell_keys.size, -1, dtype=np.int64)
    cc_num[ccells] = np.arange(n_cc)
    cc_keys = cell_keys[ccells]  # sorted
    group = cc_num[ocell]  # core-cell number of each point in ``order``
    cx = ix[order]
    cy = iy[order]
    px = P[order, 0]
    py = P[order, 1]

    # A k-d tree over the core points with a third coordinate that separates cells by far more
    # than eps: a query keyed to cell b only ever finds points of cell b, at their exact distance.
    sep = float(math.ceil(4.0 * eps) + 1.0)
    tree3 = cKDTree(np.column_stack([px, py, group * sep]))

    pairs_a, pairs_b, pairs_d = [], [], []
    for d, (dx, dy) in enumerate(_HALF):
        target = cc_keys + dx * span + dy
        pos = np.searchsorted(cc_keys, target).clip(0, n_cc - 1)
        has = cc_keys[pos] == target
        pairs_a.append(np.flatnonzero(has))
        pairs_b.append(pos[has])
        pairs_d.append(np.full(int(has.sum()), d))
    pa = np.concatenate(pairs_a)
    pb = np.concatenate(pairs_b)
    pd = np.concatenate(pairs_d)

    # 3a. Quick test: per cell pair, the core point of a nearest the centre of cell b, against b.
    linked = np.zeros(pa.size, dtype=bool)
    if pa.size:
        reps = np.empty(pa.size, dtype=np.int64)
        for d, (dx, dy) in enumerate(_HALF):
            sel = np.flatnonzero(pd == d)
            if sel.size == 0:
                continue
            tx = x0 + (cx + dx - 2 + 0.5) * side
            ty = y0 + (cy + dy - 2 + 0.5) * side
            dist2 = (px - tx) ** 2 + (py - ty) ** 2
            gmin = np.minimum.reduceat(dist2, starts)
            hit = np.flatnonzero(dist2 == gmin[group])
            first = hit[np.unique(group[hit], return_index=True)[1]]  # first minimum per cell
            rep_of_cell = np.empty(n_cc, dtype=np.int64)
            rep_of_cell[group[first]] = first
            reps[sel] = rep_of_cell[pa[sel]]
        Q = np.column_stack([px[reps], py[reps], pb * sep])
        linked, _ = _tree_query_within(tree3, Q, eps)

    def components(mask: np.ndarray) -> np.ndarray:
        g = coo_matrix((np.ones(int(mask.sum())), (pa[mask], pb[mask])), shape=(n_cc, n_cc))
        return connected_components(g, directed=False)[1]

    # 3b. Exact test, direction by direction, for pairs not yet connected through other cells.
    comp = components(linked)
    for d, (dx, dy) in enumerate(_HALF):
        todo = np.flatnonzero((pd == d) & ~linked & (comp[pa] != comp[pb]))
        if todo.size == 0:
            continue
        pts = _ranges(starts[pa[todo]], sizes[pa[todo]])
        pair_of_pt = np.repeat(todo, sizes[pa[todo]])
        # Only points within eps of cell b's square can have a partner there.
        bx0 = x0 + (cx[pts] + dx - 2) * side
        by0 = y0 + (cy[pts] + dy - 2) * side
        gx = np.maximum(np.maximum(bx0 - px[pts], px[pts] - (bx0 + side)), 0.0)
        gy = np.maximum(np.maximum(by0 - py[pts], py[pts] - (by0 + side)), 0.0)
        keep = gx * gx + gy * gy <= eps * eps * (1.0 + 1e-9)
        pts, pair_of_pt = pts[keep], pair_of_pt[keep]
        Q = np.column_stack([px[pts], py[pts], pb[pair_of_pt] * sep])
        found, _ = _tree_query_within(tree3, Q, eps)
        linked[np.unique(pair_of_pt[found])] = True
        comp = components(linked)

    labels[order] = comp[group]

    # 4. Border points: non-core points within eps of a core point join the nearest one's cluster.
    noncore = np.flatnonzero(~core)
    if noncore.size:
        has_noncore = np.bincount(cell_of[noncore], minlength=cell_keys.size) > 0
        near_core = core_idx[_cells_near(cell_keys, has_noncore, block_keys)[cell_of[core_idx]]]
        if near_core.size:
            found, j = _tree_query_within(cKDTree(P[near_core]), P[noncore], eps)
            labels[noncore[found]] = labels[near_core[j[found]]]
    return labels, core


def stable_labels(labels: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Renumber clusters 0, 1, ... by descending size, then lowest x, then lowest y; -1 stays noise.

    The same points give the same numbers whatever their order or the clustering's own numbering.
    """
    labels = np.asarray(labels)
    out = np.full(labels.shape, -1, dtype=np.int64)
    inside = labels >= 0
    if not inside.any():
        return out
    uniq, inv = np.unique(labels[inside], return_inverse=True)
    size = np.bincount(inv)
    minx = np.full(uniq.size, np.inf)
    miny = np.full(uniq.size, np.inf)
    np.minimum.at(minx, inv, X[inside, 0])
    np.minimum.at(miny, inv, X[inside, 1])
    rank = np.lexsort((miny, minx, -size))
    new = np.empty(uniq.size, dtype=np.int64)
    new[rank] = np.arange(uniq.size)
    out[inside] = new[inv]
    return out


def hdbscan_labels(X: np.ndarray, min_samples: int = 5) -> np.ndarray:
    """HDBSCAN (scikit-learn) with ``min_cluster_size = min_samples``; deterministic whatever the input order.

    Notes
    -----
    scikit-learn builds the minimum spanning tree of mutual reachability in O(n²) time (memory
    O(n)), so more than :data:`HDBSCAN_MAX_POINTS` points are refused.
    """
    from sklearn.cluster import HDBSCAN

    P = as_points(X)
    n = P.shape[0]
    if n > HDBSCAN_MAX_POINTS:
        raise VeiligError(
            f"method hdbscan verwerkt hoogstens {nl_number(HDBSCAN_MAX_POINTS, 0)} incidenten "
            f"(nu {nl_number(n, 0)}); gebruik method dbscan of een kortere periode"
        )
    size = max(2, int(min_samples))
    labels = np.full(n, -1, dtype=np.int64)
    if n < size:
        return labels
    locations, _, inverse = merge_duplicates(P)
    if locations.shape[0] == 1:  # HDBSCAN has no density to compare: one spot is one cluster
        labels[:] = 0
        return labels
    order = np.lexsort((P[:, 1], P[:, 0]))
    model = HDBSCAN(min_cluster_size=size, min_samples=min(size, n), copy=True)
    labels[order] = model.fit_predict(P[order])
    return labels


def cluster_points(
    X, method: str = "dbscan", eps: float = 150.0, min_samples: int = 5
) -> np.ndarray:
    """Cluster incident points (RD New metres) and number the clusters stably.

    Parameters
    ----------
    X : array-like of shape (n, 2)
        RD New coordinates.
    method : {'dbscan', 'hdbscan'}
        :class:`GridDBSCAN` (exact DBSCAN, linear memory) or scikit-learn's HDBSCAN
        (``min_cluster_size = min_samples``; ``eps`` is not used).
    eps : float
        DBSCAN radius in metres.
    min_samples : int
        Minimum number of incidents within ``eps`` of a core incident (itself included).

    Returns
    -------
    labels : ndarray of shape (n,)
        -1 for noise, otherwise 0, 1, ... with 0 the largest cluster (ties: lowest x, then y).
    """
    P = as_points(X)
    if method == "dbscan":
        labels = GridDBSCAN(eps=eps, min_samples=min_samples).fit(P).labels_
    elif method == "hdbscan":
        labels = hdbscan_labels(P, min_samples=min_samples)
    else:
        raise VeiligError(f"method moet een van {', '.join(METHODS)} zijn, niet {method!r}")
    return stable_labels(labels, P)


def cluster_polygons(X, labels: np.ndarray, buffer_m: float) -> np.ndarray:
    """One hotspot polygon per cluster: the concave hull of its points, buffered by ``buffer_m``.

    Parameters
    ----------
    X : array-like of shape (n, 2)
        RD New coordinates.
    labels : ndarray of shape (n,)
        Cluster numbers 0..k-1 (as from :func:`cluster_points`), -1 for noise.
    buffer_m : float
        Buffer distance in metres (> 0); the pipeline uses ``eps / 2``.

    Returns
    -------
    polygons : ndarray of k shapely Polygons
        ``polygons[c]`` covers every point of cluster ``c`` and is at least ``2 * buffer_m``
        wide anywhere, so it is never a sliver or empty, even for points on one line or one spot.

    Notes
    -----
    The points are first thinned to one representative (the mean) per square of side
    ``buffer_m / sqrt(2)``; each point lies within ``buffer_m`` of its representative, so the
    buffered hull of the representatives still covers it. That bounds the hull's input by the
    cluster's area, whatever the number of points. O(n log n) time, O(n) memory.
    """
    P = as_points(X)
    labels = np.asarray(labels, dtype=np.int64)
    k = int(labels.max()) + 1 if labels.size else 0
    if k == 0:
        return np.empty(0, dtype=object)
    if not (math.isfinite(buffer_m) and buffer_m > 0):
        raise VeiligError(f"buffer_m moet positief zijn, niet {buffer_m!r}")
    inside = labels >= 0
    Q, lab = P[inside], labels[inside]
    side = buffer_m / math.sqrt(2.0) * (1.0 - 1e-9)
    fx = np.floor((Q[:, 0] - Q[:, 0].min()) / side).astype(np.int64)
    fy = np.floor((Q[:, 1] - Q[:, 1].min()) / side).astype(np.int64)
    span_y = int(fy.max()) + 1
    span_xy = (int(fx.max()) + 1) * span_y
    keys = lab * span_xy + fx * span_y + fy  # one integer per (cluster, square): a 1-D unique is fast
    _, first, inv, counts = np.unique(keys, return_index=True, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    rx = np.bincount(inv, weights=Q[:, 0]) / counts
    ry = np.bincount(inv, weights=Q[:, 1]) / counts
    rep_label = lab[first]
    multipoints = shapely.multipoints(np.column_stack([rx, ry]), indices=rep_label)
    hulls = shapely.concave_hull(multipoints, ratio=CONCAVE_RATIO)
    polygons = shapely.buffer(hulls, buffer_m, quad_segs=8)
    # The hull of a set is one polygon; keep that guarantee explicit should GEOS ever split one.
    multi = shapely.get_type_id(polygons) != shapely.GeometryType.POLYGON
    if multi.any():
        polygons[multi] = shapely.convex_hull(polygons[multi])
    return polygons
