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
