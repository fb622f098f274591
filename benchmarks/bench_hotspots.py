"""Benchmark: the hotspot pipeline on 100,000 and 1,000,000 incidents from the database, against today's path.

For each size, demo incidents (seed 1, 2023-2025) are imported into a fresh SQLite database and a
fresh PostgreSQL database (``--backends``) with every incident labelled ``drugs``, so that all of
them go through the pipeline (the worst case: the analysed category is the whole data set). Then,
each row in a fresh process (peak memory is that process's own high-water RSS, ``VmHWM``, Python
and libraries included; the time to start Python and import the libraries is a separate row):

* **the whole pipeline as the service runs it** (:func:`veilig.api.services.hotspot_result`'s
  steps, default parameters, inference included): load the incidents of the period and the
  previous one, the data span and the buurt statistics; assign buurten (only where the database
  has none); clusters; grid counts and Gi* with its inference; the buurt table; ``total`` is the
  wall time from opening the database to the result (``cpu s`` the process's CPU time over the
  same stretch: on a shared machine the wall time also counts other processes' turns);
* rows: **today's path** (the code of ``main`` at ``--peer`` (default: the ``main`` branch), run
  from a ``git archive`` of it in the same run, same database, same machine), then this tree's
  load straight from the database (no cache), with the columnar cache *cold* (its file removed
  first: built from the database inside the measured load) and *warm* (the file an import leaves);
* with ``--components``: scikit-learn's plain ``DBSCAN`` against ``GridDBSCAN`` on the same points,
  and esda's ``G_Local`` against ``gi_star_grid`` on the same grid (as before).

    python benchmarks/bench_hotspots.py [--sizes 100000 1000000] [--backends sqlite postgresql]
                                        [--peer main] [--components]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from common import drop_pg_database, fresh_pg_database, print_table, run_measured  # noqa: E402

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
db = open_database(sys.argv[1], cache_dir=sys.argv[3])
r = import_incidents_file(db, sys.argv[2])
assert r.committed, r.errors[:3]
extra = {'rows': r.inserted}
"""

# argv: peer tree or '-', database URL, cache dir or '-', points file or '-', grid file or '-'.
PIPELINE = f"""
import resource
if sys.argv[1] != '-':
    sys.path.insert(0, sys.argv[1])  # today's code, from a git archive of the peer commit
from datetime import date, timedelta
import numpy as np
import veilig.storage.incidents as storage_incidents
from veilig.storage import open_database
from veilig.storage.incidents import incident_span, load_buurt_stats, load_incidents
from veilig.geo.grid import zoetermeer_grid
from veilig.geo.hotspots import HotspotParams, compute_hotspots
from veilig.api.services import named_buurten
assert sys.argv[1] == '-' or storage_incidents.__file__.startswith(sys.argv[1]), storage_incidents.__file__

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

t_imports = time.perf_counter() - t0
t_start, c_start = time.perf_counter(), cpu()
kw = {{'cache_dir': sys.argv[3]}} if sys.argv[3] != '-' else {{}}
db = open_database(sys.argv[2], migrate=False, **kw)
start, end = date.fromisoformat('{START}'), date.fromisoformat('{END}')
load_from = start - timedelta(days=(end - start).days + 1)
inc = load_incidents(db, categories=['drugs'], start=load_from, end=end,
                     **({{'categorical': True}} if sys.argv[1] == '-' else {{}}))  # as services.hotspot_result
if sys.argv[1] == '-':
    inc = inc.drop(columns='ext_id')
span = incident_span(db)
stats = load_buurt_stats(db)
buurten = named_buurten(db, stats)
import inspect
ekw = {{}}
if 'exposure' in inspect.signature(compute_hotspots).parameters:  # as services.hotspot_result loads it
    from veilig.storage.exposure import load_exposure
    ekw = {{'exposure': load_exposure(db)}}
t_load = time.perf_counter() - t_start
res = compute_hotspots(inc, 'drugs', start, end, HotspotParams(), buurten=buurten, stats=stats,
                       data_start=span[0] if span else None, **ekw)
t_total, c_total = time.perf_counter() - t_start, cpu() - c_start
if sys.argv[4] != '-':
    pts = res.points[['x', 'y']].to_numpy()
    np.save(sys.argv[4], pts)
    cell = float(res.params.cell or {CELL})
    grid = zoetermeer_grid(cell)
    np.savez(sys.argv[5], counts=grid.counts(pts[:, 0], pts[:, 1]), mask=grid.mask, cell=cell)
extra = {{'imports': t_imports, 'load': t_load, 'timings': res.timings, 'total': t_total, 'cpu': c_total,
          'n': res.n_incidents, 'clusters': len(res.clusters), 'hot99': int((res.grid['gi_class'] == 3).sum())}}
"""

