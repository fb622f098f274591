"""The budget under pressure: 64 worker processes racing for a budget of 37 grants, and completions
killed with SIGKILL mid-burst. On SQLite and on PostgreSQL."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import selectors
import signal
import subprocess
import sys
from datetime import UTC, date, datetime

import pytest

from veilig.ledger.rules import REASON_CEILING
from veilig.ledger.schemas import ApplicationIn, PilotIn
from veilig.storage import ledger_repo as L
from veilig.storage import open_database

WORKERS = 64
PER_WORKER = 2
GRANT = 25_000
FITS = 37
NOW = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
INVOICE_DATE = date(2026, 2, 1)


def _setup(db, n_applications: int, budget_cents: int) -> list[int]:
    """A pilot and ``n`` received applications, each missing only its invoice date."""
    L.create_pilot(
        db, PilotIn(name="race", budget_cents=budget_cents, opens_on=date(2026, 1, 1), closes_on=date(2026, 12, 31)), now=NOW
    )
    ids = []
    for n in range(n_applications):
        app = L.apply(
            db,
            ApplicationIn(applicant_name=f"aanvrager {n}", postcode="2712 AB", house_number=n + 1, buurt="BU06370101",
                          object_type="woning", invoice_amount_cents=60_000, products=["SKG** slot"]),
            now=NOW,
        )
        assert app.status == "received"
        ids.append(app.id)
    return ids


def _complete_worker(url: str, app_ids: list[int], ready, start, results) -> None:
    db = open_database(url, migrate=False)
    ready.put(1)
    start.wait()
    out = []
    for app_id in app_ids:
        fields = ApplicationIn(invoice_date=INVOICE_DATE)
        first = L.complete(db, app_id, fields, idempotency_key=f"complete-{app_id}", now=NOW)
        retry = L.complete(db, app_id, fields, idempotency_key=f"complete-{app_id}", now=NOW)
        out.append((app_id, first.status, first.reason, retry == first))
    results.put(out)
    db.dispose()


def _wait_all(procs, q, n):
    """Collect ``n`` messages, failing fast (not on a clock) if a worker died without sending."""
    got = []
    while len(got) < n:
        try:
            got.append(q.get(timeout=1))
        except queue.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            assert not dead, f"worker(s) died: {[p.exitcode for p in dead]}"
    return got


@pytest.mark.slow
def test_budget_is_never_exceeded_under_64_concurrent_worker_processes(db, db_url):
    ids = _setup(db, WORKERS * PER_WORKER, FITS * GRANT)
    # Separate processes (not threads) with their own connections, as the workers of a server are.
    # A fork server that has imported this module once forks each worker: 64 spawned interpreters
    # would each import pytest and veilig again, most of this test's time on two cores.
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([__name__])
    ready, results, start = ctx.Queue(), ctx.Queue(), ctx.Event()
    chunks = [ids[i::WORKERS] for i in range(WORKERS)]
    procs = [ctx.Process(target=_complete_worker, args=(db_url, chunk, ready, start, results)) for chunk in chunks]
    for p in procs:
        p.start()
    try:
        _wait_all(procs, ready, WORKERS)
        start.set()  # all 64 connected: go at once
        outcomes = [o for batch in _wait_all(procs, results, WORKERS) for o in batch]
    finally:
        for p in procs:
            p.join()
    assert all(p.exitcode == 0 for p in procs)
    assert len(outcomes) == WORKERS * PER_WORKER
    assert all(same for *_, same in outcomes), "an idempotent retry answered differently"
    reserved = [o for o in outcomes if o[1] == "reserved"]
    refused = [o for o in outcomes if o[1] == "rejected"]
    assert len(reserved) == FITS
    assert len(refused) == WORKERS * PER_WORKER - FITS and all(o[2] == REASON_CEILING for o in refused)

    budget = L.budget(db, now=NOW)
    assert (budget.reserved_cents, budget.remaining_cents) == (FITS * GRANT, 0)
    check = L.verify_ledger(db, now=NOW)
    assert check.ok, check.problems
    entries = L.list_entries(db, now=NOW)
    assert [e.seq for e in entries] == list(range(1, FITS + 2))  # opening budget + 37 reservations, no gaps
    assert all(e.reserved_after + e.paid_after <= e.total_after for e in entries)
    assert sorted(e.application_id for e in entries[1:]) == sorted(o[0] for o in reserved)
    assert L.status_report(db, now=NOW).counts["reserved"] == FITS


# ---------------------------------------------------------------- SIGKILL mid-transaction

# Each burst process completes its applications one by one. On its KILL_AT-th completion a
# listener on the engine (test code, not the product) fires right after the INSERT of the
# ledger entry, i.e. inside the open transaction before COMMIT: it reports "IN-TXN <id>" and
# blocks. The parent kills the process on that line, so the SIGKILL lands mid-transaction every
# time (no timing luck), and the test can assert that exactly that application was rolled back.
_BURST = """
import sys, time
from datetime import UTC, date, datetime
from sqlalchemy import event
from veilig.ledger.schemas import ApplicationIn
from veilig.storage import ledger_repo as L, open_database
db = open_database(sys.argv[1], migrate=False)
kill_at = int(sys.argv[3])
now = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
current = {"n": 0, "id": None}

