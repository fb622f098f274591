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
