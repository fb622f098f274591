"""The HTTP service: every role x route pair, bad input as clear 4xx JSON, subsidy over HTTP.

A real application (FastAPI TestClient over the real app, real SQLite database with the demo
data); PostgreSQL variants of the storage run in the storage and ledger tests. The data are built
once (fixed dates, ``Template``); a test that changes state gets a copy of its own (``fresh``), the
others share one copy whose stored state each test must leave as it found it (``service``): no test
depends on another's leftovers or on the order, and none on today's date.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from veilig.api.app import create_app
from veilig.dates import today_local
from veilig.settings import Settings
from veilig.storage.auth import add_user, read_audit
from veilig.storage.incidents import incident_span

ROLES = ("analyst", "planner", "subsidy", "admin")
IBAN = "NL91ABNA0417164300"
# The demo data have fixed dates (2023-01-01 to 2025-12-31, seed 1), whatever today is, so every
# count, week and month the tests ask for holds the same incidents on every day they run.
DEMO_END = date(2025, 12, 31)
RECENT_WEEK = "2025-W40"  # inside the demo data
SMALL_MONTH = ("2025-10-01", "2025-10-31")  # a month with buurten of 1-4 burglaries
# The ledger decides by the clock (an application is only accepted while its pilot is open): a
# pilot from 100 days before today to 200 days after is open on any day the tests run.
OPENS = today_local() - timedelta(days=100)
CLOSES = today_local() + timedelta(days=200)
INVOICE = (OPENS + timedelta(days=5)).isoformat()
# Tables whose content no request on the shared service may change (the audit log and login
# bookkeeping grow with every request, and no test relies on their size).
_GROWING = {"audit_log", "login_sessions", "login_links"}


def _settings(data_dir: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{data_dir / 'api.db'}", data_dir=data_dir, tiles_enabled=False,
                    max_upload_bytes=200_000, demo_end=DEMO_END, disclosure_secret="test-api-fixed-secret")


def _application(n: int, invoice: bool = True) -> dict:
    body = {"applicant_name": "J. de Vries", "postcode": "2711 AB", "house_number": n, "buurt": "BU06370101",
            "object_type": "woning", "invoice_amount_cents": 30_000, "invoice_date": INVOICE,
            "products": ["SKG*** cilinderslot"], "iban": IBAN}
    if not invoice:
        del body["invoice_date"]
    return body


@dataclass(frozen=True)
class Template:
    """A data directory built once: demo data, one user per role, an open pilot and three
    applications (complete, received without invoice date, approved). Tests never run on it: each
    gets a copy (``fresh``), or shares one copy that no test may change (``service``)."""

    data_dir: Path
    tokens: dict[str, str]
    ids: dict[str, int]


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Template:
    data_dir = tmp_path_factory.mktemp("api-template")
    app = create_app(_settings(data_dir))
    with TestClient(app) as client:
        # Three years of demo data ending on DEMO_END, not on today.
        assert incident_span(app.state.db) == (date(2023, 1, 1), DEMO_END)
        tokens = {role: add_user(app.state.db, f"{role}-test", role) for role in ROLES}
        r = client.post("/api/v1/subsidy/pilots", headers=auth(tokens, "admin"), json={
            "name": "Hang- en sluitwerk 2026", "budget_cents": 1_000_000, "opens_on": OPENS.isoformat(),
            "closes_on": CLOSES.isoformat(), "grant_percentage": 50, "max_grant_cents": 25_000, "waiting_list": False})
        assert r.status_code == 201, r.text
        desk = auth(tokens, "subsidy")
        ids = {"pilot": r.json()["id"]}
        for key, n, invoice in (("app", 1, True), ("received", 2, False), ("approved", 3, True)):
            r = client.post("/api/v1/subsidy/applications", headers=desk, json=_application(n, invoice))
            assert r.status_code == 201, r.text
            ids[key] = r.json()["id"]
        assert client.get(f"/api/v1/subsidy/applications/{ids['received']}", headers=desk).json()["status"] == "received"
        r = client.post(f"/api/v1/subsidy/applications/{ids['approved']}/approve", headers=desk)
        assert r.status_code == 200, r.text
    return Template(data_dir, tokens, ids)


def _open_copy(template: Template, where: Path):
    """An application over a copy of the template's data directory (database, columnar cache)."""
    data_dir = where / "data"
    shutil.copytree(template.data_dir, data_dir)
    app = create_app(_settings(data_dir))
    return app, data_dir / "api.db"


