"""``veilig hotspots`` on a real database: files and a summary, refusals without a traceback."""

from __future__ import annotations

import json
import sys

import pyogrio
import pytest

from veilig.geo.demo import generate_incidents
from veilig.geo.io import write_incidents
from veilig.storage.incidents import import_incidents_file

from helpers import run_cli


def test_hotspots_command_writes_geojson_and_geopackage_and_prints_a_summary(db, tmp_path):
    demo = generate_incidents(seed=5, n=12_000)
    write_incidents(demo, tmp_path / "demo.parquet")
    assert import_incidents_file(db, tmp_path / "demo.parquet").committed
    env = {"VEILIG_DATABASE_URL": db.engine.url.render_as_string(hide_password=False), "COLUMNS": "160"}

    proc = run_cli("hotspots", "--category", "drugs", "--start", "2025-01-01", "--end", "2025-12-31",
                   "--out", str(tmp_path / "drugs.geojson"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "Drugscriminaliteit, 2025-01-01 t/m 2025-12-31" in proc.stdout
    assert "synthetische demodata" in proc.stdout and "Stadscentrum" in proc.stdout
    # The summary names the null and the scale, and why that band.
    assert "gelijkmatig over de gemeente" in proc.stdout and "'uniform over the municipality'" in proc.stdout
    assert "schaal: cel 50 m, band" in proc.stdout and "gekozen uit het aantal incidenten" in proc.stdout
    assert "op 95 % heet" in proc.stdout
    fc = json.loads((tmp_path / "drugs.geojson").read_text(encoding="utf-8"))
    assert {f["properties"]["kind"] for f in fc["features"]} == {"cluster", "grid", "buurt"}
    assert fc["metadata"]["scale"]["band_chosen"] is True

    proc = run_cli("hotspots", "--category", "burglary", "--raw", "--method", "hdbscan", "--min-samples", "6",
                   "--cell", "200", "--band", "400", "--out", str(tmp_path / "burglary.gpkg"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "ruwe clustering: hdbscan" in proc.stdout and "band 400 m opgegeven" in proc.stdout
    assert [name for name, _ in pyogrio.list_layers(tmp_path / "burglary.gpkg")] == ["clusters", "grid", "buurten", "cluster_buurten",
                                                                                       "layer_styles"]
    clusters = pyogrio.read_dataframe(tmp_path / "burglary.gpkg", layer="clusters")
    assert clusters["cluster_method"].str.startswith("ruwe clustering").all() and clusters["p_value"].isna().all()


@pytest.mark.parametrize("args, name", [
    (["--cell", "50000"], "cell"), (["--cell", "0"], "cell"), (["--eps", "0"], "eps"),
    (["--min-samples", "0"], "min_samples"), (["--method", "kmeans"], "method"),
    (["--category", "fiets"], "categorie"), (["--start", "2025-02-01", "--end", "2025-01-01"], "--end"),
    (["--out", "x.shp"], "--out"),
])
def test_hotspots_command_refuses_bad_options_by_name(args, name, tmp_path, monkeypatch, capsys):
    from veilig.api.cli import main

    monkeypatch.setenv("VEILIG_DATABASE_URL", f"sqlite:///{tmp_path / 'v.db'}")
    full = args if "--category" in args else ["--category", "drugs", *args]
    monkeypatch.setattr(sys, "argv", ["veilig", "hotspots", *full])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert name in capsys.readouterr().err


def test_hotspots_command_on_an_empty_database_reports_an_empty_period_and_refuses_without_traceback(tmp_path):
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp_path / 'v.db'}"}
    proc = run_cli("hotspots", "--category", "drugs", "--out", str(tmp_path / "empty.geojson"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert "geen incidenten" in proc.stdout and (tmp_path / "empty.geojson").exists()
    proc = run_cli("hotspots", "--category", "drugs", "--cell", "50000", env=env)
    assert proc.returncode == 2 and "cell" in proc.stderr and "Traceback" not in proc.stderr
