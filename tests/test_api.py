"""The HTTP service: every role x route pair, bad input as clear 4xx JSON, subsidy over HTTP.

A real application (FastAPI TestClient over the real app, real SQLite database with the demo
data); PostgreSQL variants of the storage run in the storage and ledger tests.
"""

from __future__ import annotations

from veilig.dates import today_local
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from veilig.api.app import create_app
from veilig.settings import Settings
from veilig.storage.auth import add_user, read_audit

ROLES = ("analyst", "planner", "subsidy", "admin")
IBAN = "NL91ABNA0417164300"
# A pilot open today, whatever today is; invoices dated just after it opened.
OPENS = today_local() - timedelta(days=100)
CLOSES = today_local() + timedelta(days=200)
INVOICE = (OPENS + timedelta(days=5)).isoformat()


_y, _w, _ = (today_local() - timedelta(weeks=10)).isocalendar()
RECENT_WEEK = f"{_y}-W{_w:02d}"  # inside the demo data, which end today


def _small_month() -> tuple[str, str]:
    """A whole month inside the three years of demo data that serve loads (ending today)."""
    first = (today_local().replace(day=1) - timedelta(days=45)).replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return first.isoformat(), last.isoformat()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api")
    settings = Settings(database_url=f"sqlite:///{tmp / 'api.db'}", data_dir=tmp, tiles_enabled=False,
                        max_upload_bytes=200_000)
    app = create_app(settings)
    with TestClient(app) as client:
        db = app.state.db
        tokens = {role: add_user(db, f"{role}-test", role) for role in ROLES}
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        r = client.post("/api/v1/subsidy/pilots", headers=admin, json={
            "name": "Hang- en sluitwerk 2026", "budget_cents": 1_000_000, "opens_on": OPENS.isoformat(),
            "closes_on": CLOSES.isoformat(), "grant_percentage": 50, "max_grant_cents": 25_000, "waiting_list": False})
        assert r.status_code == 201, r.text
        yield client, tokens, app


def auth(tokens, role):
    return {"Authorization": f"Bearer {tokens[role]}"}


def _application(n: int) -> dict:
    return {"applicant_name": "J. de Vries", "postcode": "2711 AB", "house_number": n, "buurt": "BU06370101",
            "object_type": "woning", "invoice_amount_cents": 30_000, "invoice_date": INVOICE,
            "products": ["SKG*** cilinderslot"], "iban": IBAN}


# (method, path, json body or None, roles allowed). Paths with {app} get a fresh application id.
ROUTES = [
    ("GET", "/", None, ROLES),
    ("GET", "/api/v1/neighbourhoods", None, ROLES),
    ("GET", "/api/v1/hotspots?category=drugs", None, ("analyst", "planner")),
    ("GET", "/api/v1/neighbourhoods/stats?category=burglary", None, ("analyst", "planner", "subsidy")),
    ("GET", "/api/v1/neighbourhoods/stats?category=drugs", None, ("analyst", "planner")),
    ("GET", "/api/v1/rhythm?theme=jeugd", None, ("analyst", "planner")),
    ("GET", f"/api/v1/rhythm/plan?theme=jeugd&week={RECENT_WEEK}&pairs=2", None, ("analyst", "planner")),
    ("GET", "/api/v1/subsidy/budget", None, ("subsidy", "admin")),
    ("GET", "/api/v1/subsidy/status", None, ("subsidy", "admin")),
    ("GET", "/api/v1/subsidy/buurten", None, ("subsidy", "admin")),
    ("GET", "/api/v1/subsidy/pilots", None, ("subsidy", "admin")),
    ("GET", "/api/v1/subsidy/applications", None, ("subsidy",)),
    ("GET", "/api/v1/subsidy/export.csv", None, ("subsidy",)),
    ("POST", "/api/v1/subsidy/applications", "application", ("subsidy",)),
    ("GET", "/api/v1/subsidy/applications/{app}", None, ("subsidy",)),
    ("GET", "/api/v1/subsidy/applications/{app}/trail", None, ("subsidy",)),
    ("POST", "/api/v1/subsidy/applications/{app}/approve", None, ("subsidy",)),
    ("POST", "/api/v1/subsidy/applications/{app}/reject", {"reason": "geen SKG-keurmerk"}, ("subsidy",)),
    ("POST", "/api/v1/subsidy/applications/{app}/withdraw", {"reason": "aanvrager trekt in"}, ("subsidy",)),
    ("POST", "/api/v1/subsidy/applications/{received}/complete", {"invoice_date": INVOICE}, ("subsidy",)),
    ("POST", "/api/v1/subsidy/applications/{approved}/pay", None, ("subsidy",)),
    ("POST", "/api/v1/subsidy/pilots/{pilot}/top-up", {"amount_cents": 100}, ("admin",)),
    ("POST", "/api/v1/subsidy/pilots", "pilot", ("admin",)),
    ("GET", "/api/v1/users", None, ("admin",)),
    ("POST", "/api/v1/users", "user", ("admin",)),
    ("GET", "/api/v1/audit", None, ("admin",)),
    ("POST", "/api/v1/incidents", "upload", ("analyst",)),
    ("GET", "/maps/hotspots?category=drugs", None, ("analyst", "planner")),
    ("GET", f"/maps/rhythm?theme=jeugd&week={RECENT_WEEK}", None, ("analyst", "planner")),
    ("GET", "/maps/subsidy", None, ("subsidy", "admin")),
]

