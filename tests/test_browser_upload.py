"""The analyst's upload page in real Chromium (issues 9 and 10): a file with bad rows is refused
and its rows listed, a good file goes in, a re-upload says plainly that its rows were already
stored, an import is undone after a confirmation; a cross-site form post stores nothing.
"""

from __future__ import annotations

import http.server
import threading
from functools import partial

import httpx
import pytest

from helpers import add_users, free_port, require, start_server, stop_server
from browserkit import login, skip_reason as _skip_reason

pytestmark = pytest.mark.browser

BAD = ("id,occurred_at,category,x,y\n"
       "U-1,2025-03-01T21:30:00+01:00,drugs,93494,452949\n"
       "U-2,1700-06-01,drugs,93494,452949\n"
       "U-3,2025-03-01T21:30:00+01:00,drugs,inf,inf\n")
GOOD = ("id,occurred_at,category,x,y\n"
        "U-1,2025-03-01T21:30:00+01:00,drugs,93494,452949\n"
        "U-4,2025-03-02T21:30:00+01:00,drugs,93500,452950\n")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    reason = _skip_reason()
    require(reason is None, reason or "")
    tmp = tmp_path_factory.mktemp("upload")
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp / 'u.db'}", "VEILIG_TILES_ENABLED": "false",
           "VEILIG_DATA_DIR": str(tmp), "VEILIG_DEMO_YEARS": "1"}
    tokens = add_users(env, ("analyst",), "u")
    srv, base = start_server(env)
    yield base, tokens
    stop_server(srv)


def _analyst_page(browser, base, token):
    context, page = login(browser, base, token)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return context, page, errors


def _batches(base, token) -> list[dict]:
    return httpx.get(f"{base}/api/v1/incidents/batches", headers={"Authorization": f"Bearer {token}"}).json()


def test_the_analyst_uploads_a_bad_file_sees_its_rows_then_a_good_one_and_undoes_it(server, browser):
    base, tokens = server
    context, page, errors = _analyst_page(browser, base, tokens["analyst"])
    page.click("text=Uploaden")
    page.wait_for_url(f"{base}/analyse/upload")
    page.fill("#source", "browser")
    page.set_input_files("#file", files=[{"name": "slecht.csv", "mimeType": "text/csv", "buffer": BAD.encode()}])
    page.click("button:has-text('Uploaden')")
    page.wait_for_load_state()
    assert "Geweigerd, niets geïmporteerd" in page.inner_text("main")
    rows = page.locator("table.data >> nth=0 >> tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).inner_text().split("\t")[:2] == ["2", "occurred_at"]
    assert rows.nth(1).inner_text().startswith("3")

    page.fill("#source", "browser")
    page.set_input_files("#file", files=[{"name": "goed.csv", "mimeType": "text/csv", "buffer": GOOD.encode()}])
    page.click("button:has-text('Uploaden')")
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert "2 rijen ingevoegd" in text and "0 rijen overgeslagen" in text

    page.fill("#source", "browser")
    page.set_input_files("#file", files=[{"name": "goed.csv", "mimeType": "text/csv", "buffer": GOOD.encode()}])
    page.click("button:has-text('Uploaden')")
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert "0 rijen ingevoegd" in text and "2 rijen overgeslagen: al eerder opgeslagen" in text
    assert "Er is niets nieuws opgeslagen" in text

    first = [b for b in _batches(base, tokens["analyst"]) if b["filename"] == "goed.csv" and b["rows_inserted"] == 2]
    assert len(first) == 1
    page.click(f"a[href='/analyse/upload/importen/{first[0]['id']}/ongedaan']")
    page.wait_for_url(f"{base}/analyse/upload/importen/{first[0]['id']}/ongedaan")
    page.click("button:has-text('ongedaan maken')")
    page.wait_for_url(f"{base}/analyse/upload")
    assert "ongedaan gemaakt op" in page.inner_text("main")
    again = [b for b in _batches(base, tokens["analyst"]) if b["id"] == first[0]["id"]][0]
    assert again["undone_at"] and again["rows_stored"] == 0 and again["rows_removed"] == 2
    # No CSP violation, no script error (the refused upload's own 422 is expected).
    assert [e for e in errors if "status of 422" not in e] == []
    context.close()


def test_a_cross_site_upload_form_in_chromium_stores_nothing(server, browser, tmp_path):
    base, tokens = server
    context, page, _ = _analyst_page(browser, base, tokens["analyst"])
    before = len(_batches(base, tokens["analyst"]))
    # Another port of 127.0.0.1 is the same *site*: the SameSite=Strict cookie goes along; the
    # origin check and the missing CSRF token must refuse the post.
    (tmp_path / "evil.html").write_text(f"""<!doctype html><html><body>
<form id="f" method="post" action="{base}/analyse/upload" enctype="multipart/form-data">
<input name="source" value="evil"><input type="file" name="file" id="file"></form>
</body></html>""", encoding="utf-8")
    port = free_port()
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{port}/evil.html")
        page.set_input_files("#file", files=[{"name": "evil.csv", "mimeType": "text/csv", "buffer": GOOD.encode()}])
        with page.expect_navigation():
            page.evaluate("document.getElementById('f').submit()")
        assert "CSRF" in page.content()
    finally:
        httpd.shutdown()
    assert len(_batches(base, tokens["analyst"])) == before
    context.close()
