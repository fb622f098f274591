"""Benchmark: the hotspot pipeline on 100,000 and 1,000,000 demo incidents, against the peers on the same points.

For each size, demo incidents (seed 1, 2023-2025) are imported into a fresh SQLite database with
every incident labelled ``drugs``, so that all of them go through the pipeline (the worst case:
the analysed category is the whole data set). Then, each step in a fresh process (peak memory is
that process's maximum RSS, Python and libraries included; see the baseline row):

* the whole pipeline: load from the database, assign buurten, cluster (grid DBSCAN, eps 150 m,
  min_samples 5), Gi* on the 100 m grid with FDR, buurt table (with Gi* on the buurten);
* scikit-learn's plain ``DBSCAN`` on the same points, where its neighbour lists fit in memory
  (estimated beforehand from the exact number of neighbour pairs; skipped with the reason when
  not), and ``GridDBSCAN`` alone on the same points, with the two results compared;
* esda's ``G_Local(y, DistanceBand, transform='B', star=True)`` with permutations 0 and 99 on
  the same 100 m grid, against ``gi_star_grid``; and once on a 500 x 500 grid (250,000 cells).

    python benchmarks/bench_hotspots.py [--sizes 100000 1000000] [--memory-limit-gb 8]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, run_measured  # noqa: E402

EPS = 150.0
MIN_SAMPLES = 5
CELL = 100.0
BAND = 300.0
START, END = "2023-01-01", "2025-12-31"

BASELINE = """
import geopandas, sklearn.cluster, scipy.spatial, veilig.geo.hotspots, veilig.storage.incidents
"""

IMPORT = """
from veilig.storage import open_database
from veilig.storage.incidents import import_incidents_file
r = import_incidents_file(open_database(sys.argv[1]), sys.argv[2])
assert r.committed, r.errors[:3]
extra = {'rows': r.inserted}
"""

PIPELINE = f"""
from datetime import date
import numpy as np
from veilig.storage import open_database
from veilig.storage.incidents import load_buurt_stats, load_incidents
from veilig.geo.grid import zoetermeer_grid
from veilig.geo.hotspots import HotspotParams, compute_hotspots
t_start = time.perf_counter()
db = open_database(sys.argv[1], migrate=False)
start, end = date.fromisoformat('{START}'), date.fromisoformat('{END}')
prev_start = start - (end - start) - __import__('datetime').timedelta(days=1)
inc = load_incidents(db, categories=['drugs'], start=prev_start, end=end)
stats = load_buurt_stats(db)
t_load = time.perf_counter() - t_start
inc = inc.drop(columns=['buurt'])  # the pipeline assigns the buurten itself
res = compute_hotspots(inc, 'drugs', start, end, HotspotParams(eps={EPS}, min_samples={MIN_SAMPLES},
                       cell={CELL}, band={BAND}), stats=stats)
t_total = time.perf_counter() - t_start
pts = res.points[['x', 'y']].to_numpy()
np.save(sys.argv[2], pts)
grid = zoetermeer_grid({CELL})
np.savez(sys.argv[3], counts=grid.counts(pts[:, 0], pts[:, 1]), mask=grid.mask, cell={CELL})
extra = {{'load': t_load, **res.timings, 'pipeline': t_total, 'n': res.n_incidents,
          'clusters': len(res.clusters), 'hot99': int((res.grid['gi_class'] == 3).sum())}}