_counter = iter(range(1000, 100000))


def _prepare(client, tokens, path: str) -> str:
    desk = auth(tokens, "subsidy")
    if "{app}" in path:
        r = client.post("/api/v1/subsidy/applications", headers=desk, json=_application(next(_counter)))
        path = path.replace("{app}", str(r.json()["id"]))
    if "{received}" in path:
        body = {k: v for k, v in _application(next(_counter)).items() if k != "invoice_date"}
        r = client.post("/api/v1/subsidy/applications", headers=desk, json=body)
        assert r.json()["status"] == "received"
        path = path.replace("{received}", str(r.json()["id"]))
    if "{approved}" in path:
        r = client.post("/api/v1/subsidy/applications", headers=desk, json=_application(next(_counter)))
        app_id = r.json()["id"]
        assert client.post(f"/api/v1/subsidy/applications/{app_id}/approve", headers=desk).status_code == 200
        path = path.replace("{approved}", str(app_id))
    if "{pilot}" in path:
        pilot = client.get("/api/v1/subsidy/pilots", headers=desk).json()[0]["id"]
        path = path.replace("{pilot}", str(pilot))
    return path


def _call(client, method, path, body, headers):
    if body == "application":
        return client.post(path, headers=headers, json=_application(next(_counter)))
    if body == "pilot":
        # A pilot that does not overlap the open one.
        year = 2030 + next(_counter) % 50
        return client.post(path, headers=headers, json={
            "name": f"pilot {year}", "budget_cents": 1_000_000, "opens_on": f"{year}-01-01", "closes_on": f"{year}-12-31"})
    if body == "user":
        return client.post(path, headers=headers, json={"name": f"u-{uuid.uuid4().hex[:8]}", "role": "planner"})
    if body == "upload":
        csv = f"id,occurred_at,category,x,y\nU-{uuid.uuid4().hex[:8]},2025-03-01T21:30:00+01:00,drugs,93494,452949\n"
        return client.post(path, headers=headers, files={"file": ("upload.csv", csv, "text/csv")},
                           data={"source": "upload-test"})
    return client.request(method, path, headers=headers, json=body)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,path,body,allowed", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_every_role_gets_what_it_may_and_403_for_the_rest(service, role, method, path, body, allowed):
    client, tokens, _ = service
    real_path = _prepare(client, tokens, path)
    r = _call(client, method, real_path, body, auth(tokens, role))
    if role in allowed:
        assert 200 <= r.status_code < 300, (r.status_code, r.text[:500])
    else:
        assert r.status_code == 403, (r.status_code, r.text[:300])
        assert "detail" in r.json()