@event.listens_for(db.engine, "after_cursor_execute")
def _hold(conn, cursor, statement, params, context, executemany):
    if current["n"] == kill_at and statement.lstrip().upper().startswith("INSERT INTO LEDGER_ENTRIES"):
        assert conn.in_transaction()
        print("IN-TXN", current["id"], flush=True)
        time.sleep(600)  # the parent kills us here

for n, app_id in enumerate(int(a) for a in sys.argv[2].split(",")):
    current["n"], current["id"] = n, app_id
    app = L.complete(db, app_id, ApplicationIn(invoice_date=date(2026, 2, 1)), now=now)
    if app.status == "reserved" and n % 3 == 0:
        L.withdraw(db, app_id, now=now)  # releases too, so later entries are of every kind
    print("DONE", app_id, flush=True)
"""

KILLED = 4
PER_BURST = 150
#: The completion (0-based) in whose transaction each process is killed; a different one for each.
KILL_AT = (8, 9, 11, 14)


def test_sigkill_inside_a_completion_transaction_leaves_no_half_written_reservation(db, db_url):
    ids = _setup(db, KILLED * PER_BURST, 40 * GRANT)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _BURST, db_url, ",".join(map(str, ids[i::KILLED])), str(KILL_AT[i])],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for i in range(KILLED)
    ]
    done: list[int] = []
    killed_in_txn: list[int] = []
    try:
        # Raw reads with our own line buffer: a buffered readline() could hold a second line
        # that select() then never reports (a hang, not a failure).
        sel = selectors.DefaultSelector()
        pending = {}
        for p in procs:
            sel.register(p.stdout.fileno(), selectors.EVENT_READ, p)
            pending[p.pid] = b""
        while sel.get_map():
            events = sel.select(timeout=120)
            assert events, "no burst process reported for 120 s"
            for key, _ in events:
                p = key.data
                chunk = os.read(key.fd, 65536)
                assert chunk, f"burst process ended before its kill point: {p.stderr.read()}"
                pending[p.pid] += chunk
                *lines, pending[p.pid] = pending[p.pid].split(b"\n")
                for line in lines:
                    word, app_id = line.decode().split()
                    if word == "DONE":
                        done.append(int(app_id))
                    else:  # IN-TXN: blocked inside the transaction; kill it there
                        killed_in_txn.append(int(app_id))
                        p.send_signal(signal.SIGKILL)
                        sel.unregister(key.fd)
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
        for p in procs:
            p.wait()
            p.stdout.close()
            p.stderr.close()
    assert all(p.returncode == -signal.SIGKILL for p in procs)
    assert len(killed_in_txn) == KILLED, "every process must have been killed inside a transaction"
    assert len(done) == sum(KILL_AT)
    db.dispose()

    reopened = open_database(db_url)
    try:
        check = L.verify_ledger(reopened, now=NOW)
        assert check.ok, check.problems
        apps = L.list_applications(reopened, now=NOW)
        decided = [a for a in apps if a.status != "received"]
        assert {a.id for a in decided} == set(done)
        by_id = {a.id: a for a in apps}
        for app_id in killed_in_txn:  # the killed transaction left nothing behind
            assert by_id[app_id].status == "received" and by_id[app_id].completed_at is None
            assert not {"reserve", "refuse"} & {e.action for e in L.decision_trail(reopened, app_id)}
        entry_apps = {e.application_id for e in L.list_entries(reopened, now=NOW)}
        assert not entry_apps & set(killed_in_txn)
        for a in decided:  # decided entirely or not at all: a decision always has its completion time and event
            assert a.completed_at is not None and a.grant_cents == GRANT
            assert [e.action for e in L.decision_trail(reopened, a.id)][1] in ("reserve", "refuse")
        budget = L.budget(reopened, now=NOW)
        held = sum(a.grant_cents for a in apps if a.status in ("reserved", "approved"))
        assert budget.reserved_cents == held and budget.reserved_cents + budget.paid_cents <= budget.total_cents

        # The ledger goes on where it stopped, and still stops exactly at the budget.
        for a in apps:
            if a.status == "received":
                L.complete(reopened, a.id, ApplicationIn(invoice_date=INVOICE_DATE), now=NOW)
        final = L.budget(reopened, now=NOW)
        assert final.remaining_cents == 0 and final.reserved_cents == 40 * GRANT
        assert L.verify_ledger(reopened, now=NOW).ok
    finally:
        reopened.dispose()
