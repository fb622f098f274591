"""Period comparison: hotspots of this period marked new or persistent against an earlier one, and what is gone."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from veilig.geo.hotspots import compute_hotspots
from veilig.geo.period_compare import compare_periods

CENTRES = {"A": (93494.0, 452949.0), "B": (92094.0, 450993.0), "C": (95478.0, 453562.0)}


def _incidents(rng, year: int, spots: str, n_background: int = 400, n_spot: int = 60) -> pd.DataFrame:
    from veilig.geo.neighbourhoods import load_gemeente

    area = load_gemeente().geometry.iloc[0]
    minx, miny, maxx, maxy = area.bounds
    import shapely

    xs, ys = [], []
    while len(xs) < n_background:
        x, y = rng.uniform(minx, maxx, 4000), rng.uniform(miny, maxy, 4000)
        inside = shapely.contains_xy(area, x, y)
        xs.extend(x[inside]), ys.extend(y[inside])
    xs, ys = list(xs[:n_background]), list(ys[:n_background])
    for s in spots:
        cx, cy = CENTRES[s]
        xs.extend(rng.normal(cx, 40, n_spot)), ys.extend(rng.normal(cy, 40, n_spot))
    n = len(xs)
    days = pd.to_datetime(rng.integers(0, 365, n), unit="D", origin=pd.Timestamp(f"{year}-01-01"))
    return pd.DataFrame({"occurred_at": days.tz_localize("Europe/Amsterdam") + pd.Timedelta(hours=12),
                         "category": "drugs", "x": xs, "y": ys, "id": [f"{year}-{i}" for i in range(n)]})


def _cell_of(result, xy):
    from shapely import Point

    hit = result.grid[result.grid.geometry.contains(Point(*xy))]
    return hit.iloc[0]


def test_cells_and_clusters_are_new_persistent_or_gone():
    rng = np.random.default_rng(4)
    inc = pd.concat([_incidents(rng, 2024, "AC"), _incidents(rng, 2025, "AB")], ignore_index=True)
    prev = compute_hotspots(inc, "drugs", date(2024, 1, 1), date(2024, 12, 31))
    cur = compute_hotspots(inc, "drugs", date(2025, 1, 1), date(2025, 12, 31), params=prev.params)
    marked, cmp = compare_periods(cur, prev)
    assert _cell_of(marked, CENTRES["A"])["change"] == "persistent"
    assert _cell_of(marked, CENTRES["B"])["change"] == "new"
    gone_c = _cell_of(prev, CENTRES["C"])["cell_id"]
    assert gone_c in cmp.gone_cells["hot"]
    assert cmp.cells["hot"]["persistent"] >= 1 and cmp.cells["hot"]["new"] >= 1 and cmp.cells["hot"]["gone"] >= 1
    # Cells that are not significant carry no change.
    assert set(marked.grid.loc[marked.grid["gi_class"] == 0, "change"]) <= {""}
    if len(marked.clusters):
        assert set(marked.clusters["change"]) <= {"new", "persistent"}
    assert "vergeleken met 2024-01-01 t/m 2024-12-31" in marked.messages[-1]
    # Comparing a period with itself: everything persists, nothing is new or gone.
    same, c2 = compare_periods(cur, cur)
    assert c2.cells["hot"]["new"] == c2.cells["hot"]["gone"] == 0
    assert c2.clusters["new"] == c2.clusters["gone"] == 0


def test_hotspots_command_compares_with_a_year_or_a_period(db, tmp_path):
    import json

    from veilig.geo.demo import generate_incidents
    from veilig.geo.io import write_incidents
    from veilig.storage.incidents import import_incidents_file

    from helpers import run_cli

    demo = generate_incidents(seed=3, n=8_000, start=date(2024, 1, 1), end=date(2025, 12, 31))
    write_incidents(demo, tmp_path / "demo.parquet")
    assert import_incidents_file(db, tmp_path / "demo.parquet").committed
    env = {"VEILIG_DATABASE_URL": db.engine.url.render_as_string(hide_password=False), "COLUMNS": "200"}
    proc = run_cli("hotspots", "--category", "drugs", "--start", "2025-01-01", "--end", "2025-12-31",
                   "--compare", "2024", "--out", str(tmp_path / "c.geojson"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "vergeleken met 2024-01-01 t/m 2024-12-31" in " ".join(proc.stdout.split())
    fc = json.loads((tmp_path / "c.geojson").read_text(encoding="utf-8"))
    grid = [f["properties"] for f in fc["features"] if f["properties"]["kind"] == "grid"]
    changes = {p["change"] for p in grid}
    assert changes <= {"", "new", "persistent"} and changes & {"new", "persistent"}
    assert all(p["change"] in ("new", "persistent") for p in grid if p["gi_class"] != 0)
    proc = run_cli("hotspots", "--category", "drugs", "--start", "2025-07-01", "--end", "2025-12-31",
                   "--previous", "2025-01-01", "2025-06-30", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "vergeleken met 2025-01-01 t/m 2025-06-30" in " ".join(proc.stdout.split())
    proc = run_cli("hotspots", "--category", "drugs", "--compare", "2024", "--previous", "2024-01-01",
                   "2024-06-30", env=env)
    assert proc.returncode == 2 and "--compare" in proc.stderr
