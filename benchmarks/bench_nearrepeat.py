"""Benchmark: the Knox near-repeat test, 45,000 burglaries over four years, 999 permutations.

Data: a seeded synthetic set over Zoetermeer's buurten (background weighted like the demo data,
plus 25 % near-repeat follow-ups 1-21 days and ~150 m after an earlier burglary), default bands
(100 m x 3, 7 days x 2). Each implementation runs in a fresh process (peak memory = its VmHWM):

* veilig: :func:`veilig.geo.nearrepeat.knox_test` (compiled kernel: per permutation a
  sort by grid cell and date, then neighbouring cells within 14 days; threads over permutations),
  with the compiled code from the on-disk cache, and once cold (JIT compile included);
* plain NumPy: the pairs within 300 m found once with a k-d tree, then one ``bincount`` of the
  pairs' cells per permutation (the textbook vectorised way); run with a few permutations on
  all 45,000 events and scaled to 999;
* O(n²) loop: plain Python over every pair, on a subsample, scaled to 45,000 events (x n²) and
  999 permutations.

Every peer's observed table is compared with veilig's on the same events.

    python benchmarks/bench_nearrepeat.py [--n 45000] [--iterations 999]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, run_measured  # noqa: E402

MAKE_DATA = """
import numpy as np, shapely
from veilig.geo.neighbourhoods import load_buurten
from veilig.geo.demo import NEAR_REPEAT_SHARE, NEAR_REPEAT_SIGMA_M, _LOW_WEIGHT
n, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(20261201)
b = load_buurten()
w = b.geometry.area.to_numpy() * np.array([_LOW_WEIGHT.get(c, 1.0) for c in b['statcode']])
n_rep = int(n * NEAR_REPEAT_SHARE)
n_base = n - n_rep
which = rng.choice(len(b), size=n_base, p=w / w.sum())
x = np.empty(n_base); y = np.empty(n_base)
for k in np.unique(which):
    idx = np.flatnonzero(which == k); g = b.geometry.values[k]; shapely.prepare(g)
    minx, miny, maxx, maxy = g.bounds; got = 0
    while got < idx.size:
        px = rng.uniform(minx, maxx, 4 * idx.size); py = rng.uniform(miny, maxy, 4 * idx.size)
        ok = shapely.contains_xy(g, px, py); px, py = px[ok], py[ok]
        take = min(px.size, idx.size - got)
        x[idx[got:got + take]] = px[:take]; y[idx[got:got + take]] = py[:take]; got += take
day = rng.integers(0, 4 * 365, n_base)
parent = rng.integers(0, n_base, n_rep)
xr = x[parent] + rng.normal(0, NEAR_REPEAT_SIGMA_M, n_rep)
yr = y[parent] + rng.normal(0, NEAR_REPEAT_SIGMA_M, n_rep)
dr = np.clip(day[parent] + rng.integers(1, 22, n_rep), 0, 4 * 365 - 1)
x = np.round(np.concatenate([x, xr]), 1); y = np.round(np.concatenate([y, yr]), 1)
day = np.concatenate([day, dr]) + int(np.datetime64('2022-01-01', 'D').astype(np.int64))
np.savez(path, x=x, y=y, day=day)
extra = {'events': int(x.size)}
"""

VEILIG = """
import numpy as np
from veilig.geo.nearrepeat import KnoxEvents, knox_test
d = np.load(sys.argv[1])
sub = int(sys.argv[3])
ev = KnoxEvents(d['x'][:sub], d['y'][:sub], d['day'][:sub])
r = knox_test(ev, iterations=int(sys.argv[2]), seed=1)
np.save(sys.argv[4], r.observed)
extra = {'events': len(ev), 'near_pairs': int(r.observed[:-1].sum()), 'p_first': float(r.p_value[1, 0]),
         'ratio_first': float(r.knox_ratio[1, 0])}
"""

PLAIN_NUMPY = """
import numpy as np
from scipy.spatial import cKDTree
from veilig.geo.nearrepeat import KnoxBands
d = np.load(sys.argv[1]); x, y, day = d['x'], d['y'], d['day']
perms = int(sys.argv[2]); b = KnoxBands().validated()
pairs = cKDTree(np.column_stack([x, y])).query_pairs(b.max_distance, output_type='ndarray')
i, j = pairs[:, 0], pairs[:, 1]
dx = x[i] - x[j]; dy = y[i] - y[j]
row = b.spatial_index_sq(dx * dx + dy * dy)
keep = row <= b.spatial_bands; i, j, row = i[keep], j[keep], row[keep]
rows, cols = b.shape
base = (row * cols).astype(np.int32)
lut = np.full(4 * 365 * 40, b.temporal_bands, dtype=np.int32); lut[:b.max_lag + 1] = b.temporal_lut()
rel = (day - day.min()).astype(np.int32)
def cells(dd):
    return np.bincount(base + lut[np.abs(dd[i] - dd[j])], minlength=(rows - 1) * cols)
observed = cells(rel)
rng = np.random.default_rng(1)
for _ in range(perms):
    cells(rng.permutation(rel))