@pytest.mark.parametrize("method,path,body,allowed", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_no_token_means_401_for_json_and_the_login_page_for_html(service, method, path, body, allowed):
    client, tokens, _ = service
    real_path = path.replace("{app}", "1").replace("{received}", "1").replace("{approved}", "1").replace("{pilot}", "1")
    r = _call(client, method, real_path, body, {})
    if real_path.startswith("/api/"):
        assert r.status_code == 401 and "detail" in r.json()
    else:
        assert r.status_code in (303, 307) or r.url.path == "/login"


def test_a_wrong_token_is_refused(service):
    client, _, _ = service
    r = client.get("/api/v1/neighbourhoods", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.json()["detail"] == "ongeldig token"


@pytest.mark.parametrize("query,fragment", [
    ("category=fietsen", "onbekende categorie"),
    ("category=drugs&start=2025-05-01&end=2025-01-01", "lies before"),
    ("category=drugs&start=31-13-2025", "start"),
    ("category=drugs&start=2025-02-30", "start"),
])
def test_bad_query_gives_a_clear_4xx(service, query, fragment):
    client, tokens, _ = service
    for path in ("/api/v1/hotspots", "/api/v1/neighbourhoods/stats", "/maps/hotspots"):
        r = client.get(f"{path}?{query}", headers=auth(tokens, "analyst"))
        assert 400 <= r.status_code < 500, (path, r.status_code, r.text[:200])
        assert fragment in r.json()["detail"]


def test_the_map_reads_a_dutch_date_and_the_json_api_iso_only(service):
    # People type dates in the map's control bar (DD-MM-JJJJ); API clients send ISO dates.
    client, tokens, _ = service
    h = auth(tokens, "analyst")
    assert client.get("/maps/hotspots?category=drugs&start=01-05-2025", headers=h).status_code == 200
    r = client.get("/api/v1/hotspots?category=drugs&start=01-05-2025", headers=h)
    assert r.status_code == 422 and "start" in r.json()["detail"]


def test_rhythm_bad_input_is_a_clear_4xx(service):
    client, tokens, _ = service
    h = auth(tokens, "planner")
    assert "theme" in client.get("/api/v1/rhythm?theme=voetbal", headers=h).json()["detail"]
    r = client.get("/api/v1/rhythm?theme=jeugd&buurt=BU99999999", headers=h)
    assert 400 <= r.status_code < 500
    r = client.get(f"/api/v1/rhythm/plan?theme=jeugd&week={RECENT_WEEK}&pairs=500", headers=h)
    assert 400 <= r.status_code < 500 and "pairs" in r.json()["detail"]
    r = client.get("/api/v1/rhythm/plan?theme=jeugd&week=2026-W99", headers=h)
    assert 400 <= r.status_code < 500


def test_upload_that_is_not_geodata_or_too_large_is_refused(service):
    client, tokens, _ = service
    h = auth(tokens, "analyst")
    r = client.post("/api/v1/incidents", headers=h, files={"file": ("x.gpkg", b"not a geopackage", "application/octet-stream")})
    assert r.status_code == 400 and "not a readable GeoPackage" in r.json()["detail"]
    r = client.post("/api/v1/incidents", headers=h, files={"file": ("x.exe", b"MZ", "application/octet-stream")})
    assert r.status_code == 400 and "niet ondersteund" in r.json()["detail"]
    big = "id,occurred_at,category,x,y\n" + "A,2025-01-01T00:00:00+01:00,drugs,93494,452949\n" * 10_000
    r = client.post("/api/v1/incidents", headers=h, files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413 and "limiet" in r.json()["detail"]


def test_an_upload_with_bad_rows_is_refused_whole_with_each_row_named(service):
    client, tokens, _ = service
    csv = ("id,occurred_at,category,x,y\n"
           "G-1,2025-03-01T21:30:00+01:00,drugs,233000,582000\n"
           "G-2,31-02-2025,drugs,93494,452949\n")
    r = client.post("/api/v1/incidents", headers=auth(tokens, "analyst"), files={"file": ("bad.csv", csv, "text/csv")})
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert {(e["row"], e["field"]) for e in detail["errors"]} == {(1, "location"), (2, "occurred_at")}


def test_small_counts_are_hidden_from_planners_but_not_from_analysts(service):
    client, tokens, _ = service
    start, end = _small_month()
    q = f"/api/v1/neighbourhoods/stats?category=woninginbraak&start={start}&end={end}"
    planner = client.get(q, headers=auth(tokens, "planner")).json()["buurten"]
    analyst = client.get(q, headers=auth(tokens, "analyst")).json()["buurten"]
    a = {b["statcode"]: b["n_incidents"] for b in analyst}
    p = {b["statcode"]: b["n_incidents"] for b in planner}
    small = [code for code, n in a.items() if 0 < n < 5]
    assert small, "the month should have buurten with 1-4 burglaries"
    # Planners get counts perturbed by the cell key method (at most 2 off), never below 5;
    # counts of 1 and 2 can never be published, zero stays zero.
    for code, n in a.items():
        if n == 0:
            assert p[code] == 0
        elif n <= 2:
            assert p[code] is None
        else:
            assert p[code] is None or (p[code] >= 5 and abs(p[code] - n) <= 2)


def test_subsidy_over_http_honours_the_idempotency_key(service):
    client, tokens, _ = service
    desk = auth(tokens, "subsidy")
    key = uuid.uuid4().hex
    body = _application(next(_counter))
    first = client.post("/api/v1/subsidy/applications", headers={**desk, "Idempotency-Key": key}, json=body)
    again = client.post("/api/v1/subsidy/applications", headers={**desk, "Idempotency-Key": key}, json=body)
    assert first.status_code == 201 and again.status_code in (200, 201)
    assert first.json()["id"] == again.json()["id"]
    other = dict(body, house_number=body["house_number"] + 50_000)
    clash = client.post("/api/v1/subsidy/applications", headers={**desk, "Idempotency-Key": key}, json=other)
    assert clash.status_code == 409 and "detail" in clash.json()
    budget = client.get("/api/v1/subsidy/budget", headers=desk).json()
    assert budget["reserved_cents"] + budget["paid_cents"] <= budget["total_cents"]
    assert budget["remaining_cents"] == budget["total_cents"] - budget["reserved_cents"] - budget["paid_cents"]


def test_reads_of_personal_and_incident_data_are_audited(service):
    client, tokens, app = service
    client.get("/maps/hotspots?category=burglary", headers=auth(tokens, "analyst"))
    client.get("/api/v1/subsidy/applications", headers=auth(tokens, "subsidy"))
    log = read_audit(app.state.db, 1000)
    actions = {(e["user_name"], e["action"]) for e in log}
    assert ("analyst-test", "read_incident_points") in actions
    assert ("subsidy-test", "subsidy_list_applications") in actions


def test_maps_are_cached_with_an_etag_and_invalidated_by_an_import(service):
    client, tokens, _ = service
    h = auth(tokens, "planner")
    first = client.get("/maps/hotspots?category=drugs", headers=h)
    etag = first.headers["etag"]
    assert client.get("/maps/hotspots?category=drugs", headers={**h, "If-None-Match": etag}).status_code == 304
    csv = f"id,occurred_at,category,x,y\nC-{uuid.uuid4().hex[:8]},2025-03-01T21:30:00+01:00,drugs,93494,452949\n"
    r = client.post("/api/v1/incidents", headers=auth(tokens, "analyst"), files={"file": ("c.csv", csv, "text/csv")})
    assert r.status_code == 201
    after = client.get("/maps/hotspots?category=drugs", headers={**h, "If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag


def test_users_cli_prints_the_token_alone_on_the_last_line(tmp_path):
    from helpers import run_cli

    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp_path / 'u.db'}"}
    proc = run_cli("users", "add", "piet", "--role", "planner", env=env)
    assert proc.returncode == 0, proc.stderr
    token = proc.stdout.strip().splitlines()[-1]
    assert len(token) >= 40 and " " not in token
    from veilig.storage import open_database
    from veilig.storage.auth import user_for_token

    db = open_database(env["VEILIG_DATABASE_URL"])
    assert user_for_token(db, token).role == "planner"
    with db.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_hash FROM users").scalars().all()
    assert token not in stored  # only the hash is stored
    db.dispose()
    bad = run_cli("users", "add", "kees", "--role", "burgemeester", env=env)
    assert bad.returncode != 0 and "rol" in bad.stderr and "Traceback" not in bad.stderr


def test_planners_cannot_shrink_clusters_to_single_incidents(service):
    client, tokens, _ = service
    r = client.get("/api/v1/hotspots?category=drugs&eps=1&min_samples=1", headers=auth(tokens, "planner"))
    assert r.status_code == 403 and "analisten" in r.json()["detail"]
    r = client.get("/api/v1/hotspots?category=drugs&eps=1&min_samples=1", headers=auth(tokens, "analyst"))
    assert r.status_code == 200


def test_cluster_outlines_for_planners_are_snapped_to_a_25_m_grid(service):
    import geopandas as gpd
    import numpy as np
    import shapely

    client, tokens, _ = service
    shapes = {}
    for role in ("planner", "analyst"):
        collection = client.get("/api/v1/hotspots?category=drugs", headers=auth(tokens, role)).json()
        clusters = [f for f in collection["features"] if f["properties"]["kind"] == "cluster"]
        assert clusters
        gdf = gpd.GeoDataFrame.from_features(clusters, crs=4326).to_crs(28992)
        shapes[role] = shapely.get_coordinates(gdf.geometry.values)
    residue = np.abs(shapes["planner"] / 25.0 - np.round(shapes["planner"] / 25.0)) * 25.0
    assert residue.max() < 0.05  # metres: every planner vertex sits on the 25 m grid
    # The default (significant) clusters are unions of grid cells: on the cell lattice for everyone.
    residue = np.abs(shapes["analyst"] / 50.0 - np.round(shapes["analyst"] / 50.0)) * 50.0
    assert residue.max() < 0.05


def test_the_city_total_is_hidden_when_a_buurt_count_is(service):
    client, tokens, _ = service
    start, end = _small_month()
    q = f"/api/v1/neighbourhoods/stats?category=woninginbraak&start={start}&end={end}"
    planner = client.get(q, headers=auth(tokens, "planner")).json()
    analyst = client.get(q, headers=auth(tokens, "analyst")).json()
    assert any(b["suppressed"] for b in planner["buurten"])
    assert planner["n_incidents"] is None and analyst["n_incidents"] > 0


def test_an_unknown_crs_or_an_ancient_period_is_a_clear_4xx(service):
    client, tokens, _ = service
    csv = "id,occurred_at,category,x,y\nK-1,2025-03-01T21:30:00+01:00,drugs,93494,452949\n"
    r = client.post("/api/v1/incidents", headers=auth(tokens, "analyst"),
                    files={"file": ("k.csv", csv, "text/csv")}, data={"crs": "garbage"})
    assert r.status_code == 400 and "not a known CRS" in r.json()["detail"]
    r = client.get("/api/v1/rhythm?theme=jeugd&start=1900-01-01&end=1900-01-02", headers=auth(tokens, "planner"))
    assert r.status_code == 400 and "start" in r.json()["detail"]


def test_decisions_that_return_personal_data_are_audited(service):
    client, tokens, app = service
    desk = auth(tokens, "subsidy")
    created = client.post("/api/v1/subsidy/applications", headers=desk, json=_application(next(_counter))).json()
    client.post(f"/api/v1/subsidy/applications/{created['id']}/approve", headers=desk)
    log = read_audit(app.state.db, 1000)
    assert any(e["action"] == "subsidy_approve" and e["target"] == f"application {created['id']}" for e in log)


def test_a_statistics_file_with_a_buurt_twice_is_refused_whole(tmp_path):
    from veilig.errors import VeiligError
    from veilig.storage import open_database
    from veilig.storage.incidents import import_buurt_stats, load_buurt_stats

    path = tmp_path / "stats.csv"
    path.write_text("statcode,inhabitants,dwellings,year\nBU06370002,5400,3100,2023\nBU06370002,5500,3150,2024\n")
    db = open_database(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(VeiligError, match="row 2, field statcode.*also on row 1"):
        import_buurt_stats(db, path, {"BU06370002"})
    assert load_buurt_stats(db).empty
    db.dispose()


def test_the_planners_geopackage_download_is_styled_without_incidents_or_hidden_counts(service, tmp_path):
    import sqlite3

    client, tokens, _ = service
    start, end = _small_month()
    r = client.get(f"/api/v1/hotspots?category=drugs&start={start}&end={end}&format=gpkg",
                   headers=auth(tokens, "planner"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/geopackage+sqlite3")
    path = tmp_path / "planner.gpkg"
    path.write_bytes(r.content)
    con = sqlite3.connect(path)
    try:
        tables = {t for (t,) in con.execute("SELECT table_name FROM gpkg_contents")}
        assert {"clusters", "grid", "buurten", "layer_styles"} <= tables and "incidenten" not in tables
        counts = [n for (n,) in con.execute("SELECT n_incidents FROM buurten")]
        styled = {t for (t,) in con.execute("SELECT f_table_name FROM layer_styles WHERE useAsDefault")}
    finally:
        con.close()
    assert not [n for n in counts if n is not None and 0 < n < 5] and None in counts
    assert styled == {"clusters", "grid", "buurten"}
