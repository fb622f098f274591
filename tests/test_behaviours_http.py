"""Behaviours users rely on that had no test: audit coverage, sessions and one-time links, the
access log, cache invalidation after a ledger change, the closing-date remark on the served
subsidy map, the plan as CSV, idempotent decisions.

A real app (TestClient) on a real SQLite database per test (no shared state between tests), and a
real ``veilig serve`` process for the access log.
"""

from __future__ import annotations

from veilig.dates import today_local
import getpass
import os
import re
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest
from fastapi.testclient import TestClient

from helpers import run_cli, start_server, stop_server
from veilig.api.app import create_app
from veilig.geo.demo import generate_incidents
from veilig.geo.io import write_incidents
from veilig.settings import Settings
from veilig.storage import auth as auth_mod
from veilig.storage.auth import add_user, create_login_link, read_audit, start_session, user_for_session

IBAN = "NL91ABNA0417164300"
# The ledger decides with the real clock, so the pilot is open around today (whatever today is).
OPENS = today_local() - timedelta(days=100)
CLOSES = today_local() + timedelta(days=200)
INVOICE = (OPENS + timedelta(days=5)).isoformat()


@pytest.fixture
def svc(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'b.db'}", data_dir=tmp_path, tiles_enabled=False)
    app = create_app(settings, load_demo=False)
    with TestClient(app) as client:
        db = app.state.db
        tokens = {r: add_user(db, f"{r}-b", r) for r in ("analyst", "planner", "subsidy", "admin")}
        h = {r: {"Authorization": f"Bearer {t}"} for r, t in tokens.items()}
        r = client.post("/api/v1/subsidy/pilots", headers=h["admin"], json={
            "name": "Hang- en sluitwerk", "budget_cents": 1_000_000, "opens_on": OPENS.isoformat(),
            "closes_on": CLOSES.isoformat(), "grant_percentage": 50, "max_grant_cents": 25_000,
            "waiting_list": False})
        assert r.status_code == 201, r.text
        yield client, h, app, tmp_path


def _apply(client, h, n: int) -> dict:
    r = client.post("/api/v1/subsidy/applications", headers=h["subsidy"], json={
        "applicant_name": "J. de Vries", "postcode": "2711 AB", "house_number": n, "buurt": "BU06370101",
        "object_type": "woning", "invoice_amount_cents": 30_000, "invoice_date": INVOICE,
        "products": ["SKG*** cilinderslot"], "iban": IBAN})
    assert r.status_code == 201, r.text
    return r.json()


def _actions(app) -> list[tuple[str, str]]:
    return [(row["user_name"], row["action"]) for row in read_audit(app.state.db, 5000)]


# ------------------------------------------------------------------ audit log coverage


def test_the_finance_export_and_an_upload_are_in_the_audit_log(svc):
    client, h, app, tmp = svc
    _apply(client, h, 1)
    assert ("subsidy-b", "subsidy_export") not in _actions(app)
    r = client.get("/api/v1/subsidy/export.csv", headers=h["subsidy"])
    assert r.status_code == 200
    assert ("subsidy-b", "subsidy_export") in _actions(app)

    csv = tmp / "upload.csv"
    write_incidents(generate_incidents(3, 50), csv)
    r = client.post("/api/v1/incidents", headers=h["analyst"],
                    files={"file": ("upload.csv", csv.read_bytes(), "text/csv")})
    assert r.status_code in (200, 201), r.text
    entries = [row for row in read_audit(app.state.db, 5000) if row["action"] == "import_incidents"]
    assert entries and entries[-1]["user_name"] == "analyst-b" and "upload.csv" in entries[-1]["target"]


def test_a_command_line_read_is_audited_as_the_os_user(svc):
    client, h, app, tmp = svc
    _apply(client, h, 2)
    env = {"VEILIG_DATABASE_URL": str(app.state.db.engine.url), "VEILIG_DATA_DIR": str(tmp)}
    proc = run_cli("subsidy", "export", "--out", str(tmp / "finance.csv"), env=env)
    assert proc.returncode == 0, proc.stderr
    assert (f"cli:{getpass.getuser()}", "subsidy_export") in _actions(app)


