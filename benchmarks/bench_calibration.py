"""Benchmark: do the hotspot labels keep their promise? Null and planted runs, against today's method and esda.

Three methods on the same simulated incidents:

* ``analytic (round 1)``: the engine as it was: Gi* z on a 100 m grid (full cells) with a 300 m
  band, normal p, BH-FDR; clusters from DBSCAN eps 150 m / min_samples 5 (``gi_star_grid`` and
  ``GridDBSCAN``, the same code round 1 ran);
* ``esda p_sim (999)``: PySAL esda ``G_Local(..., transform='B', star=True, permutations=999)``
  on the same 100 m grid and band, two-sided ``min(1, 2 * p_sim)``, BH-FDR (fewer runs: it is
  slow; the count is in the table);
* ``exact (new default)``: ``compute_hotspots`` with its defaults: 50 m cells with their area
  inside Zoetermeer, band chosen from N, exact two-sided binomial test of each window count
  (``scipy.stats.binomtest``'s rule), BH-FDR, clusters = groups of cells hot at 95 %.

Null runs: N incidents uniform over the municipality (the null of the new default, and the one
round 1 claimed). Columns: share of runs with any hot cell at 99 %, >= 95 %, >= 90 % and with any
cluster; the binomial noise bound is ``level + 2 * sqrt(level * (1 - level) / runs)``.

Planted runs: three hotspots of 200 m radius at 2x, 4x and 8x the background intensity
(rejection sampling, N in total). Recall per hotspot: a 99 % hot cell within 200 m of its centre
("cell"), a cluster whose outline covers its centre ("cluster"), and both. Also: false 99 % cells
(more than 1 km from every planted centre) per run, total cluster area as a share of the city,
and the largest cluster's area relative to one planted hotspot's (pi * 200²).

Last: the whole in-memory pipeline at 1,000,000 incidents (time and peak RSS of a fresh process;
loading from the database is measured by ``bench_hotspots.py``), new default against round 1's.

    python benchmarks/bench_calibration.py [--runs 100] [--esda-runs 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, run_measured  # noqa: E402

from veilig.geo.clusters import GridDBSCAN  # noqa: E402
from veilig.geo.gistar import benjamini_hochberg, gi_classes, gi_star_grid  # noqa: E402
from veilig.geo.grid import zoetermeer_grid  # noqa: E402
from veilig.geo.hotspots import compute_hotspots  # noqa: E402
from veilig.geo.neighbourhoods import load_buurten, load_gemeente  # noqa: E402

SIZES = (300, 2_000, 20_000)
PLANTED_SIZES = (2_000, 20_000)
CENTRES = [(91537.0, 452013.0), (93561.0, 453489.0), (95513.0, 451437.0)]
FACTORS = (2.0, 4.0, 8.0)
RADIUS = 200.0
FAR = 1000.0
AREA = load_gemeente().geometry.iloc[0]
CITY_M2 = AREA.area
BUURTEN = load_buurten()


def sample(rng: np.random.Generator, n: int, planted: bool) -> np.ndarray:
    """``n`` points uniform over Zoetermeer, or with the three planted hotspots (rejection sampling)."""
    minx, miny, maxx, maxy = AREA.bounds
    out, have = [], 0
    top = max(FACTORS) if planted else 1.0
    while have < n:
        m = int((n - have) * 2.2 * (top if planted else 1.0)) + 100
        x, y = rng.uniform(minx, maxx, m), rng.uniform(miny, maxy, m)
        ok = shapely.contains_xy(AREA, x, y)
        x, y = x[ok], y[ok]
        if planted:
            w = np.ones(x.size)
            for (cx, cy), f in zip(CENTRES, FACTORS):
                w = np.where(np.hypot(x - cx, y - cy) <= RADIUS, f, w)
            keep = rng.uniform(0, top, x.size) < w
            x, y = x[keep], y[keep]
        out.append(np.column_stack([x, y]))
        have += x.size
    P = np.vstack(out)
    return P[:n]


def frame(P: np.ndarray) -> pd.DataFrame:
    n = len(P)
    return pd.DataFrame({"id": np.arange(n).astype(str), "occurred_at": pd.Timestamp("2025-06-01 12:00", tz="Europe/Amsterdam"),
                         "category": "drugs", "x": P[:, 0], "y": P[:, 1], "source": "bench"})


def outcome(cells_poly, cls, cluster_polys) -> dict:
    """Per run: any class 3/2/1 hot cell, clusters; per planted centre: 99 % cell near, cluster covering."""
    hot3 = cells_poly[cls == 3]
    centres = shapely.points(np.array(CENTRES))
    near3 = [bool(len(hot3)) and bool((shapely.distance(hot3, c) <= RADIUS).any()) for c in centres]
    covered = [bool(len(cluster_polys)) and bool(shapely.covers(cluster_polys, c).any()) for c in centres]
    far3 = 0
    if len(hot3):
        far_from_all = np.ones(len(hot3), dtype=bool)
        for c in centres:
            far_from_all &= shapely.distance(hot3, c) > FAR
        far3 = int(far_from_all.sum())
    areas = shapely.area(cluster_polys) if len(cluster_polys) else np.zeros(0)
    return {"any3": bool((cls == 3).any()), "any2": bool((cls >= 2).any()), "any1": bool((cls >= 1).any()),
            "clusters": len(cluster_polys), "near3": near3, "covered": covered, "far3": far3,
            "area_share": float(areas.sum() / CITY_M2), "max_area": float(areas.max(initial=0.0))}


def run_new(P: np.ndarray) -> dict:
    res = compute_hotspots(frame(P), "drugs", "2025-06-01", "2025-06-01", buurten=BUURTEN, data_start=None)
    return {**outcome(res.grid.geometry.values, res.grid["gi_class"].to_numpy(), res.clusters.geometry.values),
            "band": res.params.band}


_OLD_GRID = zoetermeer_grid(100.0)


def run_old(P: np.ndarray) -> dict:
    g = _OLD_GRID
    gi = gi_star_grid(g.counts(P[:, 0], P[:, 1]), g.mask, cell=100.0, band=300.0)
    labels = GridDBSCAN(150.0, 5).fit(P).labels_
    from veilig.geo.clusters import cluster_polygons, stable_labels

    polys = cluster_polygons(P, stable_labels(labels, P), 75.0)
    return outcome(g.cell_polygons(), gi.gi_class[g.mask], polys)


_ESDA_W = None


def run_esda(P: np.ndarray, seed: int) -> dict:
    global _ESDA_W
    from esda.getisord import G_Local
    from libpysal.weights.distance import DistanceBand

    g = _OLD_GRID
    rows, cols = g.cell_rows_cols()
    if _ESDA_W is None:
        centres = np.column_stack([g.x0 + (cols + 0.5) * 100.0, g.y0 + (rows + 0.5) * 100.0])
        _ESDA_W = DistanceBand(centres, threshold=300.0, silence_warnings=True)
    y = g.counts(P[:, 0], P[:, 1])[g.mask].astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gl = G_Local(y, _ESDA_W, transform="B", star=True, permutations=999, seed=seed)
    q = benjamini_hochberg(np.minimum(1.0, 2.0 * gl.p_sim))
    cls = gi_classes(gl.Zs, q)
    # Clusters as in the new default would need its grid; the peer's row reports cells only.
    return outcome(g.cell_polygons(), cls, np.empty(0, dtype=object))


def noise_bound(level: float, runs: int) -> float:
    return level + 2.0 * math.sqrt(level * (1.0 - level) / runs)


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--esda-runs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--skip-million", action="store_true")
    ap.add_argument("--only-new", action="store_true", help="only the new default's rows")
    args = ap.parse_args()
    methods = [("analytic (round 1)", lambda P, s: run_old(P), args.runs),
               ("esda p_sim (999)", run_esda, args.esda_runs),
               ("exact (new default)", lambda P, s: run_new(P), args.runs)]
    if args.only_new:
        methods = methods[2:]

    rows = []
    for n in SIZES:
        for name, fn, runs in methods:
            if runs <= 0:
                continue
            rng = np.random.default_rng([args.seed, n])
            t0 = time.perf_counter()
            outs = [fn(sample(rng, n, planted=False), args.seed * 1000 + r) for r in range(runs)]
            sec = (time.perf_counter() - t0) / runs
            band = f" (band {outs[0]['band']:g} m)" if "band" in outs[0] else ""
            rows.append([f"{n:,}", name + band, runs,
                         pct(np.mean([o["any3"] for o in outs])), pct(np.mean([o["any2"] for o in outs])),
                         pct(np.mean([o["any1"] for o in outs])),
                         "-" if name.startswith("esda") else pct(np.mean([o["clusters"] > 0 for o in outs])),
                         "-" if name.startswith("esda") else f"{np.mean([o['clusters'] for o in outs]):.1f}",
                         f"{sec:.2f}"])
            print(f"  null {n} {name}: done ({sec:.2f} s/run)", file=sys.stderr, flush=True)
    print_table("Null runs (uniform over Zoetermeer): share of runs with any hot cell / any cluster "
                f"(noise bound at {args.runs} runs: 99 % <= {pct(noise_bound(0.01, args.runs))}, "
                f"95 % <= {pct(noise_bound(0.05, args.runs))}, 90 % <= {pct(noise_bound(0.10, args.runs))})",
                ["incidents", "method", "runs", "any 99 %", "any >= 95 %", "any >= 90 %", "any cluster",
                 "clusters/run", "s/run"], rows)

    rows = []
    planted_area = math.pi * RADIUS ** 2
    for n in PLANTED_SIZES:
        for name, fn, runs in methods:
            if runs <= 0:
                continue
            rng = np.random.default_rng([args.seed, n, 7])
            outs = [fn(sample(rng, n, planted=True), args.seed * 1000 + r) for r in range(runs)]
            near = np.array([o["near3"] for o in outs], dtype=float)
            cov = np.array([o["covered"] for o in outs], dtype=float)
            esda = name.startswith("esda")
            recall = []
            for j in range(3):
                both = "-" if esda else pct(np.mean(near[:, j] * cov[:, j]))
                recall.append(f"{pct(near[:, j].mean())} / {'-' if esda else pct(cov[:, j].mean())} / {both}")
            band = f" (band {outs[0]['band']:g} m)" if "band" in outs[0] else ""
            rows.append([f"{n:,}", name + band, runs, *recall, f"{np.mean([o['far3'] for o in outs]):.1f}",
                         "-" if esda else pct(np.mean([o["area_share"] for o in outs])),
                         "-" if esda else f"{np.max([o['max_area'] for o in outs]) / planted_area:.1f}x"])
            print(f"  planted {n} {name}: done", file=sys.stderr, flush=True)
    print_table("Planted runs (2x, 4x, 8x background, 200 m radius): recall as 99 % cell within 200 m / "
                "cluster covering the centre / both",
                ["incidents", "method", "runs", "2x", "4x", "8x", "false 99 % cells/run (> 1 km)",
                 "cluster area / city", "largest cluster / planted area"], rows)

    if not args.skip_million:
        code = """
