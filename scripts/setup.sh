#!/usr/bin/env bash
# Install veilig into ./.venv (and, with --test, what the test suite needs: Chromium, PostgreSQL).
# Safe to run again: each step checks first.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

apt_install() {
    # Debian packages; needs root (as on the project's machines and CI).
    if [[ $(id -u) -ne 0 ]]; then
        echo "setup: need root to apt-get install $*; install them and rerun" >&2
        exit 1
    fi
    if [[ ! -f /tmp/.veilig-apt-updated ]]; then
        apt-get update -qq && touch /tmp/.veilig-apt-updated
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
    # Debian splits venv (and ensurepip) into python3-venv.
    "$PY" -m venv .venv 2>/dev/null || { rm -rf .venv; apt_install python3-venv; "$PY" -m venv .venv; }
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
if [[ $want_test -eq 1 ]]; then
    .venv/bin/python -m pip install -q -e '.[test]'
else
    .venv/bin/python -m pip install -q -e .
fi

# Leaflet and Swagger UI for the offline pages: from the npm registry, pinned, never committed.
command -v npm >/dev/null 2>&1 || apt_install npm
bash scripts/vendor_static.sh

if [[ $want_test -eq 1 ]]; then
    # Browser tests drive Debian's Chromium (Playwright only as the driver, no browser download).
    command -v chromium >/dev/null 2>&1 || apt_install chromium
    # QGIS itself opens the exported GeoPackages in a test (Debian's PyQGIS under /usr/bin/python3).
    /usr/bin/python3 -c "import qgis.core" >/dev/null 2>&1 || apt_install --no-install-recommends python3-qgis
    # PostgreSQL: the storage and ledger tests run against it too.
    if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
        if ! command -v pg_ctlcluster >/dev/null 2>&1; then
            apt_install postgresql
        fi
        ver=$(ls /etc/postgresql | sort -V | tail -1)
        hba=/etc/postgresql/$ver/main/pg_hba.conf
        if ! grep -q "veilig-test" "$hba"; then
            # Trust on loopback for the test user, as on the project's machines.
            sed -i '1i host all postgres 127.0.0.1/32 trust # veilig-test' "$hba"
        fi
        pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
        for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
    fi
fi
echo "setup: done (.venv ready)"