# ------------------------------------------------------------------ sessions and links


def test_a_session_lasts_twelve_hours_and_not_longer(svc, monkeypatch):
    _client, _h, app, _ = svc
    db = app.state.db
    user = auth_mod.user_for_token(db, add_user(db, "sessie", "planner"))
    t0 = datetime.now(timezone.utc)
    monkeypatch.setattr(auth_mod, "_now", lambda: t0)
    cookie = start_session(db, user)
    monkeypatch.setattr(auth_mod, "_now", lambda: t0 + timedelta(hours=11, minutes=59))
    assert user_for_session(db, cookie) == user
    monkeypatch.setattr(auth_mod, "_now", lambda: t0 + timedelta(hours=12, seconds=1))
    assert user_for_session(db, cookie) is None


def test_a_one_time_link_works_once_within_24_hours(svc, monkeypatch):
    client, _h, app, _ = svc
    db = app.state.db
    user = auth_mod.user_for_token(db, add_user(db, "link", "subsidy"))
    t0 = datetime.now(timezone.utc)
    monkeypatch.setattr(auth_mod, "_now", lambda: t0)
    late = create_login_link(db, user)
    fresh = create_login_link(db, user)
    monkeypatch.setattr(auth_mod, "_now", lambda: t0 + timedelta(hours=23, minutes=59))
    assert client.get(f"/login/once?token={fresh}", follow_redirects=False).status_code == 303
    assert client.get(f"/login/once?token={fresh}", follow_redirects=False).status_code == 401  # used
    monkeypatch.setattr(auth_mod, "_now", lambda: t0 + timedelta(hours=24, seconds=1))
    assert client.get(f"/login/once?token={late}", follow_redirects=False).status_code == 401  # expired


def test_the_access_log_masks_the_one_time_token(tmp_path):
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp_path / 'log.db'}", "VEILIG_TILES_ENABLED": "false",
           "VEILIG_DATA_DIR": str(tmp_path), "VEILIG_DEMO_YEARS": "1"}
    srv, base = start_server(env)
    try:
        secret = "geheim0123456789abcdef"
        r = httpx.get(f"{base}/login/once?token={secret}&x=1", follow_redirects=False)
        assert r.status_code == 401
        marker = httpx.get(f"{base}/health?after-the-link=1")
        assert marker.status_code == 200
        srv.log.wait_for(r"after-the-link", timeout=60)
    finally:
        out = stop_server(srv)
    link_lines = [line for line in out.splitlines() if "/login/once" in line and "GET" in line]
    assert link_lines, out[-2000:]
    assert secret not in out
    assert all("token=***" in line for line in link_lines)


# ------------------------------------------------------------------ caching


def test_a_ledger_change_moves_the_subsidy_map_but_not_the_hotspot_map(svc):
    client, h, _app, _ = svc
    sub1 = client.get("/maps/subsidy", headers=h["subsidy"]).headers["etag"]
    hot1 = client.get("/maps/hotspots?category=burglary", headers=h["planner"]).headers["etag"]
    assert client.get("/maps/subsidy", headers={**h["subsidy"], "If-None-Match": sub1}).status_code == 304
    _apply(client, h, 3)
    r = client.get("/maps/subsidy", headers={**h["subsidy"], "If-None-Match": sub1})
    assert r.status_code == 200 and r.headers["etag"] != sub1
    hot2 = client.get("/maps/hotspots?category=burglary", headers={**h["planner"], "If-None-Match": hot1})
    assert hot2.status_code == 304


# ------------------------------------------------------------------ the budget panel on the subsidy map


def _budget_panel(client, h) -> str:
    r = client.get("/maps/subsidy", headers=h["subsidy"])
    assert r.status_code == 200, r.text
    m = re.search(r'id="veilig-budget">(.*?)</table>', r.text, re.DOTALL)
    assert m, r.text[:2000]
    return m.group(1)