"""

SKLEARN_DBSCAN = f"""
import numpy as np
from sklearn.cluster import DBSCAN
X = np.load(sys.argv[1])
t = time.perf_counter()
model = DBSCAN(eps={EPS}, min_samples={MIN_SAMPLES}).fit(X)
extra = {{'fit': time.perf_counter() - t}}
np.save(sys.argv[2], model.labels_)
np.save(sys.argv[3], model.core_sample_indices_)
"""

GRID_DBSCAN = f"""
import numpy as np
from veilig.geo.clusters import GridDBSCAN
X = np.load(sys.argv[1])
t = time.perf_counter()
model = GridDBSCAN(eps={EPS}, min_samples={MIN_SAMPLES}).fit(X)
extra = {{'fit': time.perf_counter() - t}}
np.save(sys.argv[2], model.labels_)
np.save(sys.argv[3], model.core_sample_indices_)
"""

ESDA_GI = """
import warnings
import numpy as np
warnings.simplefilter('ignore')
from libpysal.weights.distance import DistanceBand
from esda.getisord import G_Local
from veilig.geo.gistar import gi_star_grid
d = np.load(sys.argv[1])
counts, mask, cell = d['counts'], d['mask'], float(d['cell'])
band, perms = float(sys.argv[2]), int(sys.argv[3])
rows, cols = np.nonzero(mask)
centres = np.column_stack([(cols + 0.5) * cell, (rows + 0.5) * cell])
t = time.perf_counter()
w = DistanceBand(centres, threshold=band, silence_warnings=True)
t_w = time.perf_counter() - t
t = time.perf_counter()
lg = G_Local(counts[mask].astype(float), w, transform='B', star=True, permutations=perms, seed=1)
t_g = time.perf_counter() - t
ours = gi_star_grid(counts, mask, cell=cell, band=band)
extra = {'weights': t_w, 'glocal': t_g, 'max_dz': float(np.abs(lg.Zs - ours.z[mask]).max())}
"""

OURS_GI = """
import statistics
import numpy as np
from veilig.geo.gistar import gi_star_grid
d = np.load(sys.argv[1])
counts, mask, cell = d['counts'], d['mask'], float(d['cell'])
band = float(sys.argv[2])
runs = []
for _ in range(5):
    t = time.perf_counter()
    res = gi_star_grid(counts, mask, cell=cell, band=band)  # z, p, BH-FDR and classes
    runs.append(time.perf_counter() - t)
extra = {'gi': statistics.median(runs), 'hot99': int((res.gi_class == 3).sum())}
"""


# run_measured reports ru_maxrss, which a child inherits from this (large) parent at fork; VmHWM
# belongs to the child's own address space after exec, so each snippet reports that instead.
OWN_PEAK = """
with open('/proc/self/status') as _status:
    _hwm = [int(line.split()[1]) for line in _status if line.startswith('VmHWM:')]
if _hwm:
    extra = {**globals().get('extra', {}), 'peak_mb': _hwm[0] / 1024}
"""


def measured(code: str, *args: str) -> dict:
    """:func:`common.run_measured` with the child's own peak memory."""
    return run_measured(code + OWN_PEAK, *args)


def sklearn_memory_estimate(X: np.ndarray, eps: float) -> tuple[int, float]:
    """(neighbour pairs, GB) that scikit-learn's DBSCAN would hold: one intp per pair plus ~120 B per point."""
    from scipy.spatial import cKDTree

    tree = cKDTree(X)
    pairs = int(tree.count_neighbors(tree, eps))
    return pairs, (pairs * 8 + X.shape[0] * 120) / 1e9


def same_clustering(labels_a, core_a, labels_b, core_b) -> str:
    n = labels_a.size
    ca = np.zeros(n, bool)
    ca[core_a] = True
    cb = np.zeros(n, bool)
    cb[core_b] = True
    if not (ca == cb).all():
        return f"core points differ ({int((ca != cb).sum())})"
    if not ((labels_a == -1) == (labels_b == -1)).all():
        return "noise differs"
    pairs = set(zip(labels_a[ca].tolist(), labels_b[cb].tolist()))
    if not len(pairs) == len(set(labels_a[ca].tolist())) == len(set(labels_b[cb].tolist())):
        return "core clusters differ"
    return f"equal ({len(pairs)} clusters, {int((labels_a == -1).sum()):,} noise)"


