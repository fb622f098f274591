"""Hotspot clusters that mean "more incidents here than the background explains".

A default cluster is a connected group (8-neighbourhood: cells sharing an edge or a corner) of
grid cells that are hot at :data:`CLUSTER_LEVEL` (95 %) after Benjamini-Hochberg FDR, under the
same exposure null as the Gi* grid. It is reported only because its cells passed that test, so
under the global null a cluster appears in at most about 5 % of analyses of pure noise: exactly
the share of noise analyses with any cell hot at 95 %, which the exact tails keep at the level.

Each cluster carries ``observed`` (incidents in its cells), ``expected`` (``N`` times the cells'
null share), their ``ratio``, and ``p_value``: the smallest FDR-adjusted p of its cells, i.e.
"this cluster holds a cell significant at FDR level p_value". It is deliberately *not* a binomial
p of the cluster's own count: the region was chosen because it is hot, and a test of a region
selected by the data on those same data is not calibrated (it is far too small).

``observed`` and ``expected`` count over the cluster's *windows* (its cells and every cell within
one band of them): that is the area whose count the test found too high, since a window is hot
because of the incidents anywhere in it, not only in its centre cell. ``n_incidents`` counts the
incidents inside the outline itself.

The outline is the union of the cells' squares: grid-aligned, so it points at no incident.
"""

from __future__ import annotations

import numpy as np
import shapely
from scipy import ndimage

#: FDR level whose hot cells make up a cluster (class >= 2: 95 %).
CLUSTER_LEVEL = 0.05
CLUSTER_MIN_CLASS = 2


def hot_components(gi_class: np.ndarray, mask: np.ndarray, min_class: int = CLUSTER_MIN_CLASS) -> np.ndarray:
    """Label the 8-connected groups of cells with class >= ``min_class``: (ny, nx) int, 0 = none.

    Numbered 1..k by descending number of cells, then the lowest row, then the lowest column, so
    the numbering does not depend on the scan order.
    """
    hot = (np.asarray(gi_class) >= min_class) & np.asarray(mask, dtype=bool)
    labels, k = ndimage.label(hot, structure=np.ones((3, 3), dtype=bool))
    if k == 0:
        return labels.astype(np.int64)
    flat = labels.ravel()
    size = np.bincount(flat, minlength=k + 1)[1:]
    first = np.full(k, flat.size, dtype=np.int64)
    idx = np.flatnonzero(flat)
    np.minimum.at(first, flat[idx] - 1, idx)  # row-major first cell = lowest row, then column
    rank = np.lexsort((first, -size))
    new = np.zeros(k + 1, dtype=np.int64)
    new[rank + 1] = np.arange(1, k + 1)
    return new[labels]


def component_polygons(labels: np.ndarray, x0: float, y0: float, cell: float) -> np.ndarray:
    """One (Multi)Polygon per component 1..k: the union of its cells' squares."""
    k = int(labels.max()) if labels.size else 0
    rows, cols = np.nonzero(labels)
    lab = labels[rows, cols]
    order = np.argsort(lab, kind="stable")
    rows, cols, lab = rows[order], cols[order], lab[order]
    boxes = shapely.box(x0 + cols * cell, y0 + rows * cell, x0 + (cols + 1) * cell, y0 + (rows + 1) * cell)
    starts = np.searchsorted(lab, np.arange(1, k + 1))
    ends = np.searchsorted(lab, np.arange(1, k + 1), side="right")
    out = np.empty(k, dtype=object)
    for c in range(k):
        out[c] = shapely.coverage_union_all(boxes[starts[c]:ends[c]])
    return out


def component_stats(labels: np.ndarray, counts: np.ndarray, share: np.ndarray, p_fdr: np.ndarray,
                    n_total: int, halfwidths: np.ndarray) -> dict[str, np.ndarray]:
    """Per component 1..k: cells, observed and expected over its windows, ratio, p_value (smallest cell q).

    ``halfwidths`` is the band's disk (:func:`veilig.geo.gistar.disk_halfwidths`); one disk sum
    per component: O(k * cells * band / cell).
    """
    from .gistar import disk_sum

    k = int(labels.max()) if labels.size else 0
    flat = labels.ravel()
    cells = np.bincount(flat, minlength=k + 1)[1:]
    observed = np.zeros(k)
    expected = np.zeros(k)
    c64 = counts.astype(np.float64)
    for c in range(k):
        reach = disk_sum((labels == c + 1).astype(np.int64), halfwidths) > 0
        observed[c] = c64[reach].sum()
        expected[c] = n_total * share[reach].sum()
    q = np.where(np.isfinite(p_fdr.ravel()), p_fdr.ravel(), 1.0)
    p_min = np.ones(k + 1)
    np.minimum.at(p_min, flat, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(expected > 0, observed / expected, np.nan)
    return {"n_cells": cells.astype(np.int64), "observed": observed.astype(np.int64), "expected": expected,
            "ratio": ratio, "p_value": p_min[1:]}
