#!/usr/bin/env bash
# Install (if needed) and start the service on 127.0.0.1:8000.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/veilig serve "$@"
