"""``veilig emerging`` and ``GET /api/v1/emerging`` on real databases: files, fields, roles, disclosure."""

from __future__ import annotations

from veilig.dates import today_local
import csv
import io
import json
from datetime import date

import pyogrio
import pytest
from fastapi.testclient import TestClient

from veilig.geo.demo import generate_incidents
from veilig.geo.emerging import PATTERNS
from veilig.geo.io import write_incidents
from veilig.settings import Settings
from veilig.storage.auth import add_user
from veilig.storage.incidents import import_incidents_file

from helpers import run_cli

LOCATION_FIELDS = {"kind", "location_id", "pattern", "trend_tau", "trend_p", "n_significant_hot",
                   "n_significant_cold", "last_class"}


def test_emerging_command_writes_geojson_geopackage_and_csv(db, tmp_path):
    demo = generate_incidents(seed=5, n=8_000, start=date(2024, 1, 1), end=date(2025, 12, 31))
    write_incidents(demo, tmp_path / "demo.parquet")
    assert import_incidents_file(db, tmp_path / "demo.parquet").committed
    env = {"VEILIG_DATABASE_URL": db.engine.url.render_as_string(hide_password=False), "COLUMNS": "160"}

    proc = run_cli("emerging", "--category", "burglary", "--start", "2024-01-01", "--end", "2025-12-31",
                   "--step", "quarter", "--out", str(tmp_path / "e.geojson"), env=env)
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "8 stappen" in text and "synthetische demodata" in text and "geen patroon" in text
    fc = json.loads((tmp_path / "e.geojson").read_text(encoding="utf-8"))
    props = [f["properties"] for f in fc["features"]]
    assert len(props) > 3000 and all(p["kind"] == "location" for p in props)
    assert LOCATION_FIELDS <= set(props[0])
    assert {p["pattern"] for p in props} <= set(PATTERNS)
    assert fc["metadata"]["null_model"].startswith("conditional on each step's total")
    assert len(fc["metadata"]["steps"]) == 8

    proc = run_cli("emerging", "--category", "burglary", "--start", "2024-01-01", "--end", "2025-12-31",
                   "--step", "quarter", "--out", str(tmp_path / "e.gpkg"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert [name for name, _ in pyogrio.list_layers(tmp_path / "e.gpkg")] == ["locations", "bins", "layer_styles"]
    bins = pyogrio.read_dataframe(tmp_path / "e.gpkg", layer="bins")
    assert len(bins) == 8 * len(props)
    assert {"location_id", "step", "n_incidents", "gi_z", "gi_p", "gi_class"} <= set(bins.columns)
    assert int(bins["n_incidents"].sum()) == sum(p["n_incidents"] for p in props)

    proc = run_cli("emerging", "--category", "burglary", "--start", "2024-01-01", "--end", "2025-12-31",
                   "--locations", "buurt", "--out", str(tmp_path / "e.csv"), env=env)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "e.csv").read_text(encoding="utf-8"))))
    assert len(rows) == 26 and rows[0]["location_id"].startswith("BU0637") and rows[0]["name"]


@pytest.mark.parametrize("args, name", [
    (["--step", "day"], "step"), (["--time-window", "13"], "time_window"), (["--level", "0.2"], "level"),
    (["--locations", "wijk"], "locations"), (["--category", "fiets"], "categorie"),
    (["--start", "2025-02-01", "--end", "2025-01-01"], "--end"), (["--out", "x.shp"], "--out"),
])
def test_emerging_command_refuses_bad_options_by_name(args, name, tmp_path):
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}"}
    full = args if "--category" in args else ["--category", "drugs", *args]
    proc = run_cli("emerging", *full, env=env)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert name in proc.stderr and "Traceback" not in proc.stderr


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from veilig.api.app import create_app

    tmp = tmp_path_factory.mktemp("emerging_api")
    settings = Settings(database_url=f"sqlite:///{tmp / 'api.db'}", data_dir=tmp, tiles_enabled=False)
    app = create_app(settings)
    with TestClient(app) as client:
        tokens = {role: add_user(app.state.db, f"{role}-e", role) for role in ("analyst", "planner", "subsidy")}
        yield client, tokens


def _get(client, token, **params):
    return client.get("/api/v1/emerging", params=params, headers={"Authorization": f"Bearer {token}"})


def _year():
    y = today_local().year - 1
    return f"{y}-01-01", f"{y}-12-31"


def test_analysts_get_every_field_and_planners_no_z_and_no_small_counts(service):
    client, tokens = service
    start, end = _year()
    a = _get(client, tokens["analyst"], category="burglary", start=start, end=end, step="quarter", series=True)
    assert a.status_code == 200, a.text
    fa = a.json()["features"]
    assert LOCATION_FIELDS | {"trend_z", "series_z", "series_counts"} <= set(fa[0]["properties"])
    assert a.json()["metadata"]["synthetic"] is True
    p = _get(client, tokens["planner"], category="burglary", start=start, end=end, step="quarter", series=True)
    assert p.status_code == 200, p.text
    fp = p.json()["features"]
    assert [f["properties"]["pattern"] for f in fp] == [f["properties"]["pattern"] for f in fa]
    for f in fp:
        props = f["properties"]
        assert "trend_z" not in props and "series_z" not in props
        assert all(c is None or c == 0 or c >= 5 for c in props["series_counts"])
        assert props["n_incidents"] is None or props["n_incidents"] == 0 or props["n_incidents"] >= 5
        if any(c is None for c in props["series_counts"]):
            assert props["n_incidents"] is None  # the total would give the hidden step back
    assert p.json()["metadata"]["n_incidents"] is None
    # Some analyst counts really were 1-4, so the planner's view did hide something.
    assert any(0 < c < 5 for f in fa for c in f["properties"]["series_counts"])


def test_roles_periods_and_parameters_are_checked(service):
    client, tokens = service
    start, end = _year()
    assert _get(client, tokens["subsidy"], category="burglary", start=start, end=end).status_code == 403
    assert client.get("/api/v1/emerging", params={"category": "burglary"}).status_code == 401
    r = _get(client, tokens["planner"], category="burglary", start=start, end=end[:-2] + "15")
    assert r.status_code == 422 and "hele stappen" in r.json()["detail"]
    assert _get(client, tokens["planner"], category="burglary", start=start, end=end, cell=10).status_code == 403
    r = _get(client, tokens["analyst"], category="burglary", start=start, end=end, step="day")
    assert 400 <= r.status_code < 500 and "step" in r.json()["detail"]
    r = _get(client, tokens["analyst"], category="fiets", start=start, end=end)
    assert 400 <= r.status_code < 500 and "detail" in r.json()


def test_planners_without_a_period_get_the_data_cut_to_whole_steps(service):
    client, tokens = service
    r = _get(client, tokens["planner"], category="drugs", step="quarter")
    assert r.status_code == 200, r.text
    meta = r.json()["metadata"]
    assert meta["partial_steps"] == [] and meta["start"].endswith(("-01-01", "-04-01", "-07-01", "-10-01"))
