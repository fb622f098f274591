"""View models of the subsidy desk's pages: reading the intake form, tying each refusal to its field,
and what an application page shows (labels, allowed actions, the decision trail in Dutch).

The rules are the ledger's own (:func:`veilig.ledger.rules.validate_application_fields`): the form
checks each field through them one at a time, so every wrong field gets its own message at once,
and the ledger checks them again inside its transaction. Nothing here decides anything.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from veilig.dates import DateInputError, parse_date
from veilig.ledger.address import parse_postcode_ranges
from veilig.ledger.errors import RuleViolation, StateConflict
from veilig.ledger.money import format_euros, parse_amount_cents
from veilig.ledger.rules import PilotRules, validate_application_fields
from veilig.ledger.schemas import Application, Pilot
from veilig.ledger.status import _ACTION_RULE, Status, label

#: The intake form's fields, in the order of the form, with their Dutch labels.
FIELD_LABELS: dict[str, str] = {
    "applicant_name": "Naam aanvrager",
    "postcode": "Postcode",
    "house_number": "Huisnummer",
    "house_number_addition": "Toevoeging",
    "buurt": "Buurt",
    "object_type": "Object",
    "invoice_amount": "Factuurbedrag (euro)",
    "invoice_date": "Factuurdatum",
    "products": "Producten",
    "iban": "IBAN",
}

#: A ledger rule (``RuleViolation.rule``) -> the form field it is about.
RULE_FIELD: dict[str, str] = {
    "naam_aanvrager": "applicant_name",
    "postcode_formaat": "postcode", "postcode_buiten_gebied": "postcode", "postcode_buiten_pilot": "postcode",
    "huisnummer": "house_number", "huisnummertoevoeging": "house_number_addition",
    "een_subsidie_per_adres": "house_number",
    "buurt_buiten_pilot": "buurt", "buurt_onbekend": "buurt", "buurt_volgens_postcodetabel": "buurt",
    "objecttype": "object_type", "objecttype_niet_in_pilot": "object_type",
    "bedrag": "invoice_amount", "bedrag_in_centen": "invoice_amount", "bedrag_negatief": "invoice_amount",
    "bedrag_te_laag": "invoice_amount", "bedrag_absurd": "invoice_amount", "subsidie_nul": "invoice_amount",
    "factuurdatum": "invoice_date", "factuur_voor_pilot": "invoice_date", "factuur_na_pilot": "invoice_date",
    "factuur_in_toekomst": "invoice_date",
    "producten": "products", "producten_gecertificeerd": "products",
    "iban_formaat": "iban", "iban_mod97": "iban", "iban_lengte": "iban", "iban_nodig": "iban",
}

ACTION_LABELS = {
    "complete": "Aanvullen",
    "approve": "Goedkeuren",
    "reject": "Afwijzen",
    "withdraw": "Intrekken",
    "pay": "Uitbetalen",
}
#: The web path segment of each action (Dutch, as the desk reads the address bar).
ACTION_SLUGS = {"aanvullen": "complete", "goedkeuren": "approve", "afwijzen": "reject",
                "intrekken": "withdraw", "uitbetalen": "pay"}
SLUG_OF = {v: k for k, v in ACTION_SLUGS.items()}

TRAIL_ACTIONS = {
    "apply": "aanvraag geregistreerd", "supplement": "aangevuld (nog onvolledig)",
    "reserve": "volledig; subsidie gereserveerd", "wait": "volledig; op de wachtlijst",
    "refuse": "volledig; geweigerd", "promote": "van de wachtlijst gereserveerd",
    "approve": "goedgekeurd", "reject": "afgewezen", "withdraw": "ingetrokken", "pay": "uitbetaald",
}
OBJECT_LABELS = {"woning": "woning", "schuur": "schuur of berging"}


def new_form_key() -> str:
    """The idempotency key of one rendered form: a resubmission of that form replays its first result."""
    return "web-" + secrets.token_urlsafe(18)


def clean_form_key(value: str | None) -> str | None:
    value = (value or "").strip()
    return value if re.fullmatch(r"web-[A-Za-z0-9_-]{10,64}", value) else None


def pilot_rules(pilot: Pilot) -> PilotRules:
    return PilotRules(
        opens_on=pilot.opens_on, closes_on=pilot.closes_on, grant_percentage=pilot.grant_percentage,
        max_grant_cents=pilot.max_grant_cents, waiting_list=pilot.waiting_list,
        object_types=tuple(pilot.object_types), postcode_ranges=parse_postcode_ranges(pilot.postcode_ranges),
        buurten=frozenset(pilot.buurten),
    )


def split_products(text: str) -> list[str]:
    """One product per line, or separated by commas (a comma inside a product name cannot be typed)."""
    return [p.strip() for p in re.split(r"[\n\r,;]+", text or "") if p.strip()]


def euros_to_cents(text: str) -> int:
    """What a person types in a euro field ("412,50", "412.50", "412", "€ 1.234,56") as cents."""
    typed = (text or "").strip()
    if not typed:
        raise RuleViolation("bedrag", "bedrag ontbreekt")
    # In a euro field a plain number means euros, not cents (the command line's convention).
    try:
        return parse_amount_cents(typed if typed.startswith("€") else "€ " + typed)
    except RuleViolation:
        raise RuleViolation("bedrag", f"bedrag {typed!r} is niet te lezen: typ euro's, bijvoorbeeld 412,50") from None


def message_of(exc: Exception) -> str:
    """The Dutch sentence of a refusal, without the ``[regel: ...]`` tail meant for API clients."""
    return re.sub(r"\s*\[regel: [^\]]+\]$", "", str(exc))


@dataclass
class IntakeForm:
    """The typed values (to show again), the parsed fields for the ledger, and a message per field."""

    raw: dict[str, str]
    fields: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.general

    def fail(self, exc: Exception) -> None:
        """Put a ledger refusal next to its field (or at the top when it concerns no single field)."""
        rule = getattr(exc, "rule", None)
        where = RULE_FIELD.get(rule or "")
        if where:
            self.errors.setdefault(where, message_of(exc))
        else:
            self.general.append(message_of(exc))


def read_intake(form: dict[str, str], pilot: Pilot | None, today: date, known_buurten: dict[str, str],
                *, required: tuple[str, ...] = ("applicant_name", "postcode", "house_number")) -> IntakeForm:
    """Parse and check the intake (or completion) form field by field with the ledger's rules."""
    raw = {k: str(form.get(k, "") or "") for k in FIELD_LABELS}
    out = IntakeForm(raw=raw)
    for name in required:
        if not raw[name].strip():
            out.errors[name] = f"{FIELD_LABELS[name].lower()} ontbreekt"
    values: dict[str, Any] = {}
    for name, text in raw.items():
        text = text.strip()
        if not text or name in out.errors:
            continue
        try:
            if name == "house_number":
                if not re.fullmatch(r"\d{1,5}", text):
                    raise RuleViolation("huisnummer", f"huisnummer {text!r} is geen getal")
                values[name] = int(text)
            elif name == "invoice_amount":
                values["invoice_amount_cents"] = euros_to_cents(text)
            elif name == "invoice_date":
                values[name] = parse_date(text, "factuurdatum")
            elif name == "products":
                values[name] = split_products(text)
            elif name == "buurt":
                code = text.upper()
                if code not in known_buurten:
                    raise RuleViolation("buurt_onbekend", f"buurt {code} is geen van de 26 buurten van Zoetermeer")
                values[name] = code
            else:
                values[name] = text
        except DateInputError as exc:
            out.errors[name] = exc.reason
        except RuleViolation as exc:
            out.fail(exc)
    if pilot is not None:
        rules = pilot_rules(pilot)
        for name, value in values.items():
            try:
                validate_application_fields({name: value}, rules, today)
            except (RuleViolation, StateConflict) as exc:
                out.fail(exc)
    out.fields = {k: v for k, v in values.items()
                  if (k if k != "invoice_amount_cents" else "invoice_amount") not in out.errors}
    return out


def application_form_values(app: Application) -> dict[str, str]:
    """An application's stored values as the form shows them (amount in euros, one product a line)."""
    return {
        "applicant_name": app.applicant_name or "", "postcode": app.postcode or "",
        "house_number": str(app.house_number or ""), "house_number_addition": app.house_number_addition or "",
        "buurt": app.buurt or "", "object_type": app.object_type or "",
        "invoice_amount": format_euros(app.invoice_amount_cents).replace("€ ", "").replace(".", "")
        if app.invoice_amount_cents is not None else "",
        "invoice_date": app.invoice_date.isoformat() if app.invoice_date else "",
        "products": "\n".join(app.products or []), "iban": app.iban or "",
    }


def allowed_actions(status: str) -> list[str]:
    """The actions the status machine allows from ``status``, in the order the desk works."""
    current = Status(status)
    return [a for a in ("complete", "approve", "pay", "reject", "withdraw") if current in _ACTION_RULE[a][0]]


def status_label(status: str) -> str:
    return label(status)


def postcode_display(pc: str | None) -> str:
    return f"{pc[:4]} {pc[4:]}" if pc and len(pc) == 6 else (pc or "")
