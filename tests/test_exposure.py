"""Exposure: edge cells count with their area inside, CBS squares are read as CBS writes them,
bad files are refused by row and field, and an imported grid changes the stated null (both databases)."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from veilig.errors import VeiligError
from veilig.geo.exposure import (
    ExposureCells,
    buurt_null,
    cell_areas_inside,
    grid_null,
    mixed_null,
    parse_cell_code,
    read_exposure_file,
    spread_cells,
    zoetermeer_cell_areas,
)
from veilig.geo.grid import StudyGrid, zoetermeer_grid
from veilig.geo.neighbourhoods import load_buurten, load_gemeente

from helpers import run_cli

AREA = load_gemeente().geometry.iloc[0]


def test_cbs_codes_name_the_lower_left_corner_in_hectometres():
    assert parse_cell_code("E0934N4545") == (93_400.0, 454_500.0, 100.0)
    assert parse_cell_code("N4545E0934") == (93_400.0, 454_500.0, 100.0)
    assert parse_cell_code("crs28992res100mN4545E0934") == (93_400.0, 454_500.0, 100.0)
    assert parse_cell_code("crs28992res500mE0930N4540") == (93_000.0, 454_000.0, 500.0)
    for bad in ("", "E934", "X0934N4545", "E0934N4545Z"):
        with pytest.raises(ValueError):
            parse_cell_code(bad)


def test_edge_cells_weigh_with_their_area_inside_the_municipality():
    for cell in (50.0, 100.0):
        grid = zoetermeer_grid(cell)
        a = zoetermeer_cell_areas(cell)
        assert a[grid.mask].sum() == pytest.approx(AREA.area, rel=1e-9)
        assert (a[grid.mask] > 0).all() and (a[~grid.mask] == 0).all()
        assert a.max() == pytest.approx(cell * cell)
        edge = a[grid.mask] < cell * cell - 1e-6
        assert 0.02 < edge.mean() < 0.5  # the boundary cells are partial, the interior full


@settings(max_examples=25, deadline=None)
@given(cx=st.floats(0, 1000), cy=st.floats(0, 1000), r=st.floats(30, 400), cell=st.sampled_from([25.0, 50.0, 100.0]))
def test_cell_areas_add_up_to_the_polygon_for_any_disk(cx, cy, r, cell):
    disk = shapely.Point(cx, cy).buffer(r)
    grid = StudyGrid.over(disk, cell)
    a = cell_areas_inside(grid, disk)
    assert a.sum() == pytest.approx(disk.area, rel=1e-9)
    assert (a <= cell * cell + 1e-6).all()


def test_dwellings_spread_over_the_grid_and_zero_dwelling_cells_stay_possible():
    grid = zoetermeer_grid(50.0)
    xs, ys = np.array([93_400.0, 93_500.0, 88_000.0]), np.array([452_900.0, 452_900.0, 440_000.0])
    cells = ExposureCells(x=xs, y=ys, value=np.array([400.0, 0.0, 999.0]), kind="dwellings")
    spread = spread_cells(cells, grid, AREA)
    assert spread.sum() == pytest.approx(400.0)  # the square outside Zoetermeer does not count
    rows, cols = grid.locate(np.array([93_425.0, 93_475.0]), np.array([452_925.0, 452_975.0]))
    assert spread[rows, cols] == pytest.approx([100.0, 100.0])  # a 100 m square over four 50 m cells
    null = grid_null(grid, zoetermeer_cell_areas(50.0), cells, AREA)
    assert null.null_model == "dwellings per 100 m cell"
    assert null.share[grid.mask].sum() == pytest.approx(1.0)
    assert (null.share[grid.mask] > 0).all()
    assert null.share[rows[0], cols[0]] == pytest.approx(0.95 * 0.25 + 0.05 * 2500 / AREA.area)
    with pytest.raises(VeiligError, match="area_mix"):
        mixed_null(np.ones(3), np.ones(3), "x", area_mix=0.0)


def test_buurt_null_uses_dwellings_only_when_every_buurt_has_them():
    b = load_buurten().sort_values("statcode").reset_index(drop=True)
    null, note = buurt_null(b, None)
    assert null.null_model == "uniform over the municipality" and note is None
    full = pd.DataFrame({"statcode": b["statcode"], "dwellings": np.arange(len(b)) * 100})
    null, note = buurt_null(b, full)
    assert null.null_model == "dwellings per buurt" and note is None
    assert null.share[0] > 0  # the buurt with 0 dwellings keeps its area share
    assert null.share[-1] / null.share[1] > 10
    null, note = buurt_null(b, full.iloc[:5])
    assert null.null_model == "uniform over the municipality" and "ontbreken voor 21 buurt" in note


def _write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_a_cbs_csv_with_codes_and_secrecy_codes_is_read(tmp_path):
    p = _write(tmp_path / "vk.csv", "crs28992res100m;aantal_inwoners;aantal_woningen\n"
               "E0934N4529;120;55\nE0935N4529;-99997;-99997\nE0936N4529;30;12\n")
    cells = read_exposure_file(p)
    assert cells.kind == "dwellings" and cells.size == 100.0
    np.testing.assert_array_equal(cells.x, [93_400.0, 93_500.0, 93_600.0])
    np.testing.assert_array_equal(cells.value, [55.0, 0.0, 12.0])
    assert any("geheimhoudingscode" in n for n in cells.notes)
    inh = read_exposure_file(p, column="aantal_inwoners")
    assert inh.kind == "inhabitants" and inh.null_model == "inhabitants per 100 m cell"


def test_a_csv_with_rd_corners_and_a_geopackage_are_read(tmp_path):
    p = _write(tmp_path / "xy.csv", "x,y,woningen\n93400,452900,10\n93500,452900,0\n")
    assert read_exposure_file(p).value.tolist() == [10.0, 0.0]
    import geopandas as gpd

    gdf = gpd.GeoDataFrame({"aantal_woningen": [7, 3]},
                           geometry=[shapely.box(93_400, 452_900, 93_500, 453_000),
                                     shapely.box(93_500, 452_900, 93_600, 453_000)], crs="EPSG:28992")
    gdf.to_file(tmp_path / "vk.gpkg", driver="GPKG")
    cells = read_exposure_file(tmp_path / "vk.gpkg")
    assert cells.x.tolist() == [93_400.0, 93_500.0] and cells.value.tolist() == [7.0, 3.0]


@pytest.mark.parametrize("text, match", [
    ("crs28992res100m;woningen\nE0934N4529;5\nhallo;5\n", "rij 2, veld crs28992res100m: 'hallo'"),
    ("crs28992res100m;woningen\nE0934N4529;5\nE0934N4529;6\n", "rij 2: vierkant .* staat ook op rij 1"),
    ("crs28992res100m;woningen\nE0934N4529;-3\n", "rij 1, veld woningen: -3 is negatief"),
    ("crs28992res100m;woningen\nE0934N4529;veel\n", "rij 1, veld woningen: 'veel' is geen getal"),
    ("x;y;woningen\n93450;452900;5\n", "rij 1: hoek .* ligt niet op het 100 m-raster"),
    ("x;y;woningen\n5;5;5\n", "ligt niet in Nederland"),
    ("crs28992res100m;inwoners_m\nE0934N4529;5\n", "geen kolom met woningen of inwoners"),
    ("code;woningen\nE0934N4529;0\n", "geen enkel vierkant"),
    ("foo;woningen\n1;5\n", "geen kolom met de vierkantcode"),
])
def test_bad_exposure_files_are_refused_naming_row_and_field(tmp_path, text, match):
    with pytest.raises(VeiligError, match=match):
        read_exposure_file(_write(tmp_path / "bad.csv", text))


def test_importing_an_exposure_grid_changes_the_stated_null_on_both_databases(db, tmp_path):
    from veilig.api import services
    from veilig.geo.demo import generate_incidents
    from veilig.geo.io import write_incidents
    from veilig.storage.exposure import load_exposure
    from veilig.storage.incidents import import_incidents_file

    demo = generate_incidents(seed=4, n=3_000)
    write_incidents(demo, tmp_path / "demo.parquet")
    assert import_incidents_file(db, tmp_path / "demo.parquet").committed
    env = {"VEILIG_DATABASE_URL": db.engine.url.render_as_string(hide_password=False), "COLUMNS": "200"}
    before = services.hotspot_result(db, "drugs", date(2025, 1, 1), date(2025, 12, 31))
    assert before.null_model == "uniform over the municipality"

    rows = ["crs28992res100m;aantal_woningen"]
    for x in range(920, 960):
        for y in range(4510, 4550):
            rows.append(f"E{x:04d}N{y:04d};{(x * 7 + y) % 40}")
    path = _write(tmp_path / "vierkanten.csv", "\n".join(rows) + "\n")
    bad = _write(tmp_path / "bad.csv", "crs28992res100m;aantal_woningen\nE0934N4529;5\nzomaar;1\n")
    proc = run_cli("import", "exposure", str(bad), env=env)
    assert proc.returncode == 2 and "rij 2" in proc.stderr and "Traceback" not in proc.stderr
    assert load_exposure(db) is None  # nothing half-written

    proc = run_cli("import", "exposure", str(path), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "1600 vierkanten" in proc.stdout and "dwellings per 100 m cell" in proc.stdout
    stored = load_exposure(db)
    assert stored is not None and len(stored.x) == 1600 and stored.kind == "dwellings"

    after = services.hotspot_result(db, "drugs", date(2025, 1, 1), date(2025, 12, 31))
    assert after.null_model == "dwellings per 100 m cell"
    assert (after.grid["null_model"] == "dwellings per 100 m cell").all()
    assert after.metadata()["null_grid"]["area_mix"] == 0.05
    proc = run_cli("hotspots", "--category", "drugs", "--out", str(tmp_path / "d.geojson"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "woningen per 100 m-vierkant" in proc.stdout and "gekozen uit het aantal incidenten" in proc.stdout
    fc = json.loads((tmp_path / "d.geojson").read_text(encoding="utf-8"))
    assert fc["metadata"]["null_model"] == "dwellings per 100 m cell"

    proc = run_cli("import", "exposure", "--clear", env=env)
    assert proc.returncode == 0 and load_exposure(db) is None
