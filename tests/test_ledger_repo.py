"""The subsidy ledger against a real database (SQLite and PostgreSQL): flows, refusals, idempotency,
reports. Every refusal must name its rule and leave the ledger exactly as it was."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from alembic import command
from pydantic import ValidationError
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from veilig.errors import NotFoundError, VeiligError
from veilig.ledger.errors import RuleViolation, StateConflict
from veilig.ledger.rules import REASON_CEILING
from veilig.ledger.schemas import ApplicationIn, PilotIn
from veilig.storage import ledger_repo as L
from veilig.storage.db import alembic_config
from veilig.storage.ledger_tables import LedgerApplication, LedgerEntry, LedgerEvent, LedgerIdempotency

OPENS, CLOSES = date(2026, 1, 1), date(2026, 12, 31)
NOW = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
AFTER_CLOSE = datetime(2027, 1, 5, 11, 0, tzinfo=UTC)
IBAN = "NL91ABNA0417164300"


def make_pilot(db, budget_cents=100_000, **kw):
    spec = PilotIn(name="Hang- en sluitwerk 2026", budget_cents=budget_cents, opens_on=OPENS, closes_on=CLOSES, **kw)
    return L.create_pilot(db, spec, now=NOW)


def application(house_number=1, **kw) -> ApplicationIn:
    values = dict(
        applicant_name="J. de Vries", postcode="2711 AB", house_number=house_number, buurt="BU06370101",
        object_type="woning", invoice_amount_cents=80_000, invoice_date=date(2026, 2, 1),
        products=["SKG*** cilinderslot", "PKVW raamboom"], iban=IBAN,
    )
    values.update(kw)
    return ApplicationIn(**values)


def snapshot(db):
    """Everything a refusal must leave untouched."""
    with db.engine.connect() as conn:
        return (
            conn.execute(select(LedgerEntry.__table__).order_by(LedgerEntry.id)).all(),
            conn.execute(select(LedgerApplication.__table__).order_by(LedgerApplication.id)).all(),
            conn.execute(select(func.count()).select_from(LedgerEvent)).scalar(),
            conn.execute(select(func.count()).select_from(LedgerIdempotency)).scalar(),
        )


# ---------------------------------------------------------------- the flow


def test_complete_application_is_reserved_at_once_and_the_trail_says_so(db):
    pilot = make_pilot(db)
    app = L.apply(db, application(), now=NOW)
    assert (app.status, app.grant_cents, app.reason, app.pilot_id) == ("reserved", 25_000, None, pilot.id)
    b = L.budget(db, now=NOW)
    assert (b.total_cents, b.reserved_cents, b.paid_cents, b.remaining_cents) == (100_000, 25_000, 0, 75_000)
    trail = L.decision_trail(db, app.id)
    assert [(e.action, e.to_status) for e in trail] == [("apply", "received"), ("reserve", "reserved")]
    assert trail[1].entry_id is not None and trail[1].amount_cents == 25_000


def test_incomplete_application_is_received_until_complete_supplies_the_rest(db):
    make_pilot(db)
    app = L.apply(db, application(invoice_date=None, products=None, buurt=None), now=NOW)
    assert app.status == "received" and "invoice_date" in app.reason and "buurt" in app.reason
    assert app.grant_cents is None and L.budget(db, now=NOW).reserved_cents == 0
    app = L.complete(db, app.id, ApplicationIn(invoice_date=date(2026, 2, 3)), now=NOW)
    assert app.status == "received" and "invoice_date" not in app.reason
    app = L.complete(db, app.id, ApplicationIn(products=["SKG** dievenklauw"], buurt="BU06370101"), now=NOW)
    assert (app.status, app.grant_cents, app.buurt, app.buurt_source) == ("reserved", 25_000, "BU06370101", "intake")
    assert app.completed_at is not None
    with pytest.raises(StateConflict) as exc:
        L.complete(db, app.id, ApplicationIn(iban=IBAN), now=NOW)
    assert exc.value.rule == "alleen_ontvangen_aanvulbaar"


def test_budget_runs_out_and_later_applications_are_refused_with_subsidieplafond_bereikt(db):
    make_pilot(db, budget_cents=60_000)
    first = L.apply(db, application(1), now=NOW)
    second = L.apply(db, application(2), now=NOW)
    third = L.apply(db, application(3), now=NOW)
    small = L.apply(db, application(4, invoice_amount_cents=20_000), now=NOW)  # 10,000 still fits
    assert [a.status for a in (first, second, third, small)] == ["reserved", "reserved", "rejected", "reserved"]
    assert third.reason == REASON_CEILING
    b = L.budget(db, now=NOW)
    assert b.remaining_cents == 0 and b.reserved_cents == 60_000
    assert b.projected_exhaustion_date == NOW.date()


def test_completion_order_decides_not_intake_order(db):
    make_pilot(db, budget_cents=25_000)
    early = L.apply(db, application(1, invoice_date=None), now=NOW)
    late = L.apply(db, application(2), now=NOW + timedelta(hours=1))
    early = L.complete(db, early.id, ApplicationIn(invoice_date=date(2026, 2, 1)), now=NOW + timedelta(hours=2))
    assert (late.status, early.status, early.reason) == ("reserved", "rejected", REASON_CEILING)


def test_reject_and_withdraw_release_the_reservation_and_pay_turns_it_into_a_payout(db):
    make_pilot(db)
    a, b, c = (L.apply(db, application(n), now=NOW) for n in (1, 2, 3))
    L.reject(db, a.id, "factuur niet leesbaar", now=NOW)
    L.withdraw(db, b.id, now=NOW)
    assert L.budget(db, now=NOW).reserved_cents == 25_000
    assert L.approve(db, c.id, now=NOW).status == "approved"
    paid = L.pay(db, c.id, now=NOW)
    assert paid.status == "paid"
    bal = L.budget(db, now=NOW)
    assert (bal.reserved_cents, bal.paid_cents, bal.remaining_cents) == (0, 25_000, 75_000)
    assert [e.kind for e in L.list_entries(db, now=NOW)] == ["top-up", "reserve", "reserve", "reserve", "release", "release", "pay"]
    assert L.verify_ledger(db, now=NOW).ok


def test_a_withdrawn_address_may_apply_again(db):
    make_pilot(db)
    first = L.apply(db, application(7), now=NOW)
    L.withdraw(db, first.id, now=NOW)
    assert L.apply(db, application(7), now=NOW).status == "reserved"


def test_waiting_list_is_served_in_order_when_budget_comes_free(db):
    make_pilot(db, budget_cents=50_000, waiting_list=True)
    a1, a2 = L.apply(db, application(1), now=NOW), L.apply(db, application(2), now=NOW)
    w3 = L.apply(db, application(3), now=NOW)
    w4 = L.apply(db, application(4, invoice_amount_cents=2_000), now=NOW)  # would fit, but queues behind w3
    assert (w3.status, w4.status) == ("waiting", "waiting")
    assert L.status_report(db, now=NOW).waiting_cents == 26_000
    L.reject(db, a1.id, "geen SKG-certificaat op de factuur", now=NOW)
    assert L.get_application(db, w3.id).status == "reserved"
    assert L.get_application(db, w4.id).status == "waiting"  # 0 left after w3
    L.top_up(db, 1_000, memo="restant", now=NOW)
    assert L.get_application(db, w4.id).status == "reserved"
    assert [e.action for e in L.decision_trail(db, w3.id)] == ["apply", "wait", "promote"]
    assert L.budget(db, now=NOW).remaining_cents == 0
    assert L.get_application(db, a2.id).status == "reserved" and L.verify_ledger(db, now=NOW).ok


def test_top_up_raises_the_budget_by_an_entry_never_by_editing(db):
    pilot = make_pilot(db)
    budget = L.top_up(db, 50_000, memo="raadsbesluit", now=NOW)
    assert budget.total_cents == 150_000
    assert L.get_pilot(db, pilot.id).budget_cents == 100_000  # the opening budget stays as it was
    assert [(e.kind, e.amount_cents) for e in L.list_entries(db, now=NOW)] == [("top-up", 100_000), ("top-up", 50_000)]


# ---------------------------------------------------------------- idempotency


def test_retry_with_the_same_key_returns_the_first_result_and_changes_nothing(db):
    make_pilot(db, budget_cents=25_000)
    first = L.apply(db, application(1), idempotency_key="intake-1", now=NOW)
    before = snapshot(db)
    again = L.apply(db, application(1), idempotency_key="intake-1", now=NOW + timedelta(minutes=5))
    assert again == first and snapshot(db) == before
    L.approve(db, first.id, idempotency_key="ok-1", now=NOW)
    L.pay(db, first.id, idempotency_key="pay-1", now=NOW)
    before = snapshot(db)
    assert L.pay(db, first.id, idempotency_key="pay-1", now=NOW).status == "paid"
    assert L.approve(db, first.id, idempotency_key="ok-1", now=NOW).status == "approved"  # the first answer
    L.top_up(db, 10, idempotency_key="t", now=NOW)
    L.top_up(db, 10, idempotency_key="t", now=NOW)
    assert snapshot(db)[0][len(before[0]):][0].amount_cents == 10 and len(snapshot(db)[0]) == len(before[0]) + 1


def test_same_key_with_a_different_request_is_refused(db):
    make_pilot(db)
    app = L.apply(db, application(1), idempotency_key="k", now=NOW)
    before = snapshot(db)
    with pytest.raises(StateConflict) as exc:
        L.apply(db, application(2), idempotency_key="k", now=NOW)
    assert exc.value.rule == "idempotentiesleutel_hergebruikt" and exc.value.status_code == 409
    with pytest.raises(StateConflict):
        L.approve(db, app.id, idempotency_key="k", now=NOW)
    assert snapshot(db) == before


# ---------------------------------------------------------------- bad input: refused, naming the rule, ledger unchanged


BAD = {
    "negative invoice": (lambda db, ids: L.apply(db, application(20, invoice_amount_cents=-100), now=NOW), "bedrag_negatief"),
    "absurd invoice": (lambda db, ids: L.apply(db, application(20, invoice_amount_cents=900_000_000), now=NOW), "bedrag_absurd"),
    "negative top-up": (lambda db, ids: L.top_up(db, -5_000, now=NOW), "bedrag_negatief"),
    "absurd top-up": (lambda db, ids: L.top_up(db, 10**13, now=NOW), "bedrag_absurd"),
    "invoice before pilot": (lambda db, ids: L.apply(db, application(20, invoice_date=date(2025, 12, 15)), now=NOW), "factuur_voor_pilot"),
    "postcode outside Zoetermeer": (lambda db, ids: L.apply(db, application(20, postcode="3511 AB"), now=NOW), "postcode_buiten_gebied"),
    "invalid IBAN": (lambda db, ids: L.apply(db, application(20, iban="NL91ABNA0417164301"), now=NOW), "iban_mod97"),
    "second application same address": (lambda db, ids: L.apply(db, application(1, house_number_addition=""), now=NOW), "een_subsidie_per_adres"),
    "payout of a rejected application": (lambda db, ids: L.pay(db, ids["rejected"], now=NOW), "uitbetalen_na_goedkeuring"),
    "payout before approval": (lambda db, ids: L.pay(db, ids["reserved"], now=NOW), "uitbetalen_na_goedkeuring"),
    "approval after pilot closed": (lambda db, ids: L.approve(db, ids["reserved"], now=AFTER_CLOSE), "goedkeuren_na_sluiting"),
    "application after pilot closed": (lambda db, ids: L.apply(db, application(20), pilot_id=ids["pilot"], now=AFTER_CLOSE), "pilot_gesloten"),
    "completion after pilot closed": (lambda db, ids: L.complete(db, ids["received"], ApplicationIn(invoice_date=date(2026, 2, 1)), now=AFTER_CLOSE), "pilot_gesloten"),
    "unknown buurt": (lambda db, ids: L.apply(db, application(20, buurt="BU99999999"), now=NOW), "buurt_onbekend"),
    "uncertified products": (lambda db, ids: L.apply(db, application(20, products=["hangslot"]), now=NOW), "producten_gecertificeerd"),
    "shed in a homes-only pilot": (None, "objecttype_niet_in_pilot"),
    "future invoice": (lambda db, ids: L.apply(db, application(20, invoice_date=date(2026, 3, 3)), now=NOW), "factuur_in_toekomst"),
    "double reject": (lambda db, ids: L.reject(db, ids["rejected"], "nogmaals", now=NOW), "afwijzen_voor_uitbetaling"),
    "reject without reason": (lambda db, ids: L.reject(db, ids["reserved"], "  ", now=NOW), "afwijzen_met_reden"),
    "overlapping pilot": (lambda db, ids: make_pilot(db), "pilots_overlappen"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_is_refused_naming_the_rule_and_the_ledger_is_unchanged(db, case):
    call, rule = BAD[case]
    pilot = make_pilot(db, object_types=["woning"] if call is None else ["woning", "schuur"])
    ids = {
        "pilot": pilot.id,
        "reserved": L.apply(db, application(1), now=NOW).id,
        "rejected": L.apply(db, application(2), now=NOW).id,
        "received": L.apply(db, application(3, invoice_date=None), now=NOW).id,
    }
    L.reject(db, ids["rejected"], "offerte in plaats van factuur", now=NOW)
    if call is None:
        call = lambda db, ids: L.apply(db, application(20, object_type="schuur"), now=NOW)  # noqa: E731
    before = snapshot(db)
    with pytest.raises(VeiligError) as exc:
        call(db, ids)
    assert getattr(exc.value, "rule", None) == rule, str(exc.value)
    assert f"[regel: {rule}]" in str(exc.value) and 400 <= exc.value.status_code < 500
    assert snapshot(db) == before
    assert L.verify_ledger(db, now=NOW).ok


def test_floats_never_reach_the_ledger(db):
    with pytest.raises(ValidationError):
        application(invoice_amount_cents=250.5)
    with pytest.raises(ValidationError):
        PilotIn(name="x", budget_cents=1000.0, opens_on=OPENS, closes_on=CLOSES)


def test_unknown_application_and_missing_pilot_are_not_found(db):
    with pytest.raises(NotFoundError):
        L.budget(db)
    make_pilot(db)
    with pytest.raises(NotFoundError):
        L.approve(db, 999, now=NOW)
    with pytest.raises(RuleViolation) as exc:
        L.apply(db, application(), now=AFTER_CLOSE + timedelta(days=400))
    assert exc.value.rule == "geen_open_pilot"


# ---------------------------------------------------------------- the database guards the ledger too


def test_entries_and_events_are_append_only_in_the_database(db):
    make_pilot(db)
    L.apply(db, application(), now=NOW)
    for statement in ("UPDATE ledger_entries SET amount_cents = 1", "DELETE FROM ledger_entries",
                      "UPDATE ledger_events SET reason = 'x'", "DELETE FROM ledger_events"):
        with pytest.raises(DBAPIError), db.write() as conn:
            conn.execute(text(statement))
    assert L.verify_ledger(db, now=NOW).ok


def test_database_refuses_an_entry_that_overspends_even_if_the_code_were_wrong(db):
    pilot = make_pilot(db, budget_cents=1_000, max_grant_cents=500)
    with pytest.raises(DBAPIError), db.write() as conn:
        conn.execute(
            LedgerEntry.__table__.insert().values(
                pilot_id=pilot.id, seq=2, kind="reserve", amount_cents=2_000, total_after=1_000,
                reserved_after=2_000, paid_after=0, created_at=NOW,
            )
        )
    with pytest.raises(DBAPIError), db.write() as conn:  # a second writer with a stale view collides on seq
        conn.execute(
            LedgerEntry.__table__.insert().values(
                pilot_id=pilot.id, seq=1, kind="reserve", amount_cents=10, total_after=1_000,
                reserved_after=10, paid_after=0, created_at=NOW,
            )
        )


def test_ledger_migration_goes_down_and_up_again(db):
    make_pilot(db)
    cfg = alembic_config(db.engine)
    command.downgrade(cfg, "0001")
    command.upgrade(cfg, "heads")
    make_pilot(db)
    assert L.budget(db, now=NOW).total_cents == 100_000


# ---------------------------------------------------------------- buurt from the CBS table


def test_postcode_table_decides_the_buurt_and_a_contradiction_is_refused(db):
    result = L.import_postcodes(
        db, "PC6;Huisnummer;Buurt2023\n2711AB;1;06370101\n2711AB;2;06370200\n1011AB;1;03630000\n"
    )
    assert (result.rows_imported, result.rows_outside_zoetermeer) == (2, 1)
    make_pilot(db)
    app = L.apply(db, application(1, buurt=None), now=NOW)
    assert (app.status, app.buurt, app.buurt_source) == ("reserved", "BU06370101", "postcodetabel")
    with pytest.raises(RuleViolation) as exc:
        L.apply(db, application(2, buurt="BU06370101"), now=NOW)
    assert exc.value.rule == "buurt_volgens_postcodetabel"
    unknown = L.apply(db, application(3, buurt=None), now=NOW)  # not in the table, none given: never guessed
    assert unknown.status == "received" and "buurt" in unknown.reason


# ---------------------------------------------------------------- reports


def test_status_per_buurt_report_and_finance_csv(db):
    make_pilot(db, budget_cents=75_000)
    a = L.apply(db, application(1), now=NOW)
    L.apply(db, application(2, buurt="BU06370200"), now=NOW)
    L.apply(db, application(3, invoice_amount_cents=30_000), now=NOW)
    L.apply(db, application(4), now=NOW)  # 10,000 left: refused
    L.approve(db, a.id, now=NOW)
    L.pay(db, a.id, now=NOW)
    report = L.status_report(db, now=NOW)
    assert report.counts == {"received": 0, "reserved": 2, "waiting": 0, "approved": 0, "paid": 1, "rejected": 1, "withdrawn": 0}
    assert (report.budget.paid_cents, report.budget.reserved_cents, report.budget.remaining_cents) == (25_000, 40_000, 10_000)
    rows = {r.buurt: r for r in L.buurt_report(db, now=NOW)}
    assert (rows["BU06370101"].applications, rows["BU06370101"].grants) == (3, 2)
    assert (rows["BU06370101"].paid_cents, rows["BU06370101"].reserved_cents) == (25_000, 15_000)
    assert rows["BU06370200"].statnaam and rows["BU06370200"].reserved_cents == 25_000
    lines = list(csv.DictReader(io.StringIO(L.export_applications_csv(db, now=NOW)), delimiter=";"))
    assert [r["status"] for r in lines] == ["uitbetaald", "gereserveerd", "gereserveerd", "afgewezen"]
    assert (lines[0]["subsidie_cent"], lines[0]["subsidie_euro"], lines[0]["iban"]) == ("25000", "250,00", IBAN)
    assert lines[0]["betaald_op"].startswith("2026-03-02") and lines[3]["reden"] == REASON_CEILING
    entries = list(csv.DictReader(io.StringIO(L.export_entries_csv(db, now=NOW)), delimiter=";"))
    assert [e["kind"] for e in entries] == ["top-up", "reserve", "reserve", "reserve", "pay"]


def test_projected_exhaustion_date_extrapolates_the_last_weeks(db):
    make_pilot(db, budget_cents=200_000)
    for day in range(4):  # 25,000 a day for four days
        L.apply(db, application(day + 1), now=NOW + timedelta(days=day))
    b = L.budget(db, now=NOW + timedelta(days=3))
    # The pilot opened two months ago, so the pace is taken over 28 days: 100,000 / 28 days; 100,000 left -> 28 days.
    assert b.remaining_cents == 100_000
    assert b.projected_exhaustion_date == (NOW + timedelta(days=3)).date() + timedelta(days=28)
