"""Attacks with hostile requests on a real server (issue 9): bounded before the body is read.

`veilig serve` runs as a subprocess (tests/helpers.py); uploads are sent over a raw socket so
the test controls exactly how much of the body has gone out when the answer comes back. A 1 GB
upload without a token (or with a wrong one, or a planner's) must be answered 401/403 after a
megabyte, and nothing may have been spooled to the server's temporary directory.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from datetime import date
from urllib.parse import urlsplit

import httpx
import pytest

from helpers import add_users, start_server, stop_server

GB = 1 << 30
BOUNDARY = "veiligtestboundary"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    spool = tmp / "spool"
    spool.mkdir()
    from veilig.geo.demo import generate_incidents
    from veilig.geo.io import write_incidents

    big = tmp / "heavy.csv"
    write_incidents(generate_incidents(5, 150_000, date(2023, 1, 1), date(2025, 12, 31)), big)
    env = {"VEILIG_DATABASE_URL": f"sqlite:///{tmp / 'srv.db'}", "VEILIG_TILES_ENABLED": "false",
           "VEILIG_DATA_DIR": str(tmp), "VEILIG_DEMO_YEARS": "1", "TMPDIR": str(spool),
           "VEILIG_MAX_UPLOAD_BYTES": str(64 * 1024 * 1024)}
    tokens = add_users(env, ("analyst", "planner"), "atk")
    proc, base = start_server(env)
    try:
        yield base, tokens, spool, big
    finally:
        print(stop_server(proc)[-3000:])


def _raw_upload(base: str, headers: dict[str, str], declared: int | None, send_bytes: int,
                field_first: str = "") -> tuple[str, int]:
    """Send a multipart upload's headers and ``send_bytes`` of its body, then read the answer.

    Returns (status line and headers, bytes of body actually sent). With ``declared`` None the
    body goes chunked (no Content-Length).
    """
    u = urlsplit(base)
    sock = socket.create_connection((u.hostname, u.port), timeout=60)
    lines = [f"POST /api/v1/incidents HTTP/1.1", f"Host: {u.netloc}",
             f"Content-Type: multipart/form-data; boundary={BOUNDARY}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {declared}" if declared is not None else "Transfer-Encoding: chunked")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    preamble = (field_first + f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; "
                "filename=\"big.csv\"\r\nContent-Type: text/csv\r\n\r\nid,occurred_at,category,x,y\n").encode()
    row = b"A,2025-01-01T00:00:00+01:00,drugs,93494,452949\n" * 1000
    sent = 0
    answer = b""
    sock.settimeout(0.05)
    chunks = [preamble] + [row] * (send_bytes // len(row) + 1)
    try:
        for chunk in chunks:
            data = chunk if declared is not None else f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
            try:
                sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
            try:
                answer += sock.recv(65536)
            except (socket.timeout, BlockingIOError):
                pass
            except ConnectionResetError:
                break
            if b"\r\n\r\n" in answer or sent >= send_bytes:
                break
        sock.settimeout(60)
        while b"\r\n\r\n" not in answer:
            try:
                more = sock.recv(65536)
            except ConnectionResetError:
                break
            if not more:
                break
            answer += more
    finally:
        sock.close()
    return answer.decode("latin-1"), sent


def _spooled(spool) -> int:
    return sum(f.stat().st_size for f in spool.rglob("*") if f.is_file())


@pytest.mark.parametrize("who,status", [(None, 401), ("wrong", 401), ("planner", 403)])
def test_a_1gb_upload_without_the_right_token_is_refused_before_its_body_is_read(server, who, status):
    base, tokens, spool, _ = server
    headers = {}
    if who == "wrong":
        headers["Authorization"] = "Bearer not-a-token"
    elif who == "planner":
        headers["Authorization"] = f"Bearer {tokens['planner']}"
    answer, sent = _raw_upload(base, headers, declared=GB, send_bytes=8 * 1024 * 1024)
    assert answer.startswith(f"HTTP/1.1 {status}"), answer[:200]
    assert sent <= 8 * 1024 * 1024 + 100_000  # the answer came while we were still sending
    assert _spooled(spool) == 0


def test_an_analysts_upload_declared_too_large_is_413_at_once(server):
    base, tokens, spool, _ = server
    answer, sent = _raw_upload(base, {"Authorization": f"Bearer {tokens['analyst']}"}, declared=GB,
                               send_bytes=8 * 1024 * 1024)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert _spooled(spool) == 0


def test_a_chunked_upload_is_stopped_at_the_limit_while_streaming(server):
    base, tokens, spool, _ = server
    answer, sent = _raw_upload(base, {"Authorization": f"Bearer {tokens['analyst']}"}, declared=None,
                               send_bytes=200 * 1024 * 1024)
    assert answer.startswith("HTTP/1.1 413"), answer[:200]
    assert sent < 100 * 1024 * 1024  # the limit is 64 MB: refused long before the 200 MB were sent
    assert _spooled(spool) == 0  # the temporary file was removed with the refusal


def _session(base: str, token: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    form = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    r = client.post("/login", data={"token": token, "csrf_token": csrf}, headers={"Origin": base})
    assert r.status_code in (200, 303), r.text
    return client


def test_a_cookie_upload_needs_the_csrf_token_before_the_file(server):
    base, tokens, _, _ = server
    client = _session(base, tokens["analyst"])
    body = "id,occurred_at,category,x,y\nCK-1,2025-03-01T12:00:00+01:00,drugs,93494,452949\n"
    files = {"file": ("ck.csv", body, "text/csv")}
    # No token at all, and the token after the file: refused (the file is not read first).
    assert client.post("/api/v1/incidents", files=files, headers={"Origin": base}).status_code == 403
    page = client.get("/analyse/upload")
    assert page.status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    late = (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"ck.csv\"\r\n\r\n{body}\r\n"
            f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--{BOUNDARY}--\r\n")
    r = client.post("/api/v1/incidents", content=late.encode(), headers={
        "Origin": base, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})
    assert r.status_code == 403
    # From another origin: refused even with the token.
    assert client.post("/api/v1/incidents", files=files, data={"csrf_token": token},
                       headers={"Origin": "http://127.0.0.1:1"}).status_code == 403
    # The token first (as the page's form sends it), or in the header: accepted.
    r = client.post("/api/v1/incidents", files=files, data={"csrf_token": token}, headers={"Origin": base})
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/incidents", files=files, headers={"Origin": base, "X-CSRF-Token": token})
    assert r.status_code == 201 and r.json()["skipped_existing"] == 1


def test_health_answers_while_a_heavy_upload_is_being_checked(server):
    base, tokens, _, big = server
    done: dict[str, float] = {}

    def heavy():
        with open(big, "rb") as fh:
            r = httpx.post(f"{base}/api/v1/incidents", headers={"Authorization": f"Bearer {tokens['analyst']}"},
                           files={"file": ("heavy.csv", fh, "text/csv")}, data={"source": "heavy"}, timeout=600)
        done["heavy"] = time.monotonic()
        done["status"] = r.status_code

    worker = threading.Thread(target=heavy)
    worker.start()
    answered = []
    while worker.is_alive() and len(answered) < 20:
        r = httpx.get(f"{base}/health", timeout=60)
        if r.status_code == 200:
            answered.append(time.monotonic())
        time.sleep(0.2)
    worker.join()
    assert done["status"] == 201
    # /health answered, several times, before the heavy request had finished.
    assert len([t for t in answered if t < done["heavy"]]) >= 3


def test_the_upload_page_shows_the_row_report_and_the_skipped_rows(server):
    base, tokens, _, _ = server
    client = _session(base, tokens["analyst"])
    page = client.get("/analyse/upload")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    bad = ("id,occurred_at,category,x,y\nP-1,2025-03-01T12:00:00+01:00,drugs,93494,452949\n"
           "P-2,1700-06-01,drugs,93494,452949\nP-3,2025-03-01T12:00:00+01:00,drugs,inf,inf\n")
    r = client.post("/analyse/upload", data={"csrf_token": token, "source": "pagina"},
                    files={"file": ("rijen.csv", bad, "text/csv")}, headers={"Origin": base})
    assert r.status_code == 422 and "Geweigerd, niets geïmporteerd" in r.text
    assert "<td class=\"num\">2</td><td>occurred_at</td>" in r.text and "<td class=\"num\">3</td>" in r.text
    r = client.post("/analyse/upload", data={"csrf_token": token, "source": "pagina", "skip_invalid": "true"},
                    files={"file": ("rijen.csv", bad, "text/csv")}, headers={"Origin": base})
    assert r.status_code == 200 and "<strong>1</strong> rij ingevoegd" in r.text
    r = client.post("/analyse/upload", data={"csrf_token": token, "source": "pagina", "skip_invalid": "true"},
                    files={"file": ("rijen.csv", bad, "text/csv")}, headers={"Origin": base})
    assert r.status_code == 200 and "al eerder opgeslagen" in r.text and "Er is niets nieuws opgeslagen" in r.text
    m = re.search(r'href="/analyse/upload/importen/(\d+)/ongedaan"', r.text)
    assert m
    confirm = client.get(f"/analyse/upload/importen/{m.group(1)}/ongedaan")
    assert confirm.status_code == 200 and "ongedaan maken?" in confirm.text
    # Without the CSRF token the undo is refused; with it, it goes through.
    assert client.post(f"/analyse/upload/importen/{m.group(1)}/ongedaan", headers={"Origin": base}).status_code == 403
    r = client.post(f"/analyse/upload/importen/{m.group(1)}/ongedaan", data={"csrf_token": token},
                    headers={"Origin": base}, follow_redirects=False)
    assert r.status_code == 303
    assert "ongedaan gemaakt op" in client.get("/analyse/upload").text
    # A planner has no upload page.
    planner = _session(base, tokens["planner"])
    assert planner.get("/analyse/upload").status_code == 403


def test_the_header_csp_has_no_inline_script_and_names_the_maps_and_docs_scripts_by_hash(server):
    import base64
    import hashlib

    base, tokens, _, _ = server
    h = {"Authorization": f"Bearer {tokens['analyst']}"}
    for url in ("/login", "/health", "/api/v1/neighbourhoods"):
        policy = httpx.get(f"{base}{url}", headers=h, timeout=60).headers["content-security-policy"]
        scripts = policy.split("script-src")[1].split(";")[0]
        assert "'unsafe-inline'" not in scripts and scripts.split() == ["'self'"], (url, policy)
    for url in ("/docs", "/maps/hotspots?category=drugs"):
        r = httpx.get(f"{base}{url}", headers=h, timeout=300)
        assert r.status_code == 200
        scripts = r.headers["content-security-policy"].split("script-src")[1].split(";")[0]
        assert "'unsafe-inline'" not in scripts
        inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", r.text, re.DOTALL)
        assert inline, url
        for body in inline:
            digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
            assert f"'sha256-{digest}'" in scripts, url
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


def test_cookies_get_the_secure_flag_when_configured(tmp_path):
    from fastapi.testclient import TestClient

    from veilig.api.app import create_app
    from veilig.settings import Settings
    from veilig.storage.auth import add_user

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 's.db'}", data_dir=tmp_path,
                              tiles_enabled=False, cookie_secure=True), load_demo=False)
    with TestClient(app, base_url="https://testserver") as client:
        token = add_user(app.state.db, "sec", "analyst")
        form = client.get("/login")
        assert "secure" in form.headers["set-cookie"].lower()
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        r = client.post("/login", data={"token": token, "csrf_token": csrf},
                        headers={"Origin": "https://testserver"}, follow_redirects=False)
        assert r.status_code == 303
        session = [c for c in r.headers.get_list("set-cookie") if c.startswith("veilig_session=")]
        assert session and "secure" in session[0].lower() and "httponly" in session[0].lower()
