"""64 concurrent subsidy completions over HTTP against a budget for exactly 37 grants (both databases)."""

from __future__ import annotations

from veilig.dates import today_local
from concurrent.futures import ThreadPoolExecutor

import httpx

from helpers import add_users, start_server, stop_server


from datetime import timedelta as _timedelta

# A pilot open today, whatever today is; invoices dated just after it opened.
OPENS = (today_local() - _timedelta(days=100)).isoformat()
CLOSES = (today_local() + _timedelta(days=200)).isoformat()
INVOICE = (today_local() - _timedelta(days=95)).isoformat()

GRANT = 25_000  # 50 % of 500 euro, capped at 250 euro
N_GRANTS, N_CLIENTS = 37, 64


def test_64_concurrent_http_completions_never_exceed_the_budget(db_url, tmp_path):
    env = {"VEILIG_DATABASE_URL": db_url, "VEILIG_TILES_ENABLED": "false", "VEILIG_DATA_DIR": str(tmp_path)}
    tokens = add_users(env, ("subsidy", "admin"), "c")
    srv, base = start_server(env)
    try:
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        desk = {"Authorization": f"Bearer {tokens['subsidy']}"}
        r = httpx.post(f"{base}/api/v1/subsidy/pilots", headers=admin, json={
            "name": "race", "budget_cents": N_GRANTS * GRANT, "opens_on": OPENS, "closes_on": CLOSES})
        assert r.status_code == 201, r.text
        # 64 received applications (invoice date missing), then 64 clients complete them at once.
        ids = []
        for n in range(N_CLIENTS):
            r = httpx.post(f"{base}/api/v1/subsidy/applications", headers=desk, json={
                "applicant_name": "J. de Vries", "postcode": "2711 AB", "house_number": n + 1, "buurt": "BU06370101",
                "object_type": "woning", "invoice_amount_cents": 50_000, "products": ["SKG*** cilinderslot"],
                "iban": "NL91ABNA0417164300"})
            assert r.status_code == 201 and r.json()["status"] == "received", r.text
            ids.append(r.json()["id"])

        def complete(app_id: int) -> dict:
            with httpx.Client(timeout=120) as client:
                resp = client.post(f"{base}/api/v1/subsidy/applications/{app_id}/complete",
                                   headers={**desk, "Idempotency-Key": f"complete-{app_id}"},
                                   json={"invoice_date": INVOICE})
                assert resp.status_code == 200, resp.text
                return resp.json()

        with ThreadPoolExecutor(max_workers=N_CLIENTS) as pool:
            results = list(pool.map(complete, ids))
        statuses = [r["status"] for r in results]
        assert statuses.count("reserved") == N_GRANTS
        assert statuses.count("rejected") == N_CLIENTS - N_GRANTS
        assert all(r["reason"] == "subsidieplafond bereikt" for r in results if r["status"] == "rejected")
        budget = httpx.get(f"{base}/api/v1/subsidy/budget", headers=desk).json()
        assert budget["reserved_cents"] == N_GRANTS * GRANT
        assert budget["remaining_cents"] == 0
        assert budget["reserved_cents"] + budget["paid_cents"] <= budget["total_cents"]
    finally:
        stop_server(srv)
