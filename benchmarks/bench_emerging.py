"""Benchmark: emerging hot spots on 1,000,000 incidents over 36 monthly steps, 100 m grid (3,853 x 36 bins).

Demo incidents (seed 1, 2023-01-01 .. 2025-12-31), every one labelled ``drugs`` so that all of
them go through the analysis. Each row runs in a fresh process (time = its wall time for the
step, memory = its high-water RSS, ``VmHWM``, Python and libraries included):

* ``emerging_hot_spots`` on the table in memory: binning into the cube, space-time Gi* with exact
  binomial tails and BH-FDR per slice, Mann-Kendall on z and on counts, the 17 patterns;
* the same from a SQLite database (``load_incidents`` included);
* the peer: a loop over the 36 monthly slices with esda ``G_Local(y, DistanceBand(300 m),
  transform='B', star=True)`` (spatial only: esda has no space-time window), permutations 0 and 99,
  on the same cube's counts (weights built once, outside the timed loop; shown separately).

    python benchmarks/bench_emerging.py [--incidents 1000000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import print_table, run_measured  # noqa: E402

START, END = "2023-01-01", "2025-12-31"

MAKE = """
from datetime import date
from veilig.geo.demo import generate_incidents
from veilig.geo.io import write_incidents
inc = generate_incidents(seed=1, n=int(sys.argv[1]), start=date(2023, 1, 1), end=date(2025, 12, 31))
inc['category'] = 'drugs'
write_incidents(inc, sys.argv[2])
inc.drop(columns=['description']).to_parquet(sys.argv[3])  # plain columns for the in-memory runs
extra = {'rows': len(inc)}
"""

IMPORT = """
from veilig.storage import open_database
from veilig.storage.incidents import import_incidents_file
r = import_incidents_file(open_database(sys.argv[1]), sys.argv[2])
assert r.committed
extra = {'rows': r.inserted}
"""

BASELINE = """
import veilig.geo.emerging, veilig.geo.spacetime, geopandas, scipy.stats
"""

IN_MEMORY = """
import pandas as pd
from datetime import date
from veilig.geo.emerging import emerging_hot_spots, EmergingParams
from veilig.geo.spacetime import grid_locations
inc = pd.read_parquet(sys.argv[1], columns=['occurred_at', 'category', 'x', 'y', 'source'])
grid_locations(100.0, 300.0)  # the grid and its exposure are cached per process, as in the service
t_in = time.perf_counter()
r = emerging_hot_spots(inc, 'drugs', date(2023, 1, 1), date(2025, 12, 31), EmergingParams())
t0 = t0 + (t_in - t0)  # time the analysis, not reading the file
extra = {'bins': int(r.cube.counts.size), 'locations': len(r.locations), 'steps': len(r.steps),
         'n': int(r.cube.counts.sum()), 'patterned': int((r.locations['pattern'] != 'no_pattern').sum()),
         'timings': {k: round(v, 3) for k, v in r.timings.items()}}
"""

FROM_DB = """
from datetime import date
from veilig.storage import open_database
from veilig.storage.incidents import load_incidents
from veilig.geo.emerging import emerging_hot_spots, EmergingParams
from veilig.geo.spacetime import grid_locations
db = open_database(sys.argv[1])
grid_locations(100.0, 300.0)
t_in = time.perf_counter(); t0 = t_in
inc = load_incidents(db, categories=['drugs'], start=date(2023, 1, 1), end=date(2025, 12, 31))
t_load = time.perf_counter() - t_in
r = emerging_hot_spots(inc, 'drugs', date(2023, 1, 1), date(2025, 12, 31), EmergingParams())
extra = {'load': round(t_load, 2), 'n': int(r.cube.counts.sum())}
"""

PEER = """
import numpy as np, pandas as pd, warnings
from datetime import date
from libpysal.weights.distance import DistanceBand
from esda.getisord import G_Local
from veilig.geo.spacetime import grid_locations, build_cube, time_steps, local_days
inc = pd.read_parquet(sys.argv[1], columns=['occurred_at', 'x', 'y'])
locs = grid_locations(100.0, 300.0)
steps = time_steps(date(2023, 1, 1), date(2025, 12, 31), 'month')
cube = build_cube(inc['x'].to_numpy(), inc['y'].to_numpy(), local_days(inc['occurred_at']), steps, locs)
rows, cols = locs.grid.cell_rows_cols()
centres = np.column_stack([locs.grid.x0 + (cols + 0.5) * 100.0, locs.grid.y0 + (rows + 0.5) * 100.0])
tw = time.perf_counter()
w = DistanceBand(centres, threshold=300.0, silence_warnings=True)
t_weights = time.perf_counter() - tw
perms = int(sys.argv[2])
t0 = time.perf_counter()
with warnings.catch_warnings():
    warnings.simplefilter('ignore')
    for t in range(cube.counts.shape[1]):
        G_Local(cube.counts[:, t].astype(float), w, transform='B', star=True, permutations=perms, seed=1)
extra = {'weights': round(t_weights, 2)}
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--incidents", type=int, default=1_000_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        geo = str(Path(tmp) / "demo.parquet")
        data = str(Path(tmp) / "plain.parquet")
        made = run_measured(MAKE, str(args.incidents), geo, data)
        db_url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        imported = run_measured(IMPORT, db_url, geo)
        base = run_measured(BASELINE)
        ours = run_measured(IN_MEMORY, data)
        from_db = run_measured(FROM_DB, db_url)
        peers = {p: run_measured(PEER, data, str(p)) for p in (0, 99)}
    n = f"{made['rows']:,}"
    rows = [
        ["baseline (imports only)", "-", f"{base['seconds']:.2f}", f"{base['peak_mb']:.0f}", ""],
        ["veilig emerging (in memory): cube, space-time Gi* exact + FDR/slice, MK, patterns", n,
         f"{ours['seconds']:.2f}", f"{ours['peak_mb']:.0f}",
         f"{ours['locations']} locations x {ours['steps']} steps = {ours['bins']:,} bins; "
         f"{ours['patterned']} with a pattern; stages {ours['timings']}"],
        ["veilig emerging from SQLite (load_incidents included)", n, f"{from_db['seconds']:.2f}",
         f"{from_db['peak_mb']:.0f}", f"load {from_db['load']} s"],
    ]
    for p, r in peers.items():
        rows.append([f"peer: esda G_Local x 36 slices, permutations={p} (spatial only)", n, f"{r['seconds']:.2f}",
                     f"{r['peak_mb']:.0f}", f"DistanceBand weights {r['weights']} s (not in the time)"])
    print(f"(data: {n} demo incidents 2023-2025, generated in {made['seconds']:.1f} s; "
          f"SQLite import {imported['seconds']:.1f} s)")
    print_table("Emerging hot spots, 100 m grid, 36 monthly steps, time window 1, band 300 m",
                ["run", "incidents", "seconds", "peak MB (VmHWM)", "notes"], rows)


if __name__ == "__main__":
    main()
