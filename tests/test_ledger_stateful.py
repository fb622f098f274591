"""Random sequences of ledger operations, retries with the same key included, checked after every
step against a small reference model: the invariant, the balances derived from the entries, every
status. On SQLite and on PostgreSQL."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from veilig.errors import VeiligError
from veilig.ledger.errors import RuleViolation, StateConflict
from veilig.ledger.rules import REASON_CEILING
from veilig.ledger.schemas import ApplicationIn, PilotIn
from veilig.storage import ledger_repo as L
from veilig.storage.ledger_tables import LedgerEntry, LedgerEvent, LedgerIdempotency

SETTINGS = settings(
    max_examples=30,
    stateful_step_count=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
HOLDS = {"reserved", "approved"}
ENDABLE = {"received", "waiting", "reserved", "approved"}


def machine_for(database):
    periods = itertools.count()

    class LedgerMachine(RuleBasedStateMachine):
        """Each run gets a pilot of its own, ten days long, in a period no other run uses."""

        apps = Bundle("apps")

        def __init__(self) -> None:
            super().__init__()
            self.db = database
            opens = date(2100, 1, 1) + timedelta(days=10 * next(periods))
            self.opens, self.closes = opens, opens + timedelta(days=9)
            self.now = datetime.combine(opens + timedelta(days=3), time(12), tzinfo=UTC)
            self.model: dict[int, dict] = {}  # id -> status, grant, address
            self.total = 0
            self.calls: list[tuple[str, object, object]] = []  # (key, call, first result)
            self.keys = itertools.count()

        # -------------------------------------------------------------- the reference model

        def _open(self) -> bool:
            return self.now.date() <= self.closes

        def _remaining(self) -> int:
            return self.total - sum(a["grant"] for a in self.model.values() if a["status"] in HOLDS | {"paid"})

        def _serve(self) -> None:
            if not (self.waiting_list and self._open()):
                return
            queue = sorted((a["order"], i) for i, a in self.model.items() if a["status"] == "waiting")
            for _, i in queue:
                if self.model[i]["grant"] > self._remaining():
                    break
                self.model[i]["status"] = "reserved"

        def _decide(self, i: int) -> None:
            a = self.model[i]
            a["order"] = next(self.keys)
            queued = any(x["status"] == "waiting" for x in self.model.values())
            if self.waiting_list and queued:
                a["status"] = "waiting"
            elif a["grant"] <= self._remaining():
                a["status"] = "reserved"
            else:
                a["status"] = "waiting" if self.waiting_list else "rejected"

        def _key(self) -> str:
            return f"k{self.opens.isoformat()}-{next(self.keys)}"

        def _snapshot(self):
            with self.db.engine.connect() as conn:
                return tuple(
                    conn.execute(select(func.count()).select_from(t)).scalar() for t in (LedgerEntry, LedgerEvent, LedgerIdempotency)
                ) + (tuple(a.status for a in L.list_applications(self.db, self.pilot_id, now=self.now)),)

        # -------------------------------------------------------------- rules

        @initialize(budget=st.sampled_from([25_000, 37_500, 50_000, 100_000]), waiting_list=st.booleans())
        def open_pilot(self, budget, waiting_list):
            self.waiting_list = waiting_list
            spec = PilotIn(name="stateful", budget_cents=budget, opens_on=self.opens, closes_on=self.closes,
                           waiting_list=waiting_list, max_grant_cents=min(25_000, budget))
            self.max_grant = spec.max_grant_cents
            self.pilot_id = L.create_pilot(self.db, spec, idempotency_key=self._key(), now=self.now).id
            self.total = budget

        @rule(target=apps, house=st.integers(1, 8), invoice=st.integers(1, 70_000), complete=st.booleans())
        def apply(self, house, invoice, complete):
            return self._apply(house, invoice, complete)

        @rule(target=apps, house=st.integers(1, 8), invoice=st.sampled_from([1, 10_000, 30_000, 50_000]))
        def apply_complete(self, house, invoice):  # a second door in: applications are most of the traffic
            return self._apply(house, invoice, True)

        def _apply(self, house, invoice, complete):
            fields = ApplicationIn(
                applicant_name="a", postcode="2720 XY", house_number=house, buurt="BU06370300", object_type="schuur",
                invoice_amount_cents=invoice, invoice_date=self.opens if complete else None, products=["SKG* hangslot"],
            )
            key = self._key()
            # The model's own grant rule (the pilot's 50 %, rounded down to the cent, capped), not
            # the product's compute_grant: with it, a wrong rounding or cap would agree with itself.
            grant = min(invoice // 2, self.max_grant)
            taken = any(a["house"] == house and a["status"] not in ("rejected", "withdrawn") for a in self.model.values())
            try:
                app = L.apply(self.db, fields, pilot_id=self.pilot_id, idempotency_key=key, now=self.now)
            except RuleViolation as exc:
                assert exc.rule in ("pilot_gesloten", "subsidie_nul"), exc
                assert exc.rule == ("subsidie_nul" if self._open() else "pilot_gesloten")
                return multiple()
            except StateConflict as exc:
                assert exc.rule == "een_subsidie_per_adres" and taken
                return multiple()
            assert self._open() and grant >= 1 and not taken
            self.model[app.id] = {"status": "received", "grant": grant, "house": house}
            if complete:
                self._decide(app.id)
            self.calls.append((key, lambda k=key: L.apply(self.db, fields, pilot_id=self.pilot_id, idempotency_key=k, now=self.now), app))
            return app.id

        def _act(self, name, app_id, call, allowed_from, effect):
            key = self._key()
            a = self.model[app_id]
            before = a["status"]
            try:
                result = call(key)
            except VeiligError as exc:
                assert before not in allowed_from or (name in ("complete", "approve") and not self._open()), (name, before, exc)
                return
            assert before in allowed_from, (name, before)
            effect(a)
            if name in ("reject", "withdraw"):
                self._serve()
            assert result.status == a["status"]
            self.calls.append((key, lambda k=key: call(k), result))

        @rule(app_id=apps)
        def complete(self, app_id):
            self._act("complete", app_id,
                      lambda k: L.complete(self.db, app_id, ApplicationIn(invoice_date=self.opens), idempotency_key=k, now=self.now),
                      {"received"}, lambda a: self._decide(app_id))

        @rule(app_id=apps)
        def approve(self, app_id):
            self._act("approve", app_id, lambda k: L.approve(self.db, app_id, idempotency_key=k, now=self.now),
                      {"reserved"}, lambda a: a.update(status="approved"))

        @rule(app_id=apps)
        def pay(self, app_id):
            self._act("pay", app_id, lambda k: L.pay(self.db, app_id, iban="NL91ABNA0417164300", idempotency_key=k, now=self.now),
                      {"approved"}, lambda a: a.update(status="paid"))

        @rule(app_id=apps)
        def reject(self, app_id):
            self._act("reject", app_id, lambda k: L.reject(self.db, app_id, "onvolledig bewijs", idempotency_key=k, now=self.now),
                      ENDABLE, lambda a: a.update(status="rejected"))

        @rule(app_id=apps)
        def withdraw(self, app_id):
            self._act("withdraw", app_id, lambda k: L.withdraw(self.db, app_id, idempotency_key=k, now=self.now),
                      ENDABLE, lambda a: a.update(status="withdrawn"))

        @rule(amount=st.integers(1, 30_000))
        def top_up(self, amount):
            key = self._key()
            result = L.top_up(self.db, amount, pilot_id=self.pilot_id, idempotency_key=key, now=self.now)
            self.total += amount
            self._serve()
            self.calls.append((key, lambda k=key: L.top_up(self.db, amount, pilot_id=self.pilot_id, idempotency_key=k, now=self.now), result))

        @precondition(lambda self: self.calls)
        @rule(pick=st.integers(0, 10**6))
        def retry_same_key(self, pick):
            key, call, first = self.calls[pick % len(self.calls)]
            before = self._snapshot()
            assert call() == first
            assert self._snapshot() == before

        @precondition(lambda self: self.calls)
        @rule(pick=st.integers(0, 10**6))
        def reuse_key_for_another_request(self, pick):
            key, _, _ = self.calls[pick % len(self.calls)]
            before = self._snapshot()
            try:
                L.top_up(self.db, 987_654, pilot_id=self.pilot_id, idempotency_key=key, now=self.now)
            except StateConflict as exc:
                assert exc.rule == "idempotentiesleutel_hergebruikt"
            else:
                raise AssertionError("a reused key was accepted for another request")
            assert self._snapshot() == before

        @precondition(lambda self: self._open() and len(self.model) >= 6)
        @rule()
        def pass_the_closing_date(self):
            self.now = datetime.combine(self.closes + timedelta(days=1), time(9), tzinfo=UTC)

        # -------------------------------------------------------------- after every step

        @invariant()
        def ledger_matches_model(self):
            if not hasattr(self, "pilot_id"):
                return
            budget = L.budget(self.db, self.pilot_id, now=self.now)
            assert budget.reserved_cents + budget.paid_cents <= budget.total_cents
            assert budget.remaining_cents >= 0
            check = L.verify_ledger(self.db, self.pilot_id, now=self.now)
            assert check.ok, check.problems
            assert (check.total_cents, check.reserved_cents, check.paid_cents) == (
                budget.total_cents, budget.reserved_cents, budget.paid_cents)
            assert budget.total_cents == self.total
            assert budget.reserved_cents == sum(a["grant"] for a in self.model.values() if a["status"] in HOLDS)
            assert budget.paid_cents == sum(a["grant"] for a in self.model.values() if a["status"] == "paid")
            stored = {a.id: (a.status, a.reason) for a in L.list_applications(self.db, self.pilot_id, now=self.now)}
            assert {i: s for i, (s, _) in stored.items()} == {i: a["status"] for i, a in self.model.items()}
            for i, (status, reason) in stored.items():
                if status == "rejected" and reason != "onvolledig bewijs":
                    assert reason == REASON_CEILING

    return LedgerMachine


def test_random_operation_sequences_keep_the_invariant_and_derived_balances(db):
    # The rules are the same Python on both backends; what PostgreSQL adds is its own SQL (locks,
    # sequences, constraints), which every rule of the machine exercises within a few sequences.
    # A PostgreSQL step costs several times a SQLite one, so it runs fewer sequences (bounded time).
    postgres = db.engine.dialect.name == "postgresql"
    run_state_machine_as_test(machine_for(db), settings=settings(SETTINGS, max_examples=12) if postgres else SETTINGS)
