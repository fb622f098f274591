"""CSRF: cookie-authenticated state changes need our origin and the session's token; Bearer does not.

Real app (TestClient) on a real SQLite database; the cross-site form in Chromium is in the browser tests.
"""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from veilig.api.app import create_app
from veilig.api.csrf import token_for
from veilig.settings import Settings
from veilig.storage.auth import add_user

ORIGIN = "http://testserver"


@pytest.fixture
def app_client(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'c.db'}", data_dir=tmp_path, tiles_enabled=False)
    app = create_app(settings, load_demo=False)
    with TestClient(app) as client:
        tokens = {r: add_user(app.state.db, f"{r}-csrf", r) for r in ("admin", "subsidy")}
        yield client, tokens


def _login(client: TestClient, token: str) -> str:
    form = client.get("/login")
    assert form.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', form.text).group(1)
    r = client.post("/login", data={"token": token, "csrf_token": csrf}, headers={"Origin": ORIGIN},
                    follow_redirects=False)
    assert r.status_code == 303, r.text
    return client.cookies.get("veilig_session")


PILOT = {"name": "p", "budget_cents": 100_000, "opens_on": "2026-01-01", "closes_on": "2026-12-31",
         "grant_percentage": 50, "max_grant_cents": 25_000, "waiting_list": False}


def test_cookie_post_without_token_is_refused_and_changes_nothing(app_client):
    client, tokens = app_client
    _login(client, tokens["admin"])
    r = client.post("/api/v1/subsidy/pilots", json=PILOT, headers={"Origin": ORIGIN})
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    assert client.get("/api/v1/subsidy/pilots").json() == []


def test_cookie_post_from_another_origin_is_refused_even_with_the_token(app_client):
    client, tokens = app_client
    session = _login(client, tokens["admin"])
    for origin in ("http://127.0.0.1:9999", "null"):
        r = client.post("/api/v1/subsidy/pilots", json=PILOT,
                        headers={"Origin": origin, "X-CSRF-Token": token_for(session)})
        assert r.status_code == 403, origin
    # Neither Origin nor Referer: refused too.
    r = client.post("/api/v1/subsidy/pilots", json=PILOT, headers={"X-CSRF-Token": token_for(session)})
    assert r.status_code == 403
    assert client.get("/api/v1/subsidy/pilots").json() == []


def test_cookie_post_with_origin_and_token_goes_through(app_client):
    client, tokens = app_client
    session = _login(client, tokens["admin"])
    r = client.post("/api/v1/subsidy/pilots", json=PILOT,
                    headers={"Origin": ORIGIN, "X-CSRF-Token": token_for(session)})
    assert r.status_code == 201, r.text


def test_bearer_requests_need_no_csrf_token(app_client):
    client, tokens = app_client
    r = client.post("/api/v1/subsidy/pilots", json=PILOT, headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert r.status_code == 201, r.text


def test_login_csrf_a_foreign_login_form_is_refused(app_client):
    client, tokens = app_client
    # An attacker's page posts its own token to /login: no pre-login cookie, no matching token.
    r = client.post("/login", data={"token": tokens["subsidy"], "csrf_token": "0" * 64},
                    headers={"Origin": "http://127.0.0.1:9999"}, follow_redirects=False)
    assert r.status_code == 403
    assert "veilig_session" not in client.cookies


def test_logout_needs_the_token(app_client):
    client, tokens = app_client
    session = _login(client, tokens["admin"])
    r = client.post("/logout", headers={"Origin": ORIGIN}, follow_redirects=False)
    assert r.status_code == 403
    assert client.get("/api/v1/subsidy/pilots").status_code == 200  # still logged in
    r = client.post("/logout", data={"csrf_token": token_for(session)}, headers={"Origin": ORIGIN},
                    follow_redirects=False)
    assert r.status_code == 303