def _fingerprint(db_file: Path) -> dict[str, str]:
    """A digest of every table's rows except the growing bookkeeping ones."""
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        names = [n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        out = {}
        for name in names:
            if name in _GROWING:
                continue
            rows = sorted(repr(r) for r in conn.execute(f'SELECT * FROM "{name}"'))
            out[name] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
        return out
    finally:
        conn.close()


@pytest.fixture(scope="module")
def _shared(template, tmp_path_factory):
    app, db_file = _open_copy(template, tmp_path_factory.mktemp("api-shared"))
    with TestClient(app) as client:
        yield client, app, db_file


@pytest.fixture
def service(_shared, template):
    """The shared service for tests that only read or are refused: after each test its stored
    state (incidents, ledger, users) must be exactly as before, so no test depends on another."""
    client, app, db_file = _shared
    before = _fingerprint(db_file)
    yield client, template.tokens, app
    changed = [name for name, digest in _fingerprint(db_file).items() if before.get(name) != digest]
    assert not changed, f"a test on the shared service changed {changed}: give it its own copy (fresh)"


@pytest.fixture
def fresh(template, tmp_path):
    """A service of the test's own, over a copy of the template: for tests that change state."""
    app, _ = _open_copy(template, tmp_path)
    with TestClient(app) as client:
        yield client, template.tokens, app


def auth(tokens, role):
    return {"Authorization": f"Bearer {tokens[role]}"}


# (method, path, json body or None, roles allowed). {app}, {received}, {approved} and {pilot} are
# the template's complete, received and approved applications and its pilot.
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


def _prepare(template: Template, path: str) -> str:
    for key, value in template.ids.items():
        path = path.replace("{" + key + "}", str(value))
    return path


def _call(client, method, path, body, headers):
    if body == "application":
        return client.post(path, headers=headers, json=_application(100))
    if body == "pilot":
        # A pilot that does not overlap the open one.
        return client.post(path, headers=headers, json={
            "name": "pilot 2031", "budget_cents": 1_000_000, "opens_on": "2031-01-01", "closes_on": "2031-12-31"})
    if body == "user":
        return client.post(path, headers=headers, json={"name": f"u-{uuid.uuid4().hex[:8]}", "role": "planner"})
    if body == "upload":
        csv = f"id,occurred_at,category,x,y\nU-{uuid.uuid4().hex[:8]},2025-03-01T21:30:00+01:00,drugs,93494,452949\n"
        return client.post(path, headers=headers, files={"file": ("upload.csv", csv, "text/csv")},
                           data={"source": "upload-test"})
    return client.request(method, path, headers=headers, json=body)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method,path,body,allowed", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_every_role_gets_what_it_may_and_403_for_the_rest(request, template, role, method, path, body, allowed):
    # A change runs on a copy of its own; reads and refusals on the shared service (unchanged after).
    changes = method == "POST" and role in allowed
    client, tokens, _ = request.getfixturevalue("fresh" if changes else "service")
    real_path = _prepare(template, path)
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
        # Redirected (the client follows it) to the login page.
        assert r.url.path == "/login" and r.status_code == 200, (r.status_code, r.url)
        assert [h.status_code for h in r.history][:1] in ([303], [307]), r.history


def test_a_wrong_token_is_refused(service):
    client, _, _ = service
    r = client.get("/api/v1/neighbourhoods", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.json()["detail"] == "ongeldig token"


@pytest.mark.parametrize("query,status,fragment", [
    ("category=fietsen", 400, "onbekende categorie 'fietsen': kies uit burglary, drugs"),
    ("category=drugs&start=2025-05-01&end=2025-01-01", 400, "end: 2025-01-01 ligt vóór start 2025-05-01"),
    ("category=drugs&start=31-13-2025", 422, "start"),
    ("category=drugs&start=2025-02-30", 422, "start"),
])
def test_bad_query_gives_a_clear_4xx(service, query, status, fragment):
    client, tokens, _ = service
    for path in ("/api/v1/hotspots", "/api/v1/neighbourhoods/stats", "/maps/hotspots"):
        r = client.get(f"{path}?{query}", headers=auth(tokens, "analyst"))
        assert r.status_code == status, (path, r.status_code, r.text[:200])
        assert fragment in r.json()["detail"], (path, r.json()["detail"])


def test_the_map_reads_a_dutch_date_and_the_json_api_iso_only(service):
    # People type dates in the map's control bar (DD-MM-JJJJ); API clients send ISO dates.
    client, tokens, _ = service
    h = auth(tokens, "analyst")
    assert client.get("/maps/hotspots?category=drugs&start=01-05-2025", headers=h).status_code == 200
    r = client.get("/api/v1/hotspots?category=drugs&start=01-05-2025", headers=h)
    assert r.status_code == 422 and "start" in r.json()["detail"]


@pytest.mark.parametrize("path,status,message", [
    ("/api/v1/rhythm?theme=voetbal", 400, "theme: onbekend thema 'voetbal'; kies uit jeugd, alcohol"),
    ("/api/v1/rhythm?theme=jeugd&buurt=BU99999999", 404,
     "buurt: onbekende buurt 'BU99999999'; geef een CBS-buurtcode van Zoetermeer, zoals BU0637"),
    (f"/api/v1/rhythm/plan?theme=jeugd&week={RECENT_WEEK}&pairs=500", 400,
     "pairs: 500 boa-koppels per dienst, maar er zijn maar "),
    ("/api/v1/rhythm/plan?theme=jeugd&week=2026-W99", 400, "week: '2026-W99' bestaat niet: 2026 heeft geen ISO-week 99"),
    ("/api/v1/rhythm/plan?theme=jeugd&week=week 10", 400, "week: 'week 10' is geen ISO-week; schrijf JJJJ-Www"),
])
def test_rhythm_bad_input_is_a_clear_4xx_naming_the_field_and_the_rule(service, path, status, message):
    # The Dutch sentence a planner reads: which field, what is wrong with it, what to give instead.
    client, tokens, _ = service
    r = client.get(path, headers=auth(tokens, "planner"))
    assert r.status_code == status, (r.status_code, r.text[:300])
    assert r.json()["detail"].startswith(message), r.json()["detail"]


def test_upload_that_is_not_geodata_or_too_large_is_refused(service):
    client, tokens, _ = service
    h = auth(tokens, "analyst")
    r = client.post("/api/v1/incidents", headers=h, files={"file": ("x.gpkg", b"not a geopackage", "application/octet-stream")})
    assert r.status_code == 400 and "geen leesbaar GeoPackage" in r.json()["detail"]
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
    start, end = SMALL_MONTH
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
    assert any(p[code] is not None and p[code] > 0 for code in a), "some buurt count is published"


def test_subsidy_over_http_honours_the_idempotency_key(fresh):
    client, tokens, _ = fresh
    desk = auth(tokens, "subsidy")
    key = uuid.uuid4().hex
    body = _application(200)
    n_before = len(client.get("/api/v1/subsidy/applications", headers=desk).json())
    first = client.post("/api/v1/subsidy/applications", headers={**desk, "Idempotency-Key": key}, json=body)
    again = client.post("/api/v1/subsidy/applications", headers={**desk, "Idempotency-Key": key}, json=body)
    assert first.status_code == 201 and again.status_code in (200, 201)
    assert first.json()["id"] == again.json()["id"]
    other = dict(body, house_number=body["house_number"] + 50_000)
    clash = client.post("/api/v1/subsidy/applications", headers={**desk, "Idempotency-Key": key}, json=other)
    assert clash.status_code == 409 and "detail" in clash.json()
    assert len(client.get("/api/v1/subsidy/applications", headers=desk).json()) == n_before + 1
    budget = client.get("/api/v1/subsidy/budget", headers=desk).json()
    assert budget["reserved_cents"] + budget["paid_cents"] <= budget["total_cents"]
    assert budget["remaining_cents"] == budget["total_cents"] - budget["reserved_cents"] - budget["paid_cents"]


def _audited(app, user: str, action: str) -> int:
    return sum((e["user_name"], e["action"]) == (user, action) for e in read_audit(app.state.db, 1_000_000))


def test_reads_of_personal_and_incident_data_are_audited(service):
    # Counted before and after: entries other tests left in the shared log do not count. The second
    # map read comes from the map cache and is audited all the same.
    client, tokens, app = service
    points, listing = _audited(app, "analyst-test", "read_incident_points"), \
        _audited(app, "subsidy-test", "subsidy_list_applications")
    for _ in range(2):
        assert client.get("/maps/hotspots?category=burglary", headers=auth(tokens, "analyst")).status_code == 200
    assert client.get("/api/v1/subsidy/applications", headers=auth(tokens, "subsidy")).status_code == 200
    assert _audited(app, "analyst-test", "read_incident_points") == points + 2
    assert _audited(app, "subsidy-test", "subsidy_list_applications") == listing + 1


def test_maps_are_cached_with_an_etag_and_invalidated_by_an_import(fresh):
    client, tokens, _ = fresh
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
    start, end = SMALL_MONTH
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
    assert r.status_code == 400 and "geen bekend CRS" in r.json()["detail"]
    r = client.get("/api/v1/rhythm?theme=jeugd&start=1900-01-01&end=1900-01-02", headers=auth(tokens, "planner"))
    assert r.status_code == 400 and "start" in r.json()["detail"]


def test_decisions_that_return_personal_data_are_audited(fresh, template):
    client, tokens, app = fresh
    app_id = template.ids["app"]

    def approvals() -> int:
        return sum(e["action"] == "subsidy_approve" and e["target"] == f"application {app_id}"
                   for e in read_audit(app.state.db, 1_000_000))

    assert approvals() == 0
    r = client.post(f"/api/v1/subsidy/applications/{app_id}/approve", headers=auth(tokens, "subsidy"))
    assert r.status_code == 200, r.text
    assert approvals() == 1


def test_a_statistics_file_with_a_buurt_twice_is_refused_whole(tmp_path):
    from veilig.errors import VeiligError
    from veilig.storage import open_database
    from veilig.storage.incidents import import_buurt_stats, load_buurt_stats

    path = tmp_path / "stats.csv"
    path.write_text("statcode,inhabitants,dwellings,year\nBU06370002,5400,3100,2023\nBU06370002,5500,3150,2024\n")
    db = open_database(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(VeiligError, match="rij 2, veld statcode.*staat ook op rij 1"):
        import_buurt_stats(db, path, {"BU06370002"})
    assert load_buurt_stats(db).empty
    db.dispose()


def test_the_planners_geopackage_download_is_styled_without_incidents_or_hidden_counts(service, tmp_path):
    import sqlite3

    client, tokens, _ = service
    start, end = SMALL_MONTH
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