full = np.zeros((rows, cols), dtype=np.int64); full[:-1] = observed.reshape(rows - 1, cols)
n = len(x); h = np.bincount(rel)
tot = np.zeros(cols, dtype=np.int64)
for lag in range(b.max_lag + 1):
    c = int((h * (h - 1) // 2).sum()) if lag == 0 else int(np.dot(h[:-lag], h[lag:]))
    tot[b.temporal_lut()[lag]] += c
tot[-1] += n * (n - 1) // 2 - tot.sum()
full[-1] = tot - full[:-1].sum(axis=0)
np.save(sys.argv[3], full)
extra = {'pairs_within_300m': int(len(i))}
"""

LOOP = """
import math, numpy as np
d = np.load(sys.argv[1]); sub = int(sys.argv[3])
x, y, day = d['x'][:sub].tolist(), d['y'][:sub].tolist(), d['day'][:sub].tolist()
perms = int(sys.argv[2])
def table(dd):
    out = [[0] * 3 for _ in range(5)]
    for a in range(sub):
        for c in range(a + 1, sub):
            dist = math.sqrt((x[a] - x[c]) ** 2 + (y[a] - y[c]) ** 2)
            lag = abs(dd[a] - dd[c])
            r = 0 if dist < 1 else (1 if dist <= 100 else 2 if dist <= 200 else 3 if dist <= 300 else 4)
            k = 0 if lag <= 7 else 1 if lag <= 14 else 2
            out[r][k] += 1
    return out
observed = table(day)
rng = np.random.default_rng(1)
for _ in range(perms):
    table(rng.permutation(day).tolist())
np.save(sys.argv[4], np.array(observed))
"""


def _with_cpu(code: str) -> str:
    """The snippet, reporting its process CPU time too (all threads): on a shared machine the
    wall time depends on the load, the CPU time much less."""
    return code + "\nextra = {**globals().get('extra', {}), 'cpu': time.process_time()}\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=45_000)
    ap.add_argument("--iterations", type=int, default=999)
    ap.add_argument("--numpy-perms", type=int, default=10)
    ap.add_argument("--loop-n", type=int, default=800)
    ap.add_argument("--loop-perms", type=int, default=4)
    args = ap.parse_args()
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        data = str(Path(tmp) / "events.npz")
        made = run_measured(MAKE_DATA, str(args.n), data)
        print(f"data: {made['events']} events over four years ({made['seconds']:.1f} s to generate)")
        out = {k: str(Path(tmp) / f"{k}.npy") for k in ("v", "cold", "np", "vsub", "loop")}
        # Warm the on-disk cache of the compiled kernel (as any second run of veilig has it).
        run_measured(_with_cpu(VEILIG), data, "9", "200", out["vsub"])
        warm = run_measured(_with_cpu(VEILIG), data, str(args.iterations), str(args.n), out["v"])
        import os
        os.environ["NUMBA_CACHE_DIR"] = str(Path(tmp) / "numba-cold")
        cold = run_measured(_with_cpu(VEILIG), data, str(args.iterations), str(args.n), out["cold"])
        del os.environ["NUMBA_CACHE_DIR"]
        plain = run_measured(_with_cpu(PLAIN_NUMPY), data, str(args.numpy_perms), out["np"])
        run_measured(_with_cpu(VEILIG), data, "9", str(args.loop_n), out["vsub"])
        loop = run_measured(_with_cpu(LOOP), data, str(args.loop_perms), str(args.loop_n), out["loop"])
        same_np = bool((np.load(out["np"]) == np.load(out["v"])).all())
        same_loop = bool((np.load(out["loop"]) == np.load(out["vsub"])).all())

    it = args.iterations
    plain_999 = plain["seconds"] * (it + 1) / (args.numpy_perms + 1)
    loop_999 = loop["seconds"] * (it + 1) / (args.loop_perms + 1) * (args.n / args.loop_n) ** 2
    rows = [
        ["veilig knox_test (compiled kernel, cache warm)", args.n, it, f"{warm['seconds']:.2f}",
         f"{warm['cpu']:.2f}", f"{warm['seconds']:.2f}", f"{warm['peak_mb']:.0f}", "-"],
        ["veilig knox_test (cold: JIT compile included)", args.n, it, f"{cold['seconds']:.2f}",
         f"{cold['cpu']:.2f}", f"{cold['seconds']:.2f}", f"{cold['peak_mb']:.0f}", "-"],
        ["plain NumPy: k-d tree pairs + bincount per permutation", args.n, args.numpy_perms,
         f"{plain['seconds']:.2f}", f"{plain['cpu']:.2f}", f"{plain_999:.0f} (scaled)", f"{plain['peak_mb']:.0f}",
         "yes" if same_np else "NO"],
        [f"O(n²) Python loop, subsample of {args.loop_n}", args.loop_n, args.loop_perms, f"{loop['seconds']:.2f}",
         f"{loop['cpu']:.2f}", f"{loop_999:.0f} (scaled to n={args.n})", f"{loop['peak_mb']:.0f}",
         "yes" if same_loop else "NO"],
    ]
    print_table(f"Knox test, {args.n} events over four years, bands 100 m x 3 / 7 days x 2 "
                f"({plain['pairs_within_300m']:,} pairs within 300 m; first cell ratio "
                f"{warm['ratio_first']:.2f}, p = {warm['p_first']:.3f})",
                ["implementation", "events", "permutations run", "seconds", "CPU s (all threads)",
                 f"seconds for {it} permutations",
                 "peak MB (VmHWM)", "observed table equal to veilig's"], rows)
    try:
        load = open("/proc/loadavg").read().split()[:3]
        print(f"\nmachine: {os.cpu_count()} cores, load average {' '.join(load)} (shared with other jobs)")
    except OSError:
        pass


if __name__ == "__main__":
    main()
