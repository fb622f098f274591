"""The ledger's pure rules: grants, money, IBAN, postcodes, statuses, decisions, balances, projection."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from veilig.ledger.address import address_key, check_postcode_in_area, normalise_postcode, parse_postcode_ranges
from veilig.ledger.balances import ZERO, Balances, EntryKind, derive_balances, post, projected_exhaustion_date
from veilig.ledger.errors import RuleViolation, StateConflict
from veilig.ledger.iban import validate_iban
from veilig.ledger.money import format_euros, parse_amount_cents
from veilig.ledger.postcodes import parse_postcode_table
from veilig.ledger.report import buurt_rows, counts_by_status, finance_csv
from veilig.ledger.rules import (
    REASON_CEILING,
    Outcome,
    PilotRules,
    compute_grant,
    decide,
    serve_waiting_list,
    validate_application_fields,
    validate_pilot,
)
from veilig.ledger.status import TRANSITIONS, Status, check_action, check_transition

RULES = PilotRules(opens_on=date(2026, 1, 1), closes_on=date(2026, 12, 31))


def rule_of(excinfo: pytest.ExceptionInfo) -> str:
    return excinfo.value.rule


# ---------------------------------------------------------------- grant


def test_grant_is_half_the_invoice_rounded_down_and_capped_at_250_euro():
    assert compute_grant(41_250, 50, 25_000) == 20_625
    assert compute_grant(33_333, 50, 25_000) == 16_666  # never a cent more than the percentage
    assert compute_grant(80_000, 50, 25_000) == 25_000
    assert compute_grant(80_000, 25, 100_000) == 20_000


@given(st.integers(1, 10**9), st.integers(1, 100), st.integers(1, 10**7))
def test_grant_never_exceeds_percentage_or_cap(invoice, pct, cap):
    grant = compute_grant(invoice, pct, cap)
    assert 0 <= grant <= cap
    assert grant * 100 <= invoice * pct


# ---------------------------------------------------------------- money


@pytest.mark.parametrize(
    "text, cents",
    [("25000", 25_000), ("250,00", 25_000), ("250.00", 25_000), ("1.234,56", 123_456), ("1,234.56", 123_456),
     ("€ 250", 25_000), ("250 EUR", 25_000), ("12,5", 1_250), ("0,01", 1), ("-5", -5), ("50.000,00", 5_000_000)],
)
def test_amounts_parse_to_integer_cents_without_floats(text, cents):
    assert parse_amount_cents(text) == cents
    assert isinstance(parse_amount_cents(text), int)


@pytest.mark.parametrize("text", ["", "abc", "1.234", "12,345", "1,2,3", "12.5.0", "1.234.567"])
def test_ambiguous_or_unreadable_amounts_are_refused(text):
    with pytest.raises(RuleViolation):
        parse_amount_cents(text)


def test_euros_are_shown_the_dutch_way():
    assert format_euros(123_456) == "€ 1.234,56"
    assert format_euros(5) == "€ 0,05"
    assert format_euros(-25_000) == "-€ 250,00"


# ---------------------------------------------------------------- IBAN and postcodes


@pytest.mark.parametrize("iban", ["NL91ABNA0417164300", "nl91 abna 0417 1643 00", "BE68539007547034", "DE89370400440532013000"])
def test_valid_ibans_pass_mod97(iban):
    assert validate_iban(iban) == iban.replace(" ", "").upper()


@pytest.mark.parametrize(
    "iban, rule",
    [("NL91ABNA0417164301", "iban_mod97"), ("NL91ABNA041716430", "iban_lengte"), ("1234", "iban_formaat"),
     ("NL00ABNA0417164300", "iban_mod97")],
)
def test_invalid_ibans_are_refused_naming_the_rule(iban, rule):
    with pytest.raises(RuleViolation) as exc:
        validate_iban(iban)
    assert rule_of(exc) == rule


def test_zoetermeer_postcodes_are_2711_to_2729_and_configurable():
    assert check_postcode_in_area("2711 ab") == "2711AB"
    assert check_postcode_in_area("2729ZZ") == "2729ZZ"
    for outside in ("2710AA", "2730AA", "3511AB"):
        with pytest.raises(RuleViolation) as exc:
            check_postcode_in_area(outside)
        assert rule_of(exc) == "postcode_buiten_gebied"
    assert check_postcode_in_area("3511AB", parse_postcode_ranges("3500-3599, 2711")) == "3511AB"
    with pytest.raises(RuleViolation):
        normalise_postcode("2711")


def test_one_key_per_address_ignores_spelling():
    assert address_key("2711 ab", 12, " a") == address_key("2711AB", 12, "A") == "2711AB|12|A"
    assert address_key("2711AB", 12, None) != address_key("2711AB", 12, "A")


def test_postcode_table_reads_cbs_layout_and_refuses_bad_rows_by_line():
    text = "PC6;Huisnummer;Buurt2023;Wijk2023\n2711AB;12;06370101;063701\n2711AB;14;BU06370102;x\n"
    assert parse_postcode_table(text) == [("2711AB", 12, "BU06370101"), ("2711AB", 14, "BU06370102")]
    with pytest.raises(RuleViolation) as exc:
        parse_postcode_table("postcode,huisnummer,buurtcode\n2711AB,12,BU06370101\n27,1,BU06370101\n")
    assert "regel 3" in str(exc.value)


# ---------------------------------------------------------------- applications and pilots


def test_invoice_before_pilot_future_invoice_and_uncertified_products_are_refused():
    today = date(2026, 3, 1)
    cases = [
        ({"invoice_date": date(2025, 12, 31)}, "factuur_voor_pilot"),
        ({"invoice_date": date(2026, 3, 2)}, "factuur_in_toekomst"),
        ({"products": ["gewoon slot"]}, "producten_gecertificeerd"),
        ({"invoice_amount_cents": -1}, "bedrag_negatief"),
        ({"invoice_amount_cents": 10**9}, "bedrag_absurd"),
        ({"invoice_amount_cents": 1}, "subsidie_nul"),
        ({"invoice_amount_cents": 100.5}, "bedrag_in_centen"),
        ({"object_type": "garage"}, "objecttype"),
    ]
    for values, rule in cases:
        with pytest.raises(RuleViolation) as exc:
            validate_application_fields(values, RULES, today)
        assert rule_of(exc) == rule, values
    ok = validate_application_fields({"products": ["SKG** cilinderslot", "PKVW raambeveiliging"]}, RULES, today)
    assert ok["products"] == ["SKG** cilinderslot", "PKVW raambeveiliging"]


def test_pilot_defaults_are_50_percent_and_250_euro_and_bad_pilots_are_refused():
    base = {"name": "p", "budget_cents": 100_000, "opens_on": date(2026, 1, 1), "closes_on": date(2026, 12, 31)}
    pilot = validate_pilot(base)
    assert (pilot["grant_percentage"], pilot["max_grant_cents"], pilot["postcode_ranges"]) == (50, 25_000, "2711-2729")
    for change, rule in [({"budget_cents": -1}, "bedrag_negatief"), ({"budget_cents": 0}, "bedrag_te_laag"),
                         ({"grant_percentage": 150}, "subsidiepercentage"), ({"closes_on": date(2025, 1, 1)}, "pilot_periode"),
                         ({"max_grant_cents": 200_000}, "maximum_boven_budget"), ({"budget_cents": 10**12}, "bedrag_absurd")]:
        with pytest.raises(RuleViolation) as exc:
            validate_pilot({**base, **change})
        assert rule_of(exc) == rule


# ---------------------------------------------------------------- statuses and decisions


def test_status_machine_allows_only_the_brief_flow():
    assert TRANSITIONS[Status.RECEIVED] >= {Status.RESERVED, Status.WAITING, Status.REJECTED}
    assert TRANSITIONS[Status.PAID] == frozenset()
    check_transition("reserved", "approved")
    with pytest.raises(StateConflict):
        check_transition("paid", "rejected")
    with pytest.raises(StateConflict) as exc:
        check_action("pay", "rejected", 7)
    assert rule_of(exc) == "uitbetalen_na_goedkeuring" and "afgewezen" in str(exc.value)
    with pytest.raises(StateConflict):
        check_action("approve", "received")


def test_decision_reserves_refuses_or_queues():
    assert decide(25_000, 25_000, False, 0).outcome is Outcome.RESERVE
    refused = decide(25_000, 24_999, False, 0)
    assert refused.outcome is Outcome.REFUSE and refused.reason == REASON_CEILING
    assert decide(25_000, 24_999, True, 0).outcome is Outcome.WAIT
    # Someone queued before: wait behind them even though this one would fit.
    assert decide(100, 50_000, True, 1).outcome is Outcome.WAIT


def test_waiting_list_is_served_strictly_in_order():
    assert serve_waiting_list(30_000, [(1, 10_000), (2, 15_000), (3, 10_000)]) == [1, 2]
    assert serve_waiting_list(30_000, [(1, 40_000), (2, 100)]) == []  # the head blocks


# ---------------------------------------------------------------- balances and projection


def test_balances_are_derived_from_entries_and_the_invariant_refuses_overspending():
    b = derive_balances([("top-up", 100), ("reserve", 60), ("pay", 50), ("release", 10), ("top-up", 5)])
    assert b == Balances(105, 0, 50) and b.remaining_cents == 55
    with pytest.raises(StateConflict) as exc:
        post(Balances(100, 60, 0), EntryKind.RESERVE, 41)
    assert rule_of(exc) == "budgetinvariant"
    with pytest.raises(StateConflict):
        post(ZERO, EntryKind.RELEASE, 1)
    with pytest.raises(StateConflict):
        post(ZERO, EntryKind.TOP_UP, 0)


def _model_accepts(sums: dict[str, int], kind: str, amount: int) -> bool:
    """An independent model of the budget rule: the sums of the accepted entries so far."""
    total = sums["top-up"] + (amount if kind == "top-up" else 0)
    released = sums["release"] + (amount if kind == "release" else 0)
    paid = sums["pay"] + (amount if kind == "pay" else 0)
    reserved = sums["reserve"] + (amount if kind == "reserve" else 0) - released - paid
    return reserved >= 0 and paid >= 0 and reserved + paid <= total


@given(st.lists(st.tuples(st.sampled_from([k.value for k in EntryKind]), st.integers(1, 10_000)), max_size=60))
def test_an_entry_is_accepted_exactly_when_the_model_says_the_budget_allows_it(entries):
    # Not "holds() after post()" (post refuses exactly what holds() would reject): a model built
    # from sums of the accepted entries decides, and post() must agree both ways, so a post()
    # that refuses everything fails as surely as one that accepts an overspend.
    b = ZERO
    sums = {k.value: 0 for k in EntryKind}
    for kind, amount in entries:
        expected = _model_accepts(sums, kind, amount)
        try:
            b = post(b, kind, amount)
            accepted = True
        except StateConflict:
            accepted = False
        assert accepted == expected, (kind, amount, sums)
        if accepted:
            sums[kind] += amount
        reserved = sums["reserve"] - sums["release"] - sums["pay"]
        assert (b.total_cents, b.reserved_cents, b.paid_cents) == (sums["top-up"], reserved, sums["pay"])
        assert b.remaining_cents == sums["top-up"] - reserved - sums["pay"] >= 0


def test_entries_within_the_budget_are_accepted():
    b = post(ZERO, "top-up", 1_000)
    b = post(b, "reserve", 1_000)  # exactly the budget: allowed
    b = post(b, "pay", 400)
    b = post(b, "release", 600)
    assert (b.total_cents, b.reserved_cents, b.paid_cents, b.remaining_cents) == (1_000, 0, 400, 600)


def test_projected_exhaustion_follows_the_recent_pace():
    today = date(2026, 3, 1)
    assert projected_exhaustion_date(10_000, 20_000, 10, today) == date(2026, 3, 6)  # 2,000/day -> 5 days
    assert projected_exhaustion_date(10_001, 20_000, 10, today) == date(2026, 3, 7)  # rounded up
    assert projected_exhaustion_date(10_000, 0, 10, today) is None
    assert projected_exhaustion_date(0, 0, 10, today) == today


def test_reports_count_every_status_and_group_by_buurt():
    counts = counts_by_status(["reserved", "reserved", "paid"])
    assert counts["reserved"] == 2 and counts["waiting"] == 0 and len(counts) == 7
    rows = buurt_rows([("BU1", "reserved", 100), ("BU1", "paid", 50), ("BU1", "rejected", 70), (None, "received", None)], {"BU1": "X"})
    assert rows[0] == {"buurt": "BU1", "statnaam": "X", "applications": 3, "grants": 2, "reserved_cents": 100, "paid_cents": 50}
    assert rows[1]["buurt"] == "onbekend"
    csv_text = finance_csv([{"aanvraag_id": 1, "subsidie_cent": 20_625}])
    assert csv_text.splitlines()[1].split(";")[11:13] == ["20625", "206,25"]
