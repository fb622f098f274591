"""Small helpers shared by tests (no fixtures here)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

VEILIG = [sys.executable, "-m", "veilig.api"]


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*VEILIG, *args], capture_output=True, text=True, env=full_env,
                          cwd=cwd, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_users(env: dict[str, str], roles, prefix: str) -> dict[str, str]:
    """Create one user per role with `veilig users add`; return role -> token (last stdout line)."""
    tokens = {}
    for role in roles:
        proc = run_cli("users", "add", f"{prefix}-{role}", "--role", role, env=env)
        assert proc.returncode == 0, proc.stderr
        tokens[role] = proc.stdout.strip().splitlines()[-1]
    return tokens


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """Start `veilig serve` on a free loopback port and wait until /health answers.

    Returns the process and its base URL. The output goes to a temporary file, not a pipe: a
    busy server's access log would fill a pipe nobody reads and stall it.
    """
    import tempfile
    import time

    import httpx

    port = free_port()
    log = tempfile.TemporaryFile(mode="w+", encoding="utf-8")
    proc = subprocess.Popen([*VEILIG, "serve", "--port", str(port)], env={**os.environ, **env},
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    proc.log = log  # type: ignore[attr-defined]
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            if proc.poll() is not None:
                raise AssertionError(f"veilig serve stopped: {stop_server(proc)}")
            time.sleep(0.2)
    raise AssertionError(f"veilig serve did not answer /health: {stop_server(proc)}")


def stop_server(proc: subprocess.Popen) -> str:
    """Stop the server; return what it printed."""
    proc.terminate()
    proc.wait(timeout=30)
    log = proc.log  # type: ignore[attr-defined]
    log.seek(0)
    out = log.read()
    log.close()
    return out


def insert_implausible_rows(database_url: str) -> None:
    """Rows as an older version or a hand-written INSERT could have left them (issue 9): dated 1700,
    2200 and 0001, at x = y = inf or 1e308, with buurt "None"; in every category."""
    import math
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from veilig.geo.categories import CATEGORIES
    from veilig.storage import open_database
    from veilig.storage.models import ImportBatch, Incident

    rows = [("H-1700", datetime(1700, 6, 1, 12, tzinfo=UTC), 93494.0, 452949.0, "BU06370101"),
            ("H-2200", datetime(2200, 1, 1, 12, tzinfo=UTC), 93494.0, 452949.0, "BU06370101"),
            ("H-0001", datetime(1, 1, 1, 12, tzinfo=UTC), 93494.0, 452949.0, "BU06370101"),
            ("H-inf", datetime(2025, 3, 1, 12, tzinfo=UTC), math.inf, math.inf, "None"),
            ("H-big", datetime(2025, 3, 2, 12, tzinfo=UTC), 1e308, -1e308, "None")]
    db = open_database(database_url)
    try:
        with db.write() as conn:
            batch = conn.execute(insert(ImportBatch).values(
                filename="hand.sql", source="hand", rows_in_file=0, rows_inserted=0, rows_skipped_existing=0,
                rows_invalid=0, imported_at=datetime.now(UTC)).returning(ImportBatch.id)).scalar_one()
            for cat in CATEGORIES:
                for ext_id, when, x, y, buurt in rows:
                    conn.execute(insert(Incident).values(source="hand", ext_id=f"{ext_id}-{cat}", occurred_at=when,
                                                         category=cat, x=x, y=y, buurt=buurt, batch_id=batch))
    finally:
        db.dispose()


def hostile_but_valid_csv() -> str:
    """Rows the import accepts although they are meant to hurt: formula cells, markup, right-to-left
    overrides and emoji in ids and descriptions, the edges of the plausible time window."""
    from datetime import UTC, datetime, timedelta

    soon = (datetime.now(UTC) + timedelta(hours=20)).isoformat()
    lines = ["id,occurred_at,category,x,y,description"]
    texts = ['=HYPERLINK(""http://evil.example"",""klik"")', "+31 6 1234", "-2+3", "@SUM(A1)",
             "<script>alert(1)</script>", "\u202egnp.exe", "😀 ﷽ Z̤͔ͧ̑", "'; DROP TABLE incidents; --"]
    for i, text in enumerate(texts):
        for j, cat in enumerate(("drugs", "overlast_jeugd", "woninginbraak", "alcohol")):
            when = "1970-01-01T12:00:00+01:00" if i == 0 else (soon if i == 1 else f"2025-0{1 + j}-1{i}T2{j}:00:00+01:00")
            lines.append(f'"{text}-{i}-{j}",{when},{cat},{93494 + 40 * i},{452949 + 40 * j},"{text}"')
    return "\n".join(lines) + "\n"