import numpy as np, pandas as pd
from veilig.geo.hotspots import compute_hotspots, HotspotParams
from veilig.geo.neighbourhoods import load_buurten
rng = np.random.default_rng(5)
from veilig.geo.demo import generate_incidents
df = generate_incidents(1, 1_000_000)
df['category'] = 'drugs'
buurten = load_buurten()
import time
t = time.perf_counter()
params = HotspotParams() if sys.argv[1] == 'new' else HotspotParams(clusters='raw', cell=100.0, band=300.0)
res = compute_hotspots(df, 'drugs', params=params, buurten=buurten)
extra = {'pipeline_s': time.perf_counter() - t, 'gi_grid_s': res.timings['gi_grid'], 'cluster_s': res.timings['cluster'],
         'clusters': len(res.clusters), 'band': res.params.band}
"""
        rows = []
        for which, label in (("old", "round 1 (raw DBSCAN 150/5, 100 m grid, band 300)"), ("new", "new default")):
            r = run_measured(code, which)
            rows.append([label, f"{r['pipeline_s']:.2f}", f"{r['gi_grid_s']:.3f}", f"{r['cluster_s']:.3f}",
                         f"{r['peak_mb']:.0f}", r["clusters"], f"{r['band']:g}"])
        print_table("1,000,000 demo incidents in memory (no database): compute_hotspots, fresh process",
                    ["pipeline", "seconds", "Gi* grid s", "clusters s", "peak RSS MB (incl. data)", "clusters",
                     "band m"], rows)


if __name__ == "__main__":
    main()
