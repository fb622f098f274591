"""Near repeats end to end over HTTP: the Knox table per role, alert zones, outreach list, bad input.

A real application (FastAPI TestClient over the real app and a real SQLite database); burglaries
are uploaded as an analyst would. Non-analysts must never receive a disc around an address:
their zones are unions of 100 m grid squares, checked vertex by vertex after reprojection.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pyproj
import pytest
import shapely
from fastapi.testclient import TestClient

from veilig.api.app import create_app
from veilig.api.nearrepeat_service import today_local
from veilig.geo.neighbourhoods import load_buurten
from veilig.settings import Settings
from veilig.storage.auth import add_user, read_audit

ROLES = ("analyst", "planner", "subsidy", "admin")
TODAY = today_local()
BUURT = "BU06370101"


def _point_in(statcode: str) -> tuple[float, float]:
    b = load_buurten()
    geom = b.loc[b["statcode"] == statcode].geometry.iloc[0].buffer(-250)
    p = geom.representative_point()
    return round(p.x, 1), round(p.y, 1)


HOME = _point_in(BUURT)


def _csv() -> str:
    rng = np.random.default_rng(4)
    b = load_buurten()
    union = shapely.union_all(b.geometry.values)
    minx, miny, maxx, maxy = union.bounds
    lines = ["id,occurred_at,category,x,y"]
    k = 0
    while k < 150:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not union.contains(shapely.Point(x, y)):
            continue
        day = TODAY - timedelta(days=int(rng.integers(30, 700)))
        lines.append(f"BG-{k},{day.isoformat()}T20:00:00,woninginbraak,{x:.1f},{y:.1f}")
        k += 1
    # Three break-ins today around one address, and one a week ago nearby.
    for i, (dx, dy) in enumerate(((0, 0), (40, 10), (-20, 35))):
        lines.append(f"NOW-{i},{TODAY.isoformat()}T19:00:00,woninginbraak,{HOME[0] + dx},{HOME[1] + dy}")
    lines.append(f"WEEK-1,{(TODAY - timedelta(days=6)).isoformat()}T19:00:00,inbraak_schuur,"
                 f"{HOME[0] + 60},{HOME[1] - 30}")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("nr")
    settings = Settings(database_url=f"sqlite:///{tmp / 'nr.db'}", data_dir=tmp, tiles_enabled=False)
    app = create_app(settings, load_demo=False)
    with TestClient(app) as client:
        db = app.state.db
        tokens = {role: add_user(db, f"{role}-nr", role) for role in ROLES}
        r = client.post("/api/v1/incidents", headers=auth(tokens, "analyst"),
                        files={"file": ("inbraak.csv", _csv(), "text/csv")})
        assert r.status_code == 201, r.text
        r = client.post("/api/v1/subsidy/pilots", headers=auth(tokens, "admin"), json={
            "name": "Pilot", "budget_cents": 1_000_000, "opens_on": (TODAY - timedelta(days=30)).isoformat(),
            "closes_on": (TODAY + timedelta(days=300)).isoformat(), "grant_percentage": 50,
            "max_grant_cents": 25_000, "waiting_list": False})
        assert r.status_code == 201, r.text
        for n in (1, 2):
            r = client.post("/api/v1/subsidy/applications", headers=auth(tokens, "subsidy"), json={
                "applicant_name": "J. de Vries", "postcode": "2711 AB", "house_number": n, "buurt": BUURT,
                "object_type": "woning", "invoice_amount_cents": 30_000,
                "invoice_date": (TODAY - timedelta(days=3)).isoformat(),
                "products": ["SKG*** cilinderslot"], "iban": "NL91ABNA0417164300"})
            assert r.status_code == 201, r.text
        yield client, tokens, app


def auth(tokens, role):
    return {"Authorization": f"Bearer {tokens[role]}"}


def test_knox_table_for_analysts(service):
    client, tokens, _ = service
    r = client.get("/api/v1/nearrepeat?category=burglary&iterations=99", headers=auth(tokens, "analyst"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["rows"]) == 15 and body["n_events"] == 154
    assert sum(row["observed"] for row in body["rows"]) == 154 * 153 // 2
    assert set(body["rows"][0]) >= {"distance_from_m", "distance_to_m", "days_from", "days_to", "observed",
                                    "expected", "knox_ratio", "p_value"}


def test_planners_get_pair_counts_below_5_hidden_and_nothing_that_gives_them_back(service):
    client, tokens, _ = service
    r = client.get("/api/v1/nearrepeat?category=burglary", headers=auth(tokens, "planner"))
    assert r.status_code == 200, r.text
    body = r.json()
    analyst = client.get("/api/v1/nearrepeat?category=burglary", headers=auth(tokens, "analyst")).json()
    small = [a for a in analyst["rows"] if 0 < a["observed"] < 5]
    assert small, "the test data must have a small cell"
    for a, p in zip(analyst["rows"], body["rows"], strict=True):
        # The disclosure layer: perturbed by at most 2 (cell key method), hidden below 5 after it.
        if p["suppressed"]:
            assert p["observed"] is None and p["knox_ratio"] is None and p["p_value"] is None
            assert 0 < a["observed"] < 5 + 2
        elif a["observed"] == 0:
            assert p["observed"] == 0
        else:
            assert p["observed"] >= 5 and abs(p["observed"] - a["observed"]) <= 2
            assert p["p_value"] in (0.001, 0.01, 0.05, 0.1, 1.0)  # a class, not the tail probability
        # Row sums of expected equal the observed pairs: with a hidden cell they must go.
        assert p["expected"] is None
    assert all(p["suppressed"] for a, p in zip(analyst["rows"], body["rows"], strict=True) if 0 < a["observed"] < 3)
    assert body["n_events"] is None and body["n_pairs"] is None and body["summary"] is None
    r = client.get("/api/v1/nearrepeat?category=burglary&spatial_band=10", headers=auth(tokens, "planner"))
    assert r.status_code == 403
    for role in ("subsidy", "admin"):
        assert client.get("/api/v1/nearrepeat", headers=auth(tokens, role)).status_code == 403


@pytest.mark.parametrize("query, word", [
    ("spatial_band=-5", "--spatial-band"), ("spatial_band=0", "--spatial-band"),
    ("spatial_band=6000", "--spatial-band"), ("temporal_band=200", "--temporal-band"),
    ("iterations=100000", "--iterations"), ("category=fietsendiefstal", "fietsendiefstal"),
    ("start=2025-05-01&end=2025-01-01", "end"),
    ("spatial_band=2000&spatial_bands=5&temporal_band=73&temporal_bands=5&iterations=99999", "rekenwerk"),
])
def test_bad_parameters_are_a_clear_4xx(service, query, word):
    client, tokens, _ = service
    r = client.get(f"/api/v1/nearrepeat?{query}", headers=auth(tokens, "analyst"))
    assert 400 <= r.status_code < 500, r.text
    assert word in str(r.json()["detail"])


def _rd(lon_lat: list) -> np.ndarray:
    t = pyproj.Transformer.from_crs(4326, 28992, always_xy=True)
    a = np.asarray(lon_lat)
    x, y = t.transform(a[:, 0], a[:, 1])
    return np.column_stack([x, y])


def _vertices(feature) -> np.ndarray:
    geom = shapely.geometry.shape(feature["geometry"])
    return _rd(shapely.get_coordinates(geom).tolist())


def test_zones_analysts_get_discs_others_get_100m_cells_with_counts_hidden(service):
    client, tokens, app = service
    r = client.get(f"/api/v1/nearrepeat/zones?date={TODAY}", headers=auth(tokens, "analyst"))
    assert r.status_code == 200, r.text
    zones = r.json()
    meta = zones["metadata"]
    assert meta["n_zones"] >= 2 and meta["days"] >= 1
    today = [f for f in zones["features"] if f["properties"]["burglary_date"] == TODAY.isoformat()]
    assert len(today) == 1 and today[0]["properties"]["n_incidents"] == 3
    assert today[0]["properties"]["expires_on"] == (TODAY + timedelta(days=meta["days"])).isoformat()
    assert BUURT in today[0]["properties"]["buurten"]
    disc = shapely.Polygon(_vertices(today[0]))
    assert disc.contains(shapely.Point(HOME))
    assert any(a["action"] == "read_nearrepeat_zones" and a["role"] == "analyst" for a in read_audit(app.state.db))

    for role in ("subsidy", "planner"):
        r = client.get(f"/api/v1/nearrepeat/zones?date={TODAY}", headers=auth(tokens, role))
        assert r.status_code == 200, r.text
        for f in r.json()["features"]:
            props = f["properties"]
            assert props["kind"] == "zone_cells"
            # 1..4 burglaries: hidden, unless the perturbation (at most 2) lifted them to 5 or 6.
            assert props["n_incidents"] is None or 5 <= props["n_incidents"] <= 6
            assert "cell_key" not in props
            v = _vertices(f)
            # Every vertex is a corner of the 100 m grid (to the metre after two reprojections).
            off = np.abs(v - np.round(v / 100) * 100)
            assert off.max() < 1.0, off.max()
    assert client.get("/api/v1/nearrepeat/zones", headers=auth(tokens, "admin")).status_code == 403


def test_zones_expire_after_their_window(service):
    client, tokens, _ = service
    days = client.get(f"/api/v1/nearrepeat/zones?date={TODAY}", headers=auth(tokens, "analyst")).json()[
        "metadata"]["days"]
    later = TODAY + timedelta(days=days + 1)
    r = client.get(f"/api/v1/nearrepeat/zones?date={later}", headers=auth(tokens, "analyst"))
    assert r.status_code == 200
    assert r.json()["features"] == []


def test_outreach_lists_postcodes_and_grants_for_the_desk(service):
    client, tokens, app = service
    r = client.get(f"/api/v1/nearrepeat/outreach?date={TODAY}", headers=auth(tokens, "subsidy"))
    assert r.status_code == 200, r.text
    body = r.json()
    rows = [x for x in body["rows"] if x["postcode"] == "2711"]
    # Two grants: hidden (the disclosure layer; below 5 even after the perturbation), amount too.
    assert rows and rows[0]["level"] == "PC4" and rows[0]["grants_reserved"] is None
    assert rows[0]["reserved_cents"] is None and "reserved_key" not in rows[0]
    assert "PC4" in body["note"]
    csv = client.get(f"/api/v1/nearrepeat/outreach.csv?date={TODAY}", headers=auth(tokens, "subsidy"))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("zone_id,expires_on,postcode,level")
    assert ",2711,PC4," in csv.text
    for role in ("analyst", "planner"):
        assert client.get("/api/v1/nearrepeat/outreach", headers=auth(tokens, role)).status_code == 403

    # With the CBS postcode table loaded the list is six-digit.
    from veilig.storage import ledger_repo

    ledger_repo.import_postcodes(app.state.db, f"postcode,huisnummer,buurt\n2711AB,1,{BUURT}\n2711AC,5,{BUURT}\n"
                                               "2712XX,3,BU06370102\n")
    body = client.get(f"/api/v1/nearrepeat/outreach?date={TODAY}", headers=auth(tokens, "subsidy")).json()
    pcs = {(x["postcode"], x["level"]) for x in body["rows"]}
    assert ("2711AB", "PC6") in pcs and ("2711AC", "PC6") in pcs
    ab = next(x for x in body["rows"] if x["postcode"] == "2711AB")
    assert ab["grants_reserved"] is None and ab["grants_paid"] == 0


def test_burglary_hotspot_map_and_subsidy_map_carry_the_zone_layer(service):
    client, tokens, _ = service
    r = client.get("/maps/subsidy", headers=auth(tokens, "subsidy"))
    assert r.status_code == 200, r.text
    assert "Inbraakalert" in r.text and "2711" in r.text
    r = client.get("/maps/hotspots?category=burglary", headers=auth(tokens, "planner"))
    assert r.status_code == 200 and "Inbraakalert" in r.text
    r = client.get("/maps/hotspots?category=drugs", headers=auth(tokens, "planner"))
    assert r.status_code == 200 and "Inbraakalert" not in r.text
