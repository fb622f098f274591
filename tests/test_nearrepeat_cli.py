"""``veilig nearrepeat`` as a user runs it: calculator on a file, on the database, zones; clear errors."""

from __future__ import annotations

import json
import sqlite3

from helpers import run_cli
from test_nearrepeat_api import HOME, TODAY


def test_calculator_on_a_file_same_seed_same_bytes(tmp_path):
    f = tmp_path / "twee.csv"
    f.write_text("x,y,occurred_at\n0,0,01-01-2025\n0,100,2025-01-04T10:00\n", encoding="utf-8")
    outs = []
    for name in ("a.csv", "b.csv", "c.json", "d.html"):
        proc = run_cli("nearrepeat", "--input", str(f), "--iterations", "19", "--seed", "3",
                       "--out", str(tmp_path / name))
        assert proc.returncode == 0, proc.stderr
        outs.append((tmp_path / name).read_bytes())
    assert outs[0] == outs[1]
    lines = outs[0].decode().splitlines()
    assert lines[0] == "distance_from_m,distance_to_m,days_from,days_to,observed,expected,knox_ratio,p_value"
    assert lines[4].startswith("0.0,100.0,0,7,1,")  # 1-100 m / 0-7 days
    assert lines[-1].startswith("300.0,,14,,0,")
    data = json.loads(outs[2])
    assert data["seed"] == 3 and len(data["rows"]) == 15
    html = outs[3].decode()
    assert "Knox-ratio" in html and "http://" not in html and "https://" not in html and "<script" not in html
    nrc = run_cli("nearrepeat", "--input", str(f), "--iterations", "9", "--nrc-compatible",
                  "--out", str(tmp_path / "nrc.csv"))
    assert nrc.returncode == 0, nrc.stderr
    # The NRC puts the pair in its second distance band, [100, 200).
    assert (tmp_path / "nrc.csv").read_text().splitlines()[7].startswith("100.0,200.0,0,7,1,")


def test_bad_input_is_a_clear_dutch_error_with_exit_code_2(tmp_path):
    good = tmp_path / "ok.csv"
    good.write_text("x,y,occurred_at\n0,0,2025-01-01\n0,100,2025-01-04\n", encoding="utf-8")
    bad = tmp_path / "slecht.csv"
    bad.write_text("x,y,occurred_at\n0,0,2025-01-01\nnoord,100,2025-01-04\n", encoding="utf-8")
    one = tmp_path / "een.csv"
    one.write_text("x,y,occurred_at\n0,0,2025-01-01\n", encoding="utf-8")
    cases = [
        (("--input", str(bad)), "rij 2, kolom x"),
        (("--input", str(one)), "minstens 2"),
        (("--input", str(good), "--iterations", "100000"), "--iterations"),
        (("--input", str(good), "--spatial-band", "0"), "--spatial-band"),
        (("--input", str(good), "--temporal-band", "-7"), "--temporal-band"),
        (("--input", str(good), "--spatial-band", "4000"), "--spatial-band"),
        (("--input", str(good), "--temporal-band", "200"), "--temporal-band"),
        (("--input", str(good), "--out", str(tmp_path / "x.txt")), "--out"),
        (("--input", str(tmp_path / "bestaat-niet.csv")), "bestaat niet"),
    ]
    for args, word in cases:
        proc = run_cli("nearrepeat", *args)
        assert proc.returncode == 2, (args, proc.returncode, proc.stderr)
        assert word in proc.stderr and "Traceback" not in proc.stderr, (args, proc.stderr)


def test_database_mode_and_zones(tmp_path):
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "VEILIG_DATA_DIR": str(tmp_path)}
    f = tmp_path / "inbraak.csv"
    rows = [f"C-{i},{TODAY.isoformat()}T19:00:00,woninginbraak,{HOME[0] + 20 * i},{HOME[1]}" for i in range(3)]
    rows += [f"D-{i},2025-0{1 + i % 9}-1{i % 10}T19:00:00,woninginbraak,{HOME[0] + 300 * (i % 5)},"
             f"{HOME[1] + 250 * (i // 5)}" for i in range(20)]
    f.write_text("id,occurred_at,category,x,y\n" + "\n".join(rows) + "\n", encoding="utf-8")
    proc = run_cli("import", "incidents", str(f), env=env)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("nearrepeat", "--category", "burglary", "--iterations", "19", "--out",
                   str(tmp_path / "k.json"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "k.json").read_text())["n_events"] == 23
    proc = run_cli("nearrepeat", "zones", "--date", TODAY.isoformat(), "--out", str(tmp_path / "z.geojson"),
                   "--outreach", str(tmp_path / "o.csv"), env=env)
    assert proc.returncode == 0, proc.stderr
    gj = json.loads((tmp_path / "z.geojson").read_text())
    assert len(gj["features"]) == 1 and gj["features"][0]["properties"]["n_incidents"] == 3
    assert (tmp_path / "o.csv").read_text().startswith("zone_id,expires_on,postcode")
    # The same zones as a GeoPackage styled for QGIS, and as JSON for scripts; both reads audited.
    proc = run_cli("nearrepeat", "zones", "--date", TODAY.isoformat(), "--out", str(tmp_path / "z.gpkg"), env=env)
    assert proc.returncode == 0, proc.stderr
    con = sqlite3.connect(tmp_path / "z.gpkg")
    try:
        assert con.execute("PRAGMA user_version").fetchone()[0] == 10200
        assert con.execute("SELECT f_table_name FROM layer_styles WHERE useAsDefault").fetchall() == [("zones",)]
        assert con.execute("SELECT n_incidents FROM zones").fetchall() == [(3,)]
        assert con.execute("SELECT count(*) FROM zone_buurten").fetchone()[0] >= 1
        meta = " ".join(m for (m,) in con.execute("SELECT metadata FROM gpkg_metadata"))
        assert 'key="synthetic">false' in meta and 'key="window_source">' in meta  # imported, not demo data
    finally:
        con.close()
    proc = run_cli("nearrepeat", "zones", "--date", TODAY.isoformat(), "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert [f["properties"]["n_incidents"] for f in json.loads(proc.stdout)["features"]] == [3]
    con = sqlite3.connect(tmp_path / "cli.db")
    try:
        reads = con.execute("SELECT count(*) FROM audit_log WHERE action = 'read_nearrepeat_zones'").fetchone()[0]
    finally:
        con.close()
    assert reads == 3
    proc = run_cli("nearrepeat", "--category", "burglary", "--iterations", "19", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n_events"] == 23
    proc = run_cli("nearrepeat", "zones", "--date", TODAY.isoformat(), "--radius", "100", env=env)
    assert proc.returncode == 2 and "--radius" in proc.stderr
    proc = run_cli("nearrepeat", "--category", "fietsendiefstal", env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
