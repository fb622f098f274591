"""The Knox permutation kernel: near space-time pairs of many date permutations, compiled (Numba).

Why not re-bin the pairs within N·M per permutation: 45,000 burglaries over four years have
about 7.4 million pairs within 300 m, and 999 re-binnings of those cost minutes in NumPy
(``benchmarks/bench_nearrepeat.py`` measures it). But under a permutation only the pairs that
are close in time *as well* can land in a near cell (about 2 % of them), and the others follow
from fixed totals (see :func:`veilig.geo.nearrepeat._complete`). So each permutation sweeps the
events in date order and looks, on a grid of N·M cells, only at the events of the 3 x 3
neighbouring cells that are at most N·D days older: O(n + close pairs) per permutation instead
of O(pairs within N·M). The observed table is the same sweep with the identity permutation, and the
band rule (squared distance against squared edges, :meth:`veilig.geo.nearrepeat.KnoxBands.spatial_index`)
is one expression everywhere, so a pair at a band edge lands in the same band in the observed table
and in every permutation.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
def _row(d2, edges2, nrc, same2):
    """Spatial row of a squared distance (0 same location, 1..N bands, N+1 beyond).

    ``edges2`` are the squared band edges (k·M)²; the same rule as ``KnoxBands.spatial_index``.
    """
    if d2 < same2:
        return 0
    row = 1
    for e2 in edges2:
        if d2 > e2 or (nrc and d2 == e2):
            row += 1
        else:
            break
    return row


@njit(cache=True)
def _sweep(xc, yc, day_sorted, slot_event, cell, cell_start, neighbours, edges2, max_lag, lut, n_t, nrc, same2,
           counts):
    """One permutation: add its near pairs to ``counts`` (N+1, N_t); ``slot_event[k]`` gets date k.

    Each cell's seen events sit in date order in the cell's own stretch of one buffer, x, y and
    day side by side: the sweep reads the few recent entries of 9 cells, not the whole data.
    """
    n = slot_event.size
    n_spatial = edges2.size
    buf = np.empty((n, 3), dtype=np.float64)
    head = cell_start[:-1].copy()
    tail = cell_start[:-1].copy()
    for kk in range(n):
        e = slot_event[kk]
        d = day_sorted[kk]
        fd = float(d)
        c = cell[e]
        xe = xc[e]
        ye = yc[e]
        for q in range(9):
            c2 = neighbours[c, q]
            if c2 < 0:
                continue
            h = head[c2]
            t = tail[c2]
            while h < t and fd - buf[h, 2] > max_lag:
                h += 1
            head[c2] = h
            for p in range(h, t):
                dx = xe - buf[p, 0]
                dy = ye - buf[p, 1]
                row = _row(dx * dx + dy * dy, edges2, nrc, same2)
                if row > n_spatial:
                    continue
                col = lut[d - int(buf[p, 2])]
                if col < n_t:  # NRC's lag N·D is "more than": derived, not counted
                    counts[row, col] += 1
        t = tail[c]
        buf[t, 0] = xe
        buf[t, 1] = ye
        buf[t, 2] = fd
        tail[c] = t + 1


@njit(cache=True, parallel=True)
def near_cells(xc, yc, day_sorted, slots, cell, cell_start, neighbours, edges2, max_lag, lut, n_t, nrc, same2):
    """Counts of the near cells (rows 0..N, columns 0..N_t-1) for each row of ``slots``.

    Parameters
    ----------
    xc, yc : float64 (n,)
        Coordinates of the events.
    day_sorted : int64 (n,)
        The dates, ascending: date slot ``k`` has day ``day_sorted[k]``.
    slots : int64 (k, n)
        Per permutation, the event that gets date slot ``k`` (the identity gives the observed).
    edges2 : float64 (N,)
        Squared spatial band edges (k·M)².
    cell : int64 (n,)
        Grid cell of each event (side N·M); ``neighbours`` the 3 x 3 cells around each cell
        (-1 outside the grid).
    lut : int64 (max_lag + 1,)
        Temporal column of each day difference; ``n_t`` (the number of finite columns) is the
        "more than" column, which is derived from totals and not counted here.
    """
    k_perm = slots.shape[0]
    out = np.zeros((k_perm, edges2.size + 1, n_t), dtype=np.int64)
    for b in prange(k_perm):
        # A private table per permutation: threads never write the same cache line.
        counts = np.zeros((edges2.size + 1, n_t), dtype=np.int64)
        _sweep(xc, yc, day_sorted, slots[b], cell, cell_start, neighbours, edges2, max_lag, lut, n_t, nrc,
               same2, counts)
        out[b] = counts
    return out


@njit(cache=True)
def _splitmix64(state):
    state = (state + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    z = state
    z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True)
def permutation(seed, index, n):
    """The ``index``-th permutation of 0..n-1 for ``seed``: Fisher-Yates on a SplitMix64 stream.

    A pure function of (seed, index), so the permutations do not depend on how they are spread
    over threads or blocks: same seed, same numbers. (Modulo bias is below 2^-40 for n < 2^24.)
    """
    state = np.uint64(seed) ^ (np.uint64(index) * np.uint64(0xD1B54A32D192ED03))
    perm = np.arange(n)
    for i in range(n - 1, 0, -1):
        state, r = _splitmix64(state)
        j = np.int64(r % np.uint64(i + 1))
        tmp = perm[i]
        perm[i] = perm[j]
        perm[j] = tmp
    return perm


@njit(cache=True, parallel=True)
def near_cells_permuted(xc, yc, day_sorted, seed, first, k_perm, cell, cell_start, neighbours, edges2, max_lag,
                        lut, n_t, nrc, same2):
    """:func:`near_cells` for the permutations ``first .. first+k_perm-1`` of ``seed``, drawn in place."""
    n = xc.size
    out = np.zeros((k_perm, edges2.size + 1, n_t), dtype=np.int64)
    for b in prange(k_perm):
        counts = np.zeros((edges2.size + 1, n_t), dtype=np.int64)
        slot_event = permutation(seed, first + b, n)
        _sweep(xc, yc, day_sorted, slot_event, cell, cell_start, neighbours, edges2, max_lag, lut, n_t, nrc,
               same2, counts)
        out[b] = counts
    return out


@njit(cache=True)
def row_totals(xc, yc, cell, cell_start, members, neighbours, edges2, nrc, same2):
    """Pairs per spatial row 0..N+1 over all pairs within the 3 x 3 cells (the rest is beyond N·M).

    The same distance expression as :func:`near_cells`, so a pair at a band edge is in the same
    row in both; every unordered pair once (the partner's index is smaller).
    """
    out = np.zeros(edges2.size + 2, dtype=np.int64)
    n = xc.size
    for i in range(n):
        c = cell[i]
        for q in range(9):
            c2 = neighbours[c, q]
            if c2 < 0:
                continue
            for p in range(cell_start[c2], cell_start[c2 + 1]):
                j = members[p]
                if j >= i:
                    continue
                dx = xc[i] - xc[j]
                dy = yc[i] - yc[j]
                out[_row(dx * dx + dy * dy, edges2, nrc, same2)] += 1
    return out


def grid_cells(xc: np.ndarray, yc: np.ndarray, side: float):
    """Cell of each event on a grid of ``side`` metres, CSR offsets and members, each cell's 3 x 3 block."""
    gx = np.floor((xc - xc.min()) / side).astype(np.int64)
    gy = np.floor((yc - yc.min()) / side).astype(np.int64)
    nx, ny = int(gx.max()) + 1, int(gy.max()) + 1
    # Only occupied cells get an index: a sparse city on a fine grid stays small.
    flat = gy * nx + gx
    occupied, cell = np.unique(flat, return_inverse=True)
    counts = np.bincount(cell, minlength=occupied.size)
    cell_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    oy, ox = occupied // nx, occupied % nx
    neighbours = np.full((occupied.size, 9), -1, dtype=np.int64)
    q = 0
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            tx, ty = ox + dx, oy + dy
            inside = (tx >= 0) & (tx < nx) & (ty >= 0) & (ty < ny)
            target = np.where(inside, ty * nx + tx, -1)
            pos = np.searchsorted(occupied, target)
            pos = np.minimum(pos, occupied.size - 1)
            found = inside & (occupied[pos] == target)
            neighbours[:, q] = np.where(found, pos, -1)
            q += 1
    members = np.argsort(cell, kind="stable").astype(np.int64)
    return cell.astype(np.int64), cell_start, members, neighbours
