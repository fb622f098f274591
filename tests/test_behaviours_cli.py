"""Command-line behaviours that had no test: maps as offline files, `veilig rhythm`, `veilig plan`,
the configurable label table, the 250 m boundary margin and the shared-edge rule.

Every command runs as a real process (`python -m veilig.api ...`) on a real SQLite database.
"""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from helpers import require, run_cli
from veilig.geo.demo import generate_incidents
from veilig.geo.io import write_incidents
from veilig.geo.neighbourhoods import assign_buurt, load_buurten

TZ = "Europe/Amsterdam"


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    """A database with one year (2025) of synthetic incidents, imported through the CLI."""
    tmp = tmp_path_factory.mktemp("cli")
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp / 'cli.db'}", "VEILIG_DATA_DIR": str(tmp),
           "VEILIG_TILES_ENABLED": "false"}
    df = generate_incidents(3, 4000, date(2025, 1, 1), date(2025, 12, 31))
    csv = tmp / "demo.csv"
    write_incidents(df, csv)
    proc = run_cli("import", "incidents", str(csv), env=env)
    assert proc.returncode == 0, proc.stderr
    return env, tmp, df


# ------------------------------------------------------------------ maps as files


@pytest.mark.parametrize("args", [
    ("hotspots", "--category", "burglary", "--role", "planner"),
    ("rhythm", "--theme", "jeugd", "--week", "2025-W40", "--weekday", "4", "--shift", "16-24"),
    ("subsidy",),
])
def test_a_map_file_opens_offline_with_leaflet_beside_it(loaded, args):
    env, tmp, _ = loaded
    vendor = Path(__file__).resolve().parents[1] / "api" / "static" / "vendor" / "leaflet"
    require(vendor.exists(), "Leaflet not vendored (scripts/vendor_static.sh)")
    out = tmp / "kaarten" / f"{args[0]}.html"
    proc = run_cli("map", *args, "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    html = out.read_text(encoding="utf-8")
    # Every script and stylesheet is a relative path that exists next to the file.
    refs = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', html)
    assert any("leaflet" in r for r in refs), refs
    for ref in refs:
        assert not re.match(r"^(https?:)?//", ref), ref
        assert (out.parent / ref.lstrip("/")).is_file(), ref
    assert not re.search(r"https?://(?!www\.w3\.org)", html.replace("http://www.w3.org", ""))


def test_map_refuses_a_file_that_is_not_html(loaded):
    env, tmp, _ = loaded
    proc = run_cli("map", "subsidy", "--out", str(tmp / "kaart.png"), env=env)
    assert proc.returncode != 0 and "html" in (proc.stderr + proc.stdout)
    assert "Traceback" not in proc.stderr


# ------------------------------------------------------------------ rhythm and plan


def test_veilig_rhythm_counts_every_youth_incident_at_its_local_weekday_and_hour(loaded):
    env, _, df = loaded
    proc = run_cli("rhythm", "--theme", "jeugd", "--start", "2025-03-01", "--end", "2025-03-31", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    counts = np.array(json.loads(proc.stdout)["counts"])
    assert counts.shape == (7, 24)
    local = pd.to_datetime(df["occurred_at"]).dt.tz_convert(TZ)
    sel = (df["category"] == "overlast_jeugd") & (local.dt.date >= date(2025, 3, 1)) & (local.dt.date <= date(2025, 3, 31))
    expected = np.zeros((7, 24), dtype=int)
    np.add.at(expected, (local[sel].dt.day_of_week.to_numpy(), local[sel].dt.hour.to_numpy()), 1)
    assert sel.sum() > 20
    np.testing.assert_array_equal(counts, expected)


def test_veilig_plan_prints_the_plan_and_writes_it_as_csv(loaded):
    env, tmp, _ = loaded
    out = tmp / "plan.csv"
    proc = run_cli("plan", "--theme", "jeugd", "--week", "2025-W40", "--pairs", "2", "--csv", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(out)
    # Seven days x three default shifts x two pairs.
    assert len(table) == 7 * 3 * 2
    assert set(table["shift"]) == {"08-16", "16-24", "00-08"}
    assert table["date"].min() == "2025-09-29" and table["date"].max() == "2025-10-05"
    assert "Terugblik" in proc.stdout  # the back-test of the week before
    assert "2025-09-22" in proc.stdout


# ------------------------------------------------------------------ label table


def test_a_category_map_file_adds_source_labels(tmp_path):
    labels = tmp_path / "labels.csv"
    labels.write_text("label,category\nHennepkwekerij zolder,drugs\nSchuurinbraak (poging),inbraak_schuur\n",
                      encoding="utf-8")
    buurt = load_buurten().geometry.iloc[0].representative_point()
    rows = tmp_path / "in.csv"
    rows.write_text("id,occurred_at,category,x,y\n"
                    f"a,2025-05-01T10:00:00+02:00,Hennepkwekerij zolder,{buurt.x},{buurt.y}\n"
                    f"b,2025-05-02T10:00:00+02:00,Schuurinbraak (poging),{buurt.x},{buurt.y}\n", encoding="utf-8")
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp_path / 'l.db'}", "VEILIG_DATA_DIR": str(tmp_path)}
    without = run_cli("import", "incidents", str(rows), env=env)
    assert without.returncode != 0 and "Hennepkwekerij zolder" in without.stderr + without.stdout
    with_map = run_cli("import", "incidents", str(rows), env={**env, "VEILIG_CATEGORY_MAP_FILE": str(labels)})
    assert with_map.returncode == 0, with_map.stderr
    import sqlite3

    con = sqlite3.connect(tmp_path / "l.db")
    try:
        cats = dict(con.execute("SELECT ext_id, category FROM incidents").fetchall())
    finally:
        con.close()
    assert cats == {"a": "drugs", "b": "inbraak_schuur"}


# ------------------------------------------------------------------ boundaries


def _outward_point(distance: float) -> tuple[float, float]:
    """A point ``distance`` metres outside the municipality, straight out from its eastern edge."""
    city = shapely.union_all(load_buurten().geometry.values)
    minx, miny, maxx, maxy = city.bounds
    y = (miny + maxy) / 2
    # The easternmost boundary point on the horizontal line through y.
    crossing = city.boundary.intersection(shapely.LineString([(minx - 1, y), (maxx + 1, y)]))
    east = max(p.x for p in getattr(crossing, "geoms", [crossing]))
    # Walk out until the true distance to the city is the one wanted.
    lo, hi = east, east + distance * 3
    for _ in range(60):
        mid = (lo + hi) / 2
        if city.distance(shapely.Point(mid, y)) < distance:
            lo = mid
        else:
            hi = mid
    return hi, y


def test_points_within_250_m_go_to_the_nearest_buurt_and_beyond_are_outside():
    x_in, y_in = _outward_point(249.0)
    x_out, y_out = _outward_point(251.0)
    codes, dist = assign_buurt(np.array([x_in, x_out]), np.array([y_in, y_out]))
    assert codes[0] is not None and 248.5 <= dist[0] <= 249.5
    assert codes[1] is None


def test_a_point_on_a_shared_edge_goes_to_the_lowest_statcode():
    buurten = load_buurten().sort_values("statcode").reset_index(drop=True)
    found = None
    for i in range(len(buurten)):
        for j in range(i + 1, len(buurten)):
            a, b = buurten.geometry.iloc[i], buurten.geometry.iloc[j]
            shared = (set(map(tuple, shapely.get_coordinates(a.boundary)))
                      & set(map(tuple, shapely.get_coordinates(b.boundary))))
            if shared:
                found = (buurten["statcode"].iloc[i], buurten["statcode"].iloc[j], sorted(shared)[0])
                break
        if found:
            break
    assert found, "adjacent buurten share vertices"
    low, high, (x, y) = found
    assert low < high
    codes, dist = assign_buurt(np.array([x]), np.array([y]))
    # The vertex may be shared by more than two buurten: it goes to the lowest of all of them.
    owners = sorted(c for c, g in zip(buurten["statcode"], buurten.geometry) if g.intersects(shapely.Point(x, y)))
    assert codes[0] == owners[0] and dist[0] == 0
