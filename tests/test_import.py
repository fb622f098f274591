"""Incident import: every row validated, all or nothing, idempotent, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from veilig.errors import VeiligError
from veilig.geo.demo import generate_incidents
from veilig.geo.io import _parse_times, read_incidents, write_incidents
from veilig.storage.incidents import count_incidents, import_incidents_file, load_incidents
from veilig.storage.models import ImportBatch, Incident

from helpers import run_cli

GOOD = [
    ("A-1", "2025-03-01T21:30:00+01:00", "Diefstal/inbraak woning", "93494.0", "452949.0", ""),
    ("A-2", "2025-03-02 14:00", "Drugshandel", "92449.0", "452208.0", "bij de flat"),
    ("A-3", "02-03-2025 22:15", "Overlast jeugd", "93639.0", "453994.0", ""),
]
BAD = [
    ("B-1", "2025-03-03T10:00:00+01:00", "drugs", "233000.0", "582000.0", "Groningen"),  # row 4
    ("B-2", "31-02-2025", "woninginbraak", "93494.0", "452949.0", ""),                  # row 5
    ("B-3", "2025-03-03T10:00:00+01:00", "fietsendiefstal", "93494.0", "452949.0", ""),  # row 6
    ("A-1", "2025-03-04T10:00:00+01:00", "drugs", "93494.0", "452949.0", ""),           # row 7
]


def _csv(path, rows):
    lines = ["id,occurred_at,category,x,y,description"]
    lines += [",".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _snapshot(db):
    with db.engine.connect() as conn:
        incidents = conn.execute(select(Incident.source, Incident.ext_id, Incident.occurred_at, Incident.category,
                                        Incident.x, Incident.y, Incident.buurt).order_by(Incident.id)).fetchall()
        batches = conn.execute(select(func.count()).select_from(ImportBatch)).scalar_one()
    return incidents, batches


def test_a_file_with_four_bad_rows_is_refused_whole_and_names_each(db, tmp_path):
    import_incidents_file(db, _csv(tmp_path / "first.csv", GOOD[:1]), source="politie")
    before = _snapshot(db)
    report = import_incidents_file(db, _csv(tmp_path / "bad.csv", GOOD + BAD), source="politie")
    assert not report.committed and report.inserted == 0
    found = {(e.row, e.field) for e in report.errors}
    assert found == {(4, "location"), (5, "occurred_at"), (6, "category"), (7, "id")}
    text = "\n".join(map(str, report.errors))
    assert "bad.csv, rij 4, veld location" in text and "buiten Zoetermeer" in text
    assert re.search(r"buiten Zoetermeer: \d{1,3}(\.\d{3})*,\d km ", text)  # Dutch decimal comma
    assert "rij 5, veld occurred_at" in text and "31-02-2025" in text
    assert "rij 6, veld category" in text and "fietsendiefstal" in text
    assert "rij 7, veld id" in text and "staat ook op rij 1" in text
    assert _snapshot(db) == before


def test_cli_refuses_the_bad_file_with_a_report_and_no_traceback(tmp_path, sqlite_url):
    env = {"VEILIG_DATABASE_URL": sqlite_url}
    proc = run_cli("import", "incidents", str(_csv(tmp_path / "bad.csv", GOOD + BAD)), env=env)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    for row, fld in ((4, "location"), (5, "occurred_at"), (6, "category"), (7, "id")):
        assert f"bad.csv, rij {row}, veld {fld}" in proc.stderr
    proc = run_cli("import", "incidents", str(tmp_path / "bad.csv"), "--skip-invalid", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "3 incidenten geïmporteerd" in proc.stdout and "4 ongeldig" in proc.stdout


def test_skip_invalid_imports_the_valid_rows(db, tmp_path):
    report = import_incidents_file(db, _csv(tmp_path / "bad.csv", GOOD + BAD), skip_invalid=True)
    assert report.committed and report.inserted == 3 and report.invalid_rows == 4
    df = load_incidents(db, include_description=True)
    assert sorted(df["ext_id"]) == ["A-1", "A-2", "A-3"]
    assert set(df["category"]) == {"woninginbraak", "drugs", "overlast_jeugd"}
    row = df.set_index("ext_id").loc["A-1"]
    assert row["occurred_at"] == pd.Timestamp("2025-03-01T20:30:00Z")
    assert row["buurt"] == "BU06370002"


def test_reimporting_the_same_file_changes_nothing(db, tmp_path):
    path = tmp_path / "demo.csv"
    write_incidents(generate_incidents(5, 800), path)
    first = import_incidents_file(db, path)
    before = _snapshot(db)[0]
    second = import_incidents_file(db, path)
    assert first.inserted == 800
    assert second.inserted == 0 and second.skipped_existing == 800
    assert _snapshot(db)[0] == before
    # The same ids under another source are other incidents.
    third = import_incidents_file(db, path, source="andere_bron")
    assert third.inserted == 800 and count_incidents(db) == 1600


@pytest.mark.parametrize("suffix", [".gpkg", ".parquet", ".geojson"])
def test_geodata_formats_import_with_their_crs(db, tmp_path, suffix):
    df = generate_incidents(7, 300)
    path = tmp_path / f"inc{suffix}"
    if suffix == ".geojson":
        import geopandas as gpd

        gdf = gpd.GeoDataFrame(df.drop(columns=["x", "y"]).assign(occurred_at=df["occurred_at"].map(str)),
                               geometry=gpd.points_from_xy(df["x"], df["y"]), crs="EPSG:28992").to_crs(4326)
        gdf.to_file(path, driver="GeoJSON")
    else:
        write_incidents(df, path)
    report = import_incidents_file(db, path)
    assert report.committed and report.inserted == 300, report.errors[:3]
    stored = load_incidents(db).sort_values("ext_id").reset_index(drop=True)
    expected = df.sort_values("id").reset_index(drop=True)
    assert (abs(stored["x"] - expected["x"]) < 0.01).all()  # WGS84 round trip: centimetres
    assert (stored["occurred_at"] == expected["occurred_at"].dt.tz_convert("UTC")).all()


def test_csv_with_lat_lon_is_read_as_wgs84(db, tmp_path):
    path = tmp_path / "latlon.csv"
    path.write_text("id,occurred_at,category,lat,lon\nL-1,2025-05-01T12:00:00+02:00,drugs,52.0575,4.4931\n")
    report = import_incidents_file(db, path)
    assert report.inserted == 1
    row = load_incidents(db).iloc[0]
    assert 88_000 < row["x"] < 99_000 and 449_000 < row["y"] < 457_000


def test_a_declared_crs_is_never_overridden(tmp_path):
    path = tmp_path / "inc.gpkg"
    write_incidents(generate_incidents(7, 20), path)
    with pytest.raises(VeiligError, match="het bestand noemt"):
        read_incidents(path, crs="EPSG:4326")


def test_unsupported_or_broken_files_are_refused_clearly(tmp_path):
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(VeiligError, match="wordt niet ondersteund"):
        read_incidents(tmp_path / "x.txt")
    (tmp_path / "x.gpkg").write_bytes(b"not a geopackage")
    with pytest.raises(VeiligError, match="geen leesbaar GeoPackage"):
        read_incidents(tmp_path / "x.gpkg")
    (tmp_path / "cols.csv").write_text("a,b\n1,2\n")
    with pytest.raises(VeiligError, match="ontbrekende kolom"):
        read_incidents(tmp_path / "cols.csv")


def test_local_times_without_offset_follow_amsterdam_and_refuse_the_ambiguous_hour():
    s = pd.Series(["2025-07-01 12:00", "2025-01-01 12:00", "2025-10-26 02:30", "2025-03-30 02:30",
                   "2025-10-26T02:30:00+02:00"])
    times, reasons = _parse_times(s)
    assert times[0] == pd.Timestamp("2025-07-01T10:00Z")
    assert times[1] == pd.Timestamp("2025-01-01T11:00Z")
    assert "dubbelzinnige" in reasons[2]  # 02:30 on the autumn day happens twice
    assert "niet-bestaande" in reasons[3]  # 02:30 on the spring day does not happen
    assert times[4] == pd.Timestamp("2025-10-26T00:30Z") and reasons[4] == ""


@settings(max_examples=100, deadline=None)
@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 1, 1)),
       st.integers(-12 * 60, 14 * 60).map(lambda m: m - m % 15))
def test_any_iso_time_with_an_offset_parses_to_the_same_instant(dt, offset_min):
    from datetime import timedelta

    tz = timezone(timedelta(minutes=offset_min))
    aware = dt.replace(microsecond=0, tzinfo=tz)
    times, reasons = _parse_times(pd.Series([aware.isoformat()]))
    assert reasons[0] == ""
    assert times[0] == pd.Timestamp(aware).tz_convert("UTC")


def test_an_import_killed_half_way_leaves_the_database_as_it_was(db, db_url, tmp_path):
    small = tmp_path / "small.csv"
    write_incidents(generate_incidents(11, 500), small)
    import_incidents_file(db, small)
    before = _snapshot(db)
    big = tmp_path / "big.csv"
    write_incidents(generate_incidents(12, 300_000), big)
    env = {**os.environ, "VEILIG_DATABASE_URL": db_url}
    proc = subprocess.Popen([sys.executable, "-m", "veilig.api", "import", "incidents", str(big), "--source", "big"],
                            stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    # Wait until rows are being written inside the transaction, then kill without warning.
    seen = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if line.startswith("ingevoegd"):
            seen = line.strip()
            break
    assert seen is not None, "the import never started writing"
    done, total = map(int, seen.split()[1].split("/"))
    assert done < total  # really half way
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    db.dispose()
    from veilig.storage import open_database

    reopened = open_database(db_url)
    try:
        if reopened.engine.dialect.name == "postgresql":
            # The server rolls the dead client's transaction back once it notices the lost socket;
            # rather than poll for that, end the orphaned backend and wait for it (PostgreSQL >= 14:
            # pg_terminate_backend(pid, timeout) returns once the backend is gone, false on timeout).
            from sqlalchemy import text

            with reopened.engine.connect() as conn:
                ended = conn.execute(text(
                    "SELECT pid, pg_terminate_backend(pid, 60000) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all()
            assert all(ok for _pid, ok in ended), f"orphaned backends did not end in 60 s: {ended}"
        assert _snapshot(reopened) == before
        # and the database is usable: the same import now succeeds
        again = import_incidents_file(reopened, small, source="again")
        assert again.inserted == 500
    finally:
        reopened.dispose()