# compute_hotspots' stage names -> the table's columns; stages it reports beyond these go to "other".
STAGES = {"buurt s": ("assign_buurt",), "grid s": ("grid", "grid_counts"), "Gi* s": ("gi_grid", "gi", "inference"),
          "clusters s": ("cluster", "clusters"), "buurt table s": ("buurt_table",)}
_KNOWN = {k for keys in STAGES.values() for k in keys} | {"total", "select"}


def peer_tree(commit: str, dest: Path) -> tuple[Path, str]:
    """Today's code as an importable ``veilig`` package (the repository's layout mapped as pyproject does)."""
    repo = Path(__file__).resolve().parent.parent
    sha = subprocess.run(["git", "rev-parse", "--short", commit], cwd=repo, check=True, capture_output=True,
                         text=True).stdout.strip()
    src = dest / "src"
    src.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", sha], cwd=repo, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive, check=True)
    pkg = dest / "pkg" / "veilig"
    pkg.mkdir(parents=True)
    for f in (src / "core").iterdir():
        (pkg / f.name).symlink_to(f)
    for sub in ("geo", "ledger", "maps", "api", "storage", "data", "web"):
        (pkg / sub).symlink_to(src / sub)
    return dest / "pkg", sha


def pipeline_row(label: str, backend: str, p: dict) -> list[object]:
    t = p["timings"]

    def stage(keys: tuple[str, ...]) -> str:
        found = [t[k] for k in keys if k in t]
        return f"{sum(found):.2f}" if found else "-"

    other = ", ".join(f"{k} {v:.2f}" for k, v in t.items() if k not in _KNOWN) or "-"
    return [backend, f"{p['n']:,}", label, f"{p['load']:.2f}", *(stage(k) for k in STAGES.values()),
            f"{p['total']:.2f}", f"{p['cpu']:.2f}", f"{p['peak_mb']:.0f}", other, p["clusters"], p["hot99"]]


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
    ap.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"], choices=["sqlite", "postgresql"])
    ap.add_argument("--peer", default="main", help="git revision of today's path (default: main)")
    ap.add_argument("--components", action="store_true",
                    help="also compare GridDBSCAN with scikit-learn and gi_star_grid with esda")
    ap.add_argument("--memory-limit-gb", type=float, default=8.0,
                    help="skip scikit-learn DBSCAN when its neighbour lists would need more than this")
    ap.add_argument("--skip-250k", action="store_true", help="skip the 250,000-cell Gi* comparison")
    args = ap.parse_args()
    from veilig.geo.demo import generate_incidents
    from veilig.geo.io import write_incidents

    pipeline_rows, dbscan_rows, gi_rows, setup_rows = [], [], [], []
    base = measured(BASELINE)
    setup_rows.append(["baseline: Python + imports", "-", "-", f"{base['seconds']:.1f}", f"{base['peak_mb']:.0f}"])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        peer, peer_sha = peer_tree(args.peer, tmp / "peer")
        for n in args.sizes:
            df = generate_incidents(1, n)
            df["category"] = "drugs"  # every incident is analysed: the worst case
            src = tmp / f"demo{n}.parquet"
            write_incidents(df, src)
            del df
            for backend in args.backends:
                url = f"sqlite:///{tmp / f'bench{n}.db'}" if backend == "sqlite" else fresh_pg_database()
                if url is None:
                    continue
                cache = tmp / f"cache-{backend}-{n}"
                try:
                    imp = measured(IMPORT, url, str(src), str(cache))
                    setup_rows.append([f"import {n:,} demo incidents (and write the columnar cache)", backend,
                                       f"{n:,}", f"{imp['seconds']:.1f}", f"{imp['peak_mb']:.0f}"])
                    pts_file, grid_file = tmp / f"pts{n}.npy", tmp / f"grid{n}.npz"
                    p = measured(PIPELINE, str(peer), url, "-", "-", "-")
                    pipeline_rows.append(pipeline_row(f"today ({args.peer} {peer_sha})", backend, p))
                    p = measured(PIPELINE, "-", url, "-", "-", "-")
                    pipeline_rows.append(pipeline_row("this branch, read from the database", backend, p))
                    shutil.rmtree(cache, ignore_errors=True)
                    p = measured(PIPELINE, "-", url, str(cache), "-", "-")
                    pipeline_rows.append(pipeline_row("this branch, cache cold (built in the load)", backend, p))
                    p = measured(PIPELINE, "-", url, str(cache), str(pts_file), str(grid_file))
                    pipeline_rows.append(pipeline_row("this branch, cache warm", backend, p))
                    setup_rows.append([f"Python + imports of the pipeline ({n:,})", backend, "-",
                                       f"{p['imports']:.1f}", "-"])
                finally:
                    if backend == "postgresql":
                        drop_pg_database(url)
            if args.components:
                dbscan_rows += dbscan_comparison(n, tmp, tmp / f"pts{n}.npy", args.memory_limit_gb)
                grid_file = tmp / f"grid{n}.npz"
                cells = int(np.load(grid_file)["mask"].sum())
                gi_rows += gi_comparison(f"{float(np.load(grid_file)['cell']):g} m grid, {n:,} incidents "
                                         f"({cells:,} cells)", grid_file)
        if args.components and not args.skip_250k:
            rng = np.random.default_rng(0)
            big = tmp / "grid250k.npz"
            np.savez(big, counts=rng.poisson(2.0, (500, 500)), mask=np.ones((500, 500), bool), cell=CELL)
            gi_rows += gi_comparison("500 x 500 grid, Poisson counts (250,000 cells)", big)

    print_table("Set-up (not part of the pipeline)", ["step", "backend", "rows", "time s", "peak MB"], setup_rows)
    print_table(f"Hotspot pipeline from the database, all incidents as one category, {START}..{END} "
                "(default parameters, inference included); aim 1M: <= 5 s, <= 2 GB",
                ["backend", "incidents", "path", "load s", *STAGES, "total s", "cpu s", "peak MB", "other stages s",
                 "clusters", "hot 99% cells"], pipeline_rows)
    if args.components:
        print_table(f"DBSCAN eps {EPS:g} m, min_samples {MIN_SAMPLES}, on the pipeline's points",
                    ["points", "tool", "fit s", "peak MB", "result"], dbscan_rows)
        print_table(f"Gi* (binary distance band {BAND:g} m, self included) on the same grid; aim >= 10x faster "
                    "than esda", ["grid", "tool", "statistic s", "esda weights s", "veilig faster by", "peak MB",
                                  "max |z - esda z|"], gi_rows)