def gi_comparison(label: str, grid_file: Path) -> list[list[object]]:
    """Rows: ours, then esda with 0 and 99 permutations, on one grid; speed-up over the statistic alone."""
    g = measured(OURS_GI, str(grid_file), str(BAND))
    rows = [[label, "veilig gi_star_grid (z, p, FDR, classes)", f"{g['gi']:.4f}", "-", "-",
             f"{g['peak_mb']:.0f}", "-"]]
    for perms in (0, 99):
        e = measured(ESDA_GI, str(grid_file), str(BAND), str(perms))
        rows.append([label, f"esda G_Local, permutations={perms}", f"{e['glocal']:.3f}", f"{e['weights']:.2f}",
                     f"{e['glocal'] / g['gi']:,.0f}x", f"{e['peak_mb']:.0f}", f"{e['max_dz']:.1e}"])
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--memory-limit-gb", type=float, default=8.0,
                    help="skip scikit-learn DBSCAN when its neighbour lists would need more than this")
    ap.add_argument("--skip-250k", action="store_true", help="skip the 250,000-cell Gi* comparison")
    args = ap.parse_args()
    from veilig.geo.demo import generate_incidents
    from veilig.geo.io import write_incidents

    pipeline_rows, dbscan_rows, gi_rows, setup_rows = [], [], [], []
    base = measured(BASELINE)
    setup_rows.append(["baseline: Python + imports", "-", f"{base['seconds']:.1f}", f"{base['peak_mb']:.0f}"])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for n in args.sizes:
            df = generate_incidents(1, n)
            df["category"] = "drugs"  # every incident is analysed: the worst case
            src = tmp / f"demo{n}.parquet"
            write_incidents(df, src)
            del df
            url = f"sqlite:///{tmp / f'bench{n}.db'}"
            imp = measured(IMPORT, url, str(src))
            setup_rows.append([f"import {n:,} demo incidents into SQLite", f"{n:,}", f"{imp['seconds']:.1f}",
                               f"{imp['peak_mb']:.0f}"])

            pts_file, grid_file = tmp / f"pts{n}.npy", tmp / f"grid{n}.npz"
            p = measured(PIPELINE, url, str(pts_file), str(grid_file))
            pipeline_rows.append([f"{p['n']:,}", f"{p['load']:.1f}", f"{p['assign_buurt']:.1f}", f"{p['cluster']:.1f}",
                                  f"{p['gi_grid']:.2f}", f"{p['buurt_table']:.2f}", f"{p['pipeline']:.1f}",
                                  f"{p['peak_mb']:.0f}", p["clusters"], p["hot99"]])

            X = np.load(pts_file)
            ours = measured(GRID_DBSCAN, str(pts_file), str(tmp / "la.npy"), str(tmp / "ca.npy"))
            dbscan_rows.append([f"{n:,}", "veilig GridDBSCAN", f"{ours['fit']:.1f}", f"{ours['peak_mb']:.0f}", "-"])
            pairs, gb = sklearn_memory_estimate(X, EPS)
            if gb > args.memory_limit_gb:
                dbscan_rows.append([f"{n:,}", "scikit-learn DBSCAN", "skipped", "-",
                                    f"does not fit: {pairs:,} neighbour pairs, ~{gb:.0f} GB of neighbour lists "
                                    f"(limit {args.memory_limit_gb:g} GB)"])
            else:
                ref = measured(SKLEARN_DBSCAN, str(pts_file), str(tmp / "lb.npy"), str(tmp / "cb.npy"))
                verdict = same_clustering(np.load(tmp / "la.npy"), np.load(tmp / "ca.npy"),
                                          np.load(tmp / "lb.npy"), np.load(tmp / "cb.npy"))
                dbscan_rows.append([f"{n:,}", "scikit-learn DBSCAN", f"{ref['fit']:.1f}", f"{ref['peak_mb']:.0f}",
                                    f"{verdict}; est. {gb:.1f} GB lists"])
            del X

            cells = int(np.load(grid_file)["mask"].sum())
            label = f"{CELL:g} m grid, {n:,} incidents ({cells:,} cells)"
            gi_rows += gi_comparison(label, grid_file)

        if not args.skip_250k:
            rng = np.random.default_rng(0)
            big = tmp / "grid250k.npz"
            np.savez(big, counts=rng.poisson(2.0, (500, 500)), mask=np.ones((500, 500), bool), cell=CELL)
            label = "500 x 500 grid, Poisson counts (250,000 cells)"
            gi_rows += gi_comparison(label, big)

    print_table("Set-up (not part of the pipeline)", ["step", "rows", "time s", "peak MB"], setup_rows)
    print_table(f"Hotspot pipeline, all incidents as one category, {START}..{END} "
                f"(eps {EPS:g} m, min_samples {MIN_SAMPLES}, Gi* {CELL:g} m / {BAND:g} m, FDR); "
                "aim 1M: <= 20 s, <= 3 GB",
                ["incidents", "load s", "assign buurt s", "cluster s", "Gi* grid s", "buurt table s", "total s",
                 "peak MB", "clusters", "hot 99% cells"], pipeline_rows)
    print_table(f"DBSCAN eps {EPS:g} m, min_samples {MIN_SAMPLES}, on the pipeline's points",
                ["points", "tool", "fit s", "peak MB", "result"], dbscan_rows)
    print_table(f"Gi* (binary distance band {BAND:g} m, self included) on the same grid; aim >= 10x faster than esda",
                ["grid", "tool", "statistic s", "esda weights s", "veilig faster by", "peak MB",
                 "max |z - esda z|"], gi_rows)


if __name__ == "__main__":
    main()