def test_the_served_subsidy_map_says_when_the_budget_outlasts_the_pilot(svc):
    """End to end: the ledger's projection and the pilot's closing date reach the budget panel.

    One grant of EUR 150 in a EUR 10.000 pilot: at that pace the budget lasts years, far past
    the closing date, and the served panel says so. Ten grants: the budget runs out before the
    pilot closes, and the remark goes.
    """
    from veilig.maps.subsidy import AFTER_CLOSING
    from veilig.maps.text import format_date

    client, h, _app, _ = svc
    assert AFTER_CLOSING == "na de sluitingsdatum"
    assert "geen voorspelling" in _budget_panel(client, h)  # nothing committed yet: no pace
    _apply(client, h, 1)
    panel = _budget_panel(client, h)
    assert "Budget op (verwacht)" in panel
    assert f"(na de sluitingsdatum, {format_date(CLOSES)}: het budget raakt naar verwachting niet op)" in panel
    for n in range(2, 11):
        _apply(client, h, n)
    panel = _budget_panel(client, h)
    assert "Budget op (verwacht)" in panel and "geen voorspelling" not in panel
    assert "na de sluitingsdatum" not in panel and "niet op" not in panel


# ------------------------------------------------------------------ the plan as CSV


def test_the_plan_comes_as_csv_with_accept_text_csv(svc):
    client, h, _app, tmp = svc
    csv = tmp / "jeugd.csv"
    write_incidents(generate_incidents(5, 3000, date(2025, 1, 1), date(2025, 12, 31)), csv)
    assert client.post("/api/v1/incidents", headers=h["analyst"],
                       files={"file": ("jeugd.csv", csv.read_bytes(), "text/csv")}).status_code in (200, 201)
    q = "/api/v1/rhythm/plan?theme=jeugd&week=2025-W40&pairs=2"
    as_json = client.get(q, headers=h["planner"])
    as_csv = client.get(q, headers={**h["planner"], "Accept": "text/csv"})
    assert as_json.headers["content-type"].startswith("application/json")
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.splitlines()
    assert "shift" in lines[0] or "dienst" in lines[0].lower()
    assert len(lines) - 1 == len(as_json.json()["plan"])


# ------------------------------------------------------------------ idempotent decisions


@pytest.mark.parametrize("action", ["approve", "reject", "pay"])
def test_a_retried_decision_with_the_same_key_is_done_once(svc, action):
    client, h, _app, _ = svc
    app_ = _apply(client, h, {"approve": 10, "reject": 11, "pay": 12}[action])
    base = f"/api/v1/subsidy/applications/{app_['id']}"
    if action == "pay":
        assert client.post(f"{base}/approve", headers=h["subsidy"]).status_code == 200
    body = {"reason": "geen SKG-keurmerk"} if action == "reject" else None
    key = {**h["subsidy"], "Idempotency-Key": f"{action}-1"}
    before = client.get("/api/v1/subsidy/budget", headers=h["subsidy"]).json()
    first = client.post(f"{base}/{action}", headers=key, json=body)
    assert first.status_code == 200, first.text
    after_first = client.get("/api/v1/subsidy/budget", headers=h["subsidy"]).json()
    retry = client.post(f"{base}/{action}", headers=key, json=body)
    assert retry.status_code == 200 and retry.json() == first.json()
    assert client.get("/api/v1/subsidy/budget", headers=h["subsidy"]).json() == after_first
    trail = client.get(f"{base}/trail", headers=h["subsidy"]).json()
    assert sum(1 for e in trail if e["action"] == {"approve": "approve", "reject": "reject", "pay": "pay"}[action]) == 1
    if action == "pay":
        assert after_first["paid_cents"] == before["paid_cents"] + app_["grant_cents"]
    # The same key for another request is refused, and changes nothing.
    other = _apply(client, h, {"approve": 20, "reject": 21, "pay": 22}[action])
    with_other = client.get("/api/v1/subsidy/budget", headers=h["subsidy"]).json()
    clash = client.post(f"/api/v1/subsidy/applications/{other['id']}/{action}", headers=key, json=body)
    assert clash.status_code == 409
    assert client.get("/api/v1/subsidy/budget", headers=h["subsidy"]).json() == with_other
    assert client.get(f"/api/v1/subsidy/applications/{other['id']}", headers=h["subsidy"]).json()["status"] == "reserved"
