"""The pilot's rules as pure functions: the grant, what a pilot and an application must satisfy, and
the decision taken when an application becomes complete."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any

from .address import (
    ZOETERMEER_POSTCODES,
    check_postcode_in_area,
    format_postcode_ranges,
    normalise_addition,
    normalise_house_number,
    parse_postcode_ranges,
)
from .errors import RuleViolation
from .iban import validate_iban
from .money import format_euros, require_cents

DEFAULT_GRANT_PERCENTAGE = 50
DEFAULT_MAX_GRANT_CENTS = 25_000
#: Locks and bolts for one home or shed: an invoice above EUR 25,000 is an error, not a purchase.
MAX_INVOICE_CENTS = 2_500_000
OBJECT_TYPES = ("woning", "schuur")
REASON_CEILING = "subsidieplafond bereikt"
#: Products must be burglar-resistant: SKG stars or the Politiekeurmerk Veilig Wonen.
_CERTIFIED = re.compile(r"\bSKG\b|SKG\s*\*|\bPKVW\b|politiekeurmerk", re.IGNORECASE)

#: Needed before an application can be decided; the rest (address, name) is needed at intake.
INTAKE_FIELDS = ("applicant_name", "postcode", "house_number")
COMPLETION_FIELDS = ("object_type", "invoice_amount_cents", "invoice_date", "products", "buurt")
APPLICATION_FIELDS = (
    "applicant_name", "postcode", "house_number", "house_number_addition", "buurt", "object_type",
    "invoice_amount_cents", "invoice_date", "products", "iban",
)


def compute_grant(invoice_amount_cents: int, grant_percentage: int, max_grant_cents: int) -> int:
    """The grant: ``grant_percentage`` % of the invoice, rounded down to the cent, capped at ``max_grant_cents``."""
    return min(invoice_amount_cents * grant_percentage // 100, max_grant_cents)


@dataclass(frozen=True)
class PilotRules:
    """What the pure checks need to know about a pilot."""

    opens_on: date
    closes_on: date
    grant_percentage: int = DEFAULT_GRANT_PERCENTAGE
    max_grant_cents: int = DEFAULT_MAX_GRANT_CENTS
    waiting_list: bool = False
    object_types: tuple[str, ...] = OBJECT_TYPES
    postcode_ranges: tuple[tuple[int, int], ...] = ZOETERMEER_POSTCODES
    buurten: frozenset[str] = field(default_factory=frozenset)  # empty: the whole municipality

    def is_open(self, today: date) -> bool:
        return self.opens_on <= today <= self.closes_on

    def grant_for(self, invoice_amount_cents: int) -> int:
        return compute_grant(invoice_amount_cents, self.grant_percentage, self.max_grant_cents)


def check_pilot_open(rules: PilotRules, today: date, what: str) -> None:
    if today < rules.opens_on:
        raise RuleViolation("pilot_niet_open", f"{what} kan pas vanaf {rules.opens_on.isoformat()}: de pilot is nog niet open")
    if today > rules.closes_on:
        raise RuleViolation("pilot_gesloten", f"{what} kan niet meer: de pilot is gesloten sinds {rules.closes_on.isoformat()}")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_NEWLINES = re.compile(r"[\t\n\r]")


def check_text(rule: str, label: str, value: object, max_len: int, multiline: bool = False) -> str:
    """Stripped text of at most ``max_len`` characters without control characters (NUL and the
    like; tab and newlines only where ``multiline``), or a refusal naming the field."""
    text = str(value).strip()
    if _CONTROL.search(text) or (not multiline and _NEWLINES.search(text)):
        raise RuleViolation(rule, f"{label} bevat een stuurteken (zoals NUL of een regeleinde)")
    if len(text) > max_len:
        raise RuleViolation(rule, f"{label} is hooguit {max_len} tekens (nu {len(text)})")
    return text


def validate_pilot(values: dict[str, Any]) -> dict[str, Any]:
    """Check and normalise a new pilot (``name``, ``budget_cents``, dates, grant rule, area)."""
    out = dict(values)
    name = check_text("pilot_naam", "de naam van een pilot", values.get("name") or "", 200)
    if not name:
        raise RuleViolation("pilot_naam", "een pilot heeft een naam nodig")
    if len(name) > 200:
        raise RuleViolation("pilot_naam", "de naam van een pilot is hooguit 200 tekens")
    out["name"] = name
    out["budget_cents"] = require_cents("budget", values.get("budget_cents"), minimum=1)
    opens_on, closes_on = values.get("opens_on"), values.get("closes_on")
    if not isinstance(opens_on, date) or not isinstance(closes_on, date):
        raise RuleViolation("pilot_periode", "een pilot heeft een begin- en einddatum nodig")
    if closes_on < opens_on:
        raise RuleViolation("pilot_periode", f"de pilot sluit ({closes_on}) voordat hij opent ({opens_on})")
    pct = values.get("grant_percentage", DEFAULT_GRANT_PERCENTAGE)
    if isinstance(pct, bool) or not isinstance(pct, int) or not 1 <= pct <= 100:
        raise RuleViolation("subsidiepercentage", f"subsidiepercentage moet een geheel getal van 1 tot 100 zijn, niet {pct!r}")
    out["grant_percentage"] = pct
    out["max_grant_cents"] = require_cents(
        "maximale subsidie per adres", values.get("max_grant_cents", DEFAULT_MAX_GRANT_CENTS), minimum=1,
        maximum=MAX_INVOICE_CENTS,
    )
    if out["max_grant_cents"] > out["budget_cents"]:
        raise RuleViolation(
            "maximum_boven_budget",
            f"de maximale subsidie per adres ({format_euros(out['max_grant_cents'])}) is hoger dan het budget "
            f"({format_euros(out['budget_cents'])})",
        )
    types = tuple(dict.fromkeys(str(t).strip().lower() for t in (values.get("object_types") or OBJECT_TYPES)))
    unknown = [t for t in types if t not in OBJECT_TYPES]
    if unknown or not types:
        raise RuleViolation("objecttype", f"objecttypen moeten woning en/of schuur zijn, niet {unknown or 'geen'}")
    out["object_types"] = list(types)
    ranges = values.get("postcode_ranges") or ZOETERMEER_POSTCODES
    ranges = parse_postcode_ranges(ranges) if isinstance(ranges, str) else tuple(tuple(r) for r in ranges)
    out["postcode_ranges"] = format_postcode_ranges(ranges)
    out["buurten"] = sorted({str(b).strip().upper() for b in (values.get("buurten") or []) if str(b).strip()})
    out["waiting_list"] = bool(values.get("waiting_list", False))
    return out


def validate_application_fields(
    values: dict[str, Any],
    rules: PilotRules,
    today: date,
) -> dict[str, Any]:
    """Check and normalise every field present (not None) in ``values``; absent fields are left out.

    Buurt membership of the municipality is checked by the caller (it needs the buurt list);
    this checks the pilot's own area restriction.
    """
    out: dict[str, Any] = {}
    v = {k: values.get(k) for k in APPLICATION_FIELDS if values.get(k) is not None}
    if "applicant_name" in v:
        name = check_text("naam_aanvrager", "de naam van de aanvrager", v["applicant_name"], 200)
        if not name:
            raise RuleViolation("naam_aanvrager", "de naam van de aanvrager ontbreekt")
        if len(name) > 200:
            raise RuleViolation("naam_aanvrager", "de naam van de aanvrager is hooguit 200 tekens")
        out["applicant_name"] = name
    if "postcode" in v:
        out["postcode"] = check_postcode_in_area(v["postcode"], rules.postcode_ranges)
    if "house_number" in v:
        out["house_number"] = normalise_house_number(v["house_number"])
    if "house_number_addition" in v:
        out["house_number_addition"] = normalise_addition(v["house_number_addition"]) or None
    if "buurt" in v:
        buurt = str(v["buurt"]).strip().upper()
        if rules.buurten and buurt not in rules.buurten:
            raise RuleViolation("buurt_buiten_pilot", f"buurt {buurt} hoort niet bij het gebied van deze pilot")
        out["buurt"] = buurt
    if "object_type" in v:
        obj = str(v["object_type"]).strip().lower()
        if obj not in OBJECT_TYPES:
            raise RuleViolation("objecttype", f"objecttype {v['object_type']!r} bestaat niet: woning of schuur")
        if obj not in rules.object_types:
            raise RuleViolation("objecttype_niet_in_pilot", f"deze pilot subsidieert geen {obj}")
        out["object_type"] = obj
    if "invoice_amount_cents" in v:
        amount = require_cents("factuurbedrag", v["invoice_amount_cents"], minimum=1, maximum=MAX_INVOICE_CENTS)
        if rules.grant_for(amount) < 1:
            raise RuleViolation("subsidie_nul", f"een factuur van {format_euros(amount)} geeft geen subsidie van minstens 1 cent")
        out["invoice_amount_cents"] = amount
    if "invoice_date" in v:
        inv = v["invoice_date"]
        if not isinstance(inv, date):
            raise RuleViolation("factuurdatum", f"factuurdatum {inv!r} is geen datum")
        if inv < rules.opens_on:
            raise RuleViolation(
                "factuur_voor_pilot",
                f"de factuur van {inv.isoformat()} is van vóór de start van de pilot ({rules.opens_on.isoformat()})",
            )
        if inv > rules.closes_on:
            raise RuleViolation("factuur_na_pilot", f"de factuur van {inv.isoformat()} is van na het einde van de pilot")
        if inv > today:
            raise RuleViolation("factuur_in_toekomst", f"de factuurdatum {inv.isoformat()} ligt in de toekomst")
        out["invoice_date"] = inv
    if "products" in v:
        products = v["products"]
        if isinstance(products, str):
            products = [products]
        products = [check_text("producten", "een product", p, 200) for p in products if str(p).strip()]
        if not products:
            raise RuleViolation("producten", "noem minstens één product (met SKG-sterren of PKVW)")
        uncertified = [p for p in products if not _CERTIFIED.search(p)]
        if uncertified:
            raise RuleViolation(
                "producten_gecertificeerd",
                f"alleen inbraakwerend hang- en sluitwerk met SKG-sterren of Politiekeurmerk (PKVW): {uncertified}",
            )
        if len(products) > 50 or any(len(p) > 200 for p in products):
            raise RuleViolation("producten", "hooguit 50 producten van elk hooguit 200 tekens")
        out["products"] = products
    if "iban" in v:
        out["iban"] = validate_iban(v["iban"])
    return out


def missing_fields(values: dict[str, Any], fields: Sequence[str]) -> list[str]:
    return [f for f in fields if values.get(f) in (None, "", [])]


class Outcome(StrEnum):
    RESERVE = "reserve"
    WAIT = "wait"
    REFUSE = "refuse"


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    reason: str | None = None


def decide(grant_cents: int, remaining_cents: int, waiting_list: bool, queue_length: int) -> Decision:
    """The decision when an application becomes complete, in order of completion.

    Reserve when the remaining budget covers the grant and nobody is queued before it; otherwise
    queue it (pilot with a waiting list) or refuse it with "subsidieplafond bereikt".
    """
    if waiting_list and queue_length > 0:
        return Decision(Outcome.WAIT, f"wachtlijst: {REASON_CEILING}")
    if grant_cents <= remaining_cents:
        return Decision(Outcome.RESERVE)
    if waiting_list:
        return Decision(Outcome.WAIT, f"wachtlijst: {REASON_CEILING}")
    return Decision(Outcome.REFUSE, REASON_CEILING)


def serve_waiting_list(remaining_cents: int, queue: Sequence[tuple[int, int]]) -> list[int]:
    """Which queued applications (``(id, grant_cents)`` in order of completion) get a reservation now.

    Strictly in order: the head is served while it fits; a head that does not fit keeps its place
    and blocks those behind it (order of receipt, not best fit).
    """
    served = []
    for app_id, grant in queue:
        if grant > remaining_cents:
            break
        served.append(app_id)
        remaining_cents -= grant
    return served
