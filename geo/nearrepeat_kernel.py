"""The Knox permutation kernel: near space-time pairs of many date permutations, compiled (Numba).

Why not re-bin the pairs within N·M per permutation: 45,000 burglaries over four years have
about 10 million pairs within 300 m, and 999 re-binnings of those cost minutes in NumPy
(``benchmarks/bench_nearrepeat.py`` measures it). Under a permutation only the pairs that are
close in time *as well* can land in a near cell (about 2 % of them); the others follow from
fixed totals (see :func:`veilig.geo.nearrepeat._complete`). So per permutation the kernel

1. shuffles the date slots over the events (Fisher-Yates on a SplitMix64 stream that is a pure
   function of seed and permutation index, so the result does not depend on threads or blocks);
2. writes the events into one buffer grouped by grid cell (side N·M), each cell's stretch in
   date order (a counting sort: the slots are visited in date order);
3. for each cell, compares each event only with the events of the same cell and of the four
   "forward" neighbour cells (right, and the three above) that are at most N·D days apart:
   every unordered pair of neighbouring cells once, sequential reads of short stretches.

That is O(n + close pairs) per permutation, memory O(n) per thread. The observed table is the
same function with the identity permutation, and the per-row pair totals the same function with
a window as long as the whole period. The band rule (squared distance against squared edges) is
one expression everywhere, so a pair at a band edge lands in the same band in the observed table,
the totals and every permutation.

Two compiled functions, with explicit signatures and ``cache=True``: a clean clone compiles them
once (a few seconds), later processes load them from ``__pycache__``. No ``parallel=True``: the
caller runs blocks of permutations on threads (the functions release the GIL), which compiles
far faster than a parfor and gives the same numbers on any number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_STREAM = np.uint64(0xD1B54A32D192ED03)
_LOW32 = np.uint64(0xFFFFFFFF)
_TWO32 = np.uint64(1 << 32)
_S27 = np.uint64(27)
_S30 = np.uint64(30)
_S31 = np.uint64(31)
_S32 = np.uint64(32)
#: Day of the sentinel after each cell's stretch (stops every window pointer).
_SENTINEL_DAY = np.int64(1) << np.int64(40)


@njit("void(int32[::1], uint64, int64)", cache=True, nogil=True)
def shuffle(perm, seed, index):
    """``perm`` := the ``index``-th permutation of 0..n-1 for ``seed`` (Fisher-Yates).

    A pure function of (seed, index). Each bounded draw is Lemire's multiply-and-reject on
    32 bits of a SplitMix64 stream: exactly uniform, no division on the common path.
    """
    n = perm.size
    for i in range(n):
        perm[i] = i
    state = seed ^ (np.uint64(index) * _STREAM)
    spare = np.uint64(0)
    have = False
    for i in range(n - 1, 0, -1):
        s = np.uint64(i + 1)
        while True:
            if have:
                r = spare
                have = False
            else:
                state = state + _GAMMA
                z = state
                z = (z ^ (z >> _S30)) * _MIX1
                z = (z ^ (z >> _S27)) * _MIX2
                z = z ^ (z >> _S31)
                spare = z >> _S32
                r = z & _LOW32
                have = True
            m = r * s
            low = m & _LOW32
            # Reject the few draws of the incomplete last stripe ((2^32 - s) mod s of them).
            if low >= s or low >= (_TWO32 - s) % s:
                break
        j = np.int64(m >> _S32)
        t = perm[i]
        perm[i] = perm[j]
        perm[j] = t


@njit("int64[:, :, ::1](float64[::1], float64[::1], int32[::1], int64[::1], int32[:, ::1], int64[::1], "
      "int64[::1], float64[::1], float64, int64, uint64, int64, int64, int32[:, ::1])", cache=True, nogil=True)
def knox_cells(x, y, cell, start, forward, day, lut, edges, same2, n_cols, seed, first, k, slots):
    """Pair counts per (spatial row, lag column) of ``k`` date permutations.

    Parameters
    ----------
    x, y : float64 (n,)
        Coordinates of the events (metres, not centred: differences of RD values are exact).
    cell : int32 (n,)
        Grid cell of each event; ``start`` (cells + 1) the offsets of the cells' stretches and
        ``forward`` (cells, 4) the right, upper-left, upper and upper-right cell (-1 if empty).
    day : int64 (n,)
        The dates, ascending: date slot ``i`` has day ``day[i]``.
    lut : int64 (L + 1,)
        Column of each day difference 0..L; pairs further apart in time are not visited.
    edges : float64 (N,)
        Comparison edges of the squared distance: the row is ``(d² >= same2)`` plus the number
        of edges with ``d² > edge`` (0 same location, 1..N bands, N+1 beyond).
    n_cols : int
        Columns of the table (at least ``lut.max() + 1``).
    seed, first, k :
        Permutations ``first .. first+k-1`` of ``seed`` (see :func:`shuffle`) ...
    slots : int32 (k, n) or (0, n)
        ... unless given explicitly here: ``slots[b, i]`` is the event that gets date slot ``i``.

    Returns
    -------
    int64 (k, N + 2, n_cols)
    """
    n = x.size
    n_cells = start.size - 1
    max_lag = lut.size - 1
    n_edges = edges.size
    n_rows = n_edges + 2
    size = n_rows * n_cols
    out = np.zeros((k, n_rows, n_cols), dtype=np.int64)
    perm = np.empty(n, dtype=np.int32)
    # Cell c's stretch is [start[c] + c, start[c+1] + c), followed by one sentinel.
    lx = np.zeros(n + n_cells, dtype=np.float64)
    ly = np.zeros(n + n_cells, dtype=np.float64)
    ld = np.empty(n + n_cells, dtype=np.int64)
    for c in range(n_cells):
        ld[start[c + 1] + c] = _SENTINEL_DAY
    cursor = np.empty(n_cells, dtype=np.int64)
    # Four interleaved tables: consecutive increments rarely hit the same counter.
    cnt = np.zeros(4 * size, dtype=np.int64)
    for b in range(k):
        if slots.shape[0] > 0:
            for i in range(n):
                perm[i] = slots[b, i]
        else:
            shuffle(perm, seed, first + b)
        for c in range(n_cells):
            cursor[c] = start[c] + c
        for i in range(n):
            e = perm[i]
            c = cell[e]
            p = cursor[c]
            cursor[c] = p + 1
            lx[p] = x[e]
            ly[p] = y[e]
            ld[p] = day[i]
        cnt[:] = 0
        for c in range(n_cells):
            a0 = start[c] + c
            a1 = start[c + 1] + c
            # Same cell: each event with the earlier ones at most L days before it.
            lo = a0
            for p in range(a0, a1):
                da = ld[p]
                xa = lx[p]
                ya = ly[p]
                low = da - max_lag
                while ld[lo] < low:
                    lo += 1
                for q in range(lo, p):
                    dx = xa - lx[q]
                    dy = ya - ly[q]
                    d2 = dx * dx + dy * dy
                    r = np.int64(d2 >= same2)
                    for s in range(n_edges):
                        r += np.int64(d2 > edges[s])
                    cnt[(q & 3) * size + r * n_cols + lut[da - ld[q]]] += 1
            # Forward neighbours: each event with those at most L days before or after it.
            for m in range(4):
                c2 = forward[c, m]
                if c2 < 0:
                    continue
                lo = start[c2] + c2
                hi = lo
                for p in range(a0, a1):
                    da = ld[p]
                    xa = lx[p]
                    ya = ly[p]
                    low = da - max_lag
                    high = da + max_lag
                    # Mostly 0-2 steps: two branch-free steps, then a rarely taken loop.
                    lo += ld[lo] < low
                    lo += ld[lo] < low
                    while ld[lo] < low:
                        lo += 1
                    hi += ld[hi] <= high
                    hi += ld[hi] <= high
                    while ld[hi] <= high:
                        hi += 1
                    for q in range(lo, hi):
                        dx = xa - lx[q]
                        dy = ya - ly[q]
                        d2 = dx * dx + dy * dy
                        r = np.int64(d2 >= same2)
                        for s in range(n_edges):
                            r += np.int64(d2 > edges[s])
                        cnt[(q & 3) * size + r * n_cols + lut[abs(da - ld[q])]] += 1
        for r in range(n_rows):
            for j in range(n_cols):
                f = r * n_cols + j
                out[b, r, j] = cnt[f] + cnt[size + f] + cnt[2 * size + f] + cnt[3 * size + f]
    return out


def permutation(seed: int, index: int, n: int) -> np.ndarray:
    """The ``index``-th permutation of 0..n-1 for ``seed``, as the kernel draws it (slot -> event)."""
    perm = np.empty(n, dtype=np.int32)
    shuffle(perm, np.uint64(seed), np.int64(index))
    return perm


#: The forward neighbours (dx, dy) of a cell: each unordered pair of neighbouring cells once.
FORWARD = ((1, 0), (-1, 1), (0, 1), (1, 1))


def grid_cells(xc: np.ndarray, yc: np.ndarray, side: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cell of each event on a grid of ``side`` metres, the cells' CSR offsets, their forward neighbours."""
    gx = np.floor((xc - xc.min()) / side).astype(np.int64)
    gy = np.floor((yc - yc.min()) / side).astype(np.int64)
    nx, ny = int(gx.max()) + 1, int(gy.max()) + 1
    # Only occupied cells get an index: a sparse city on a fine grid stays small.
    occupied, cell = np.unique(gy * nx + gx, return_inverse=True)
    counts = np.bincount(cell, minlength=occupied.size)
    start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    oy, ox = occupied // nx, occupied % nx
    forward = np.full((occupied.size, len(FORWARD)), -1, dtype=np.int32)
    for q, (dx, dy) in enumerate(FORWARD):
        tx, ty = ox + dx, oy + dy
        inside = (tx >= 0) & (tx < nx) & (ty >= 0) & (ty < ny)
        target = np.where(inside, ty * nx + tx, -1)
        pos = np.minimum(np.searchsorted(occupied, target), occupied.size - 1)
        found = inside & (occupied[pos] == target)
        forward[:, q] = np.where(found, pos, -1)
    return cell.astype(np.int32).ravel(), start, forward
