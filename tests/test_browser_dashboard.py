"""The dashboard in real Chromium, per role: the budget's figures, the synthetic label on demo data,
no request to another origin, no console error, basic accessibility, and a print layout.

A real `veilig serve` on a fresh SQLite database (it loads the demo data), with a pilot and a few
grants so the subsidy desk and the admin see a burn-down.
"""

from __future__ import annotations

import re

import httpx
import pytest

from helpers import add_users, require, start_server, stop_server
from browserkit import login as _login, skip_reason as _skip_reason, watch as _watch
from test_browser import CLOSES, INVOICE, OPENS

pytestmark = pytest.mark.browser

ROLES = ("analyst", "planner", "subsidy", "admin")
#: (indicator, year, column) -> the text the budget's figure must show as.
SEED_CELLS = {
    ("woninginbraken", 2024, "realisation"): "89",
    ("woninginbraken", 2026, "norm"): "180", ("woninginbraken", 2029, "norm"): "180",
    ("rapportcijfer_buurt", 2024, "realisation"): "8,0", ("rapportcijfer_buurt", 2026, "norm"): "7,5",
    ("rapportcijfer_stad", 2024, "realisation"): "7,6", ("rapportcijfer_stad", 2029, "norm"): "7,4",
}

A11Y_CHECKS = """() => {
  const problems = [];
  if (document.documentElement.lang !== 'nl') problems.push('lang is not nl');
  if (document.querySelectorAll('h1').length !== 1) problems.push('not exactly one h1');
  let last = 1;
  for (const h of document.querySelectorAll('main h1, main h2, main h3, main h4')) {
    const level = +h.tagName[1];
    if (level > last + 1) problems.push('heading level skipped at ' + h.textContent.trim());
    last = level;
  }
  for (const svg of document.querySelectorAll('main svg')) {
    const title = svg.querySelector('title');
    if (svg.getAttribute('role') !== 'img' || !title || !title.textContent.trim()) problems.push('svg without role=img and title');
    const ids = (svg.getAttribute('aria-labelledby') || '').split(' ').filter(Boolean);
    if (!ids.length || ids.some(id => !document.getElementById(id))) problems.push('svg aria-labelledby dangling');
  }
  for (const t of document.querySelectorAll('main table')) {
    if (!t.querySelector('caption') || !t.querySelector('caption').textContent.trim()) problems.push('table without caption');
    for (const th of t.querySelectorAll('th')) if (!th.getAttribute('scope')) problems.push('th without scope');
  }
  for (const a of document.querySelectorAll('a')) if (!a.textContent.trim() && !a.getAttribute('aria-label')) problems.push('empty link');
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  if (new Set(ids).size !== ids.length) problems.push('duplicate ids');
  if (document.querySelectorAll('script').length) problems.push('a script on the page');
  return problems;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    reason = _skip_reason()
    require(reason is None, reason or "")
    tmp = tmp_path_factory.mktemp("dashboard")
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp / 'd.db'}", "VEILIG_TILES_ENABLED": "false",
           "VEILIG_DATA_DIR": str(tmp)}
    tokens = add_users(env, ROLES, "d")
    srv, base = start_server(env)
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    r = httpx.post(f"{base}/api/v1/subsidy/pilots", headers=admin, json={
        "name": "Hang- en sluitwerk 2026", "budget_cents": 500_000, "opens_on": OPENS, "closes_on": CLOSES})
    assert r.status_code == 201, r.text
    desk = {"Authorization": f"Bearer {tokens['subsidy']}"}
    for n in range(1, 5):
        r = httpx.post(f"{base}/api/v1/subsidy/applications", headers=desk, json={
            "applicant_name": "J. de Vries", "postcode": "2711 AB", "house_number": n, "buurt": "BU06370002",
            "object_type": "woning", "invoice_amount_cents": 40_000, "invoice_date": INVOICE,
            "products": ["SKG*** cilinderslot"], "iban": "NL91ABNA0417164300"}, timeout=60)
        assert r.status_code == 201, r.text
    yield base, tokens
    stop_server(srv)




def _cell(page, code: str, year: int, kind: str) -> str:
    row = page.locator(f"#ind-{code} table tbody tr", has=page.locator("th", has_text=re.compile(rf"^{year}\b")))
    return row.locator(f"td[data-kind={kind}]").inner_text().strip()


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_the_budget_figures_offline_with_the_synthetic_label(server, browser, role):
    base, tokens = server
    context, page = _login(browser, base, tokens[role])
    problems, dialogs = _watch(page, base)
    try:
        page.goto(f"{base}/")
        page.click("nav >> text=Dashboard")
        page.wait_for_url(f"{base}/dashboard")
        assert page.locator("h1").inner_text() == "Programma 5 Veiligheid in cijfers"
        for (code, year, kind), shown in SEED_CELLS.items():
            assert _cell(page, code, year, kind) == shown, (role, code, year, kind)
        assert "Programmabegroting 2026" in page.locator("#ind-woninginbraken").inner_text()
        # Demo data: the computed figures are labelled synthetic, at the top and on the series.
        assert page.locator("#synthetisch").is_visible()
        assert page.locator(".synthetic-badge").count() >= 1
        # Trend graphs drawn on the server, with the norm line in the legend.
        chart = page.locator("#ind-woninginbraken svg.chart")
        assert chart.count() == 1 and "Norm" in chart.inner_html()
        assert page.locator("#ind-woninginbraken svg.chart polyline").count() >= 2
        # The running year against the norm of 180.
        running = page.locator("#lopend-kop + table").inner_text()
        assert "Woninginbraken" in running and "180" in running
        assert (page.locator("#budget-kop").count() == 1) == (role in ("subsidy", "admin"))
        if role in ("subsidy", "admin"):
            budget = page.locator("section[aria-labelledby=budget-kop]")
            assert budget.locator("svg.chart").count() == 1
            assert "Gereserveerd" in budget.inner_text()
        assert ("Drugsincidenten" in page.content()) == (role in ("analyst", "planner"))
        if role != "analyst":
            cells = page.locator(".multiples-table td").all_inner_texts()
            assert cells and not [c for c in cells if c.strip() in {"1", "2", "3", "4"}]
            assert "verborgen" in cells
        assert page.evaluate(A11Y_CHECKS) == []
        # Print layout for the council: no navigation, charts kept.
        page.emulate_media(media="print")
        assert not page.locator("header.top").is_visible()
        assert page.locator("#ind-woninginbraken svg.chart").is_visible()
        page.emulate_media(media="screen")
        assert problems == [], problems
        assert dialogs == []
    finally:
        context.close()
