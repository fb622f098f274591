"""Small helpers shared by tests (no fixtures here)."""

from __future__ import annotations

import os
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
    """A port that was free a moment ago. Racy (another process may bind it before the server
    does): prefer :func:`start_server`, which binds port 0; a caller that needs a known port must
    retry on "address already in use", as the one-time-link test does."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def require(condition: bool, why: str) -> None:
    """One rule for every prerequisite (a browser, a vendored asset, a reference library): in CI
    (``CI`` set, as .ci/run does) a missing one is a failure; on a developer's machine a skip that
    says why."""
    import pytest

    if condition:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI requires it: {why}")
    pytest.skip(why)


def add_users(env: dict[str, str], roles, prefix: str) -> dict[str, str]:
    """Create one user per role with `veilig users add`; return role -> token (last stdout line)."""
    tokens = {}
    for role in roles:
        proc = run_cli("users", "add", f"{prefix}-{role}", "--role", role, env=env)
        assert proc.returncode == 0, proc.stderr
        tokens[role] = proc.stdout.strip().splitlines()[-1]
    return tokens


class ServerLog:
    """Drains a server's output on a thread (a pipe nobody reads would stall a busy server) and
    lets a test wait for a line with a deadline, on an event rather than sleeps."""

    def __init__(self, stream) -> None:
        import threading

        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._drain, args=(stream,), daemon=True)
        self._thread.start()

    def _drain(self, stream) -> None:
        for line in stream:
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def text(self) -> str:
        with self._cond:
            return "".join(self._lines)

    def wait_for(self, pattern: str, timeout: float = 300.0):
        """The first match of ``pattern`` (a regex) in the output; AssertionError after ``timeout``
        seconds or when the output ends without it."""
        import re
        import time

        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self._lines[seen:]:
                    m = rx.search(line)
                    if m:
                        return m
                seen = len(self._lines)
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise AssertionError(f"no line matching {pattern!r} in the server output "
                                         f"({'ended' if self._closed else 'timeout'}):\n{''.join(self._lines)[-4000:]}")
                self._cond.wait(left)


def start_server(env: dict[str, str], timeout: float = 300.0) -> tuple[subprocess.Popen, str]:
    """Start `veilig serve` on port 0 and return the process and its base URL once it listens.

    The server binds a free port itself (port 0) and reports it ("Uvicorn running on
    http://127.0.0.1:PORT"), so there is no race between picking a free port and binding it. The
    output is drained on a thread (``proc.log``, a :class:`ServerLog`).
    """
    proc = subprocess.Popen([*VEILIG, "serve", "--port", "0"], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    proc.log = ServerLog(proc.stdout)  # type: ignore[attr-defined]
    try:
        m = proc.log.wait_for(r"Uvicorn running on (http://127\.0\.0\.1:\d+)", timeout)
    except AssertionError:
        proc.kill()
        proc.wait(timeout=30)
        raise
    return proc, m.group(1)


def stop_server(proc: subprocess.Popen) -> str:
    """Stop the server; return what it printed."""
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=30)
    log = proc.log  # type: ignore[attr-defined]
    log._thread.join(timeout=10)
    return log.text()


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
