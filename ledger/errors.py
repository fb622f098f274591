"""Refusals of the subsidy ledger: each names the rule it enforces, so the desk can explain it."""

from __future__ import annotations

from veilig.errors import ConflictError, NotFoundError, VeiligError

__all__ = ["RuleViolation", "StateConflict", "NotFoundError", "VeiligError"]


class RuleViolation(VeiligError):
    """Input that breaks a rule of the pilot (amount, date, postcode, IBAN, ...): HTTP 422.

    ``rule`` is a short stable code (``"iban_mod97"``, ``"invoice_before_pilot"``) for clients and
    tests; the message is the Dutch sentence shown to the desk and starts with the rule's name.
    """

    status_code = 422

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{message} [regel: {rule}]")
        self.rule = rule


class StateConflict(ConflictError):
    """A request that clashes with the ledger's state (a second application for the address, a payout
    of a rejected application, an idempotency key reused for another request): HTTP 409."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(f"{message} [regel: {rule}]")
        self.rule = rule
