"""Completions per second through the subsidy ledger, on SQLite and PostgreSQL, 1 and 8 workers.

Each worker is its own process (as the web server's workers would be). A completion is the full
library call ``ledger_repo.complete`` with an idempotency key: lock the pilot, check the rules,
reserve the grant (entry + event + idempotency record), commit. The named peer, measured in the
same run on the same database, is the floor of any durable write: one write transaction with one
bare INSERT through the same engine (``BEGIN IMMEDIATE; INSERT; COMMIT`` on SQLite).

    .venv/bin/python benchmarks/bench_ledger.py [--n 2000] [--workers 1,8] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import drop_pg_database, fresh_pg_database, print_table  # noqa: E402

NOW = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)

WORKER = r"""
import json, sys, time
from datetime import UTC, date, datetime
from sqlalchemy import text
from veilig.ledger.schemas import ApplicationIn
from veilig.storage import ledger_repo as L, open_database

url, mode, ids = sys.argv[1], sys.argv[2], [int(i) for i in sys.argv[3].split(",")]
db = open_database(url, migrate=False)
now = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
fields = ApplicationIn(invoice_date=date(2026, 2, 1))
print("ready", flush=True)
sys.stdin.readline()  # start together
t0 = time.time()
if mode == "ledger":
    for app_id in ids:
        app = L.complete(db, app_id, fields, idempotency_key=f"bench-{app_id}", now=now)
        assert app.status == "reserved", app
else:
    for app_id in ids:
        with db.write() as conn:
            conn.execute(text("INSERT INTO bench_peer (v) VALUES (:v)"), {"v": app_id})
t1 = time.time()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the (bigger) parent.
peak = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM")) / 1024
print(json.dumps({"start": t0, "end": t1, "n": len(ids), "peak_mb": peak}), flush=True)
"""


def _setup(url: str, n: int) -> list[int]:
    """A pilot whose budget covers every grant, and ``n`` received applications (invoice date missing)."""
    from sqlalchemy import text

    from veilig.ledger.schemas import ApplicationIn, PilotIn
    from veilig.storage import ledger_repo as L
    from veilig.storage import open_database

    db = open_database(url)
    L.create_pilot(
        db, PilotIn(name="bench", budget_cents=25_000 * n, opens_on=date(2026, 1, 1), closes_on=date(2026, 12, 31)), now=NOW
    )
    ids = []
    for i in range(n):
        app = L.apply(
            db,
            ApplicationIn(applicant_name=f"aanvrager {i}", postcode=f"{2711 + i % 19} AB", house_number=i + 1,
                          buurt="BU06370101", object_type="woning", invoice_amount_cents=60_000,
                          products=["SKG** cilinderslot"], iban="NL91ABNA0417164300"),
            now=NOW,
        )
        ids.append(app.id)
    with db.write() as conn:
        conn.execute(text("CREATE TABLE bench_peer (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)"))
    db.dispose()
    return ids


def _run(url: str, mode: str, ids: list[int], workers: int) -> dict:
    chunks = [ids[i::workers] for i in range(workers)]
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, url, mode, ",".join(map(str, c))],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for c in chunks
    ]
    for p in procs:
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError(p.stderr.read()[-3000:])
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        line = p.stdout.readline()
        p.wait()
        if p.returncode != 0 or not line:
            raise RuntimeError(p.stderr.read()[-3000:])
        results.append(json.loads(line))
    seconds = max(r["end"] for r in results) - min(r["start"] for r in results)
    n = sum(r["n"] for r in results)
    return {"n": n, "seconds": seconds, "per_s": n / seconds, "peak_mb": max(r["peak_mb"] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="completions per configuration")
    parser.add_argument("--workers", default="1,8")
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    worker_counts = [int(w) for w in args.workers.split(",")]

    rows = []
    for backend in args.backends.split(","):
        for workers in worker_counts:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{Path(tmp) / 'bench.db'}" if backend == "sqlite" else fresh_pg_database()
                if url is None:
                    continue
                try:
                    t0 = time.perf_counter()
                    ids = _setup(url, args.n)
                    setup_s = time.perf_counter() - t0
                    for mode, label in (("ledger", "ledger_repo.complete"), ("peer", "peer: bare INSERT per write txn")):
                        r = _run(url, mode, ids, workers)
                        rows.append([backend, workers, label, r["n"], f"{r['seconds']:.2f}", f"{r['per_s']:.0f}",
                                     f"{r['peak_mb']:.0f}"])
                    rows.append([backend, 1, "(setup: ledger_repo.apply, received)", args.n, f"{setup_s:.2f}",
                                 f"{args.n / setup_s:.0f}", "-"])
                    print(f"done: {backend} x{workers}", file=sys.stderr, flush=True)
                finally:
                    if backend != "sqlite":
                        drop_pg_database(url)
    print_table(
        f"Subsidy ledger: completions per second ({args.n} per configuration; peak = max RSS of one worker)",
        ["backend", "workers", "operation", "n", "seconds", "per second", "peak MB"],
        rows,
    )


if __name__ == "__main__":
    main()