def dbscan_comparison(n: int, tmp: Path, pts_file: Path, memory_limit_gb: float) -> list[list[object]]:
    rows = []
    X = np.load(pts_file)
    ours = measured(GRID_DBSCAN, str(pts_file), str(tmp / "la.npy"), str(tmp / "ca.npy"))
    rows.append([f"{n:,}", "veilig GridDBSCAN", f"{ours['fit']:.1f}", f"{ours['peak_mb']:.0f}", "-"])
    pairs, gb = sklearn_memory_estimate(X, EPS)
    if gb > memory_limit_gb:
        rows.append([f"{n:,}", "scikit-learn DBSCAN", "skipped", "-",
                     f"does not fit: {pairs:,} neighbour pairs, ~{gb:.0f} GB of neighbour lists "
                     f"(limit {memory_limit_gb:g} GB)"])
    else:
        ref = measured(SKLEARN_DBSCAN, str(pts_file), str(tmp / "lb.npy"), str(tmp / "cb.npy"))
        verdict = same_clustering(np.load(tmp / "la.npy"), np.load(tmp / "ca.npy"),
                                  np.load(tmp / "lb.npy"), np.load(tmp / "cb.npy"))
        rows.append([f"{n:,}", "scikit-learn DBSCAN", f"{ref['fit']:.1f}", f"{ref['peak_mb']:.0f}",
                     f"{verdict}; est. {gb:.1f} GB lists"])
    return rows


if __name__ == "__main__":
    main()
