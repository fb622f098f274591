#!/usr/bin/env bash
# Install (if needed) and run the whole test suite, on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --test
# Two worker processes (this machine has two cores); a test file stays on one worker, so its
# module-scoped servers and databases are built once. `pytest -n 0` (or plain `pytest`) runs serially.
exec .venv/bin/python -m pytest -n 2 --dist loadfile "$@"
