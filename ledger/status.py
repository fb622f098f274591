"""The status machine of an application: received -> reserved -> approved -> paid, with the side exits.

``waiting`` is the queue of a pilot with a waiting list; ``rejected`` and ``withdrawn`` end an
application before it is paid and release whatever it had reserved.
"""

from __future__ import annotations

from enum import StrEnum

from .errors import StateConflict


class Status(StrEnum):
    RECEIVED = "received"
    RESERVED = "reserved"
    WAITING = "waiting"
    APPROVED = "approved"
    PAID = "paid"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


#: Every allowed move; anything else is refused.
TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.RECEIVED: frozenset({Status.RESERVED, Status.WAITING, Status.REJECTED, Status.WITHDRAWN}),
    Status.WAITING: frozenset({Status.RESERVED, Status.REJECTED, Status.WITHDRAWN}),
    Status.RESERVED: frozenset({Status.APPROVED, Status.REJECTED, Status.WITHDRAWN}),
    Status.APPROVED: frozenset({Status.PAID, Status.REJECTED, Status.WITHDRAWN}),
    Status.PAID: frozenset(),
    Status.REJECTED: frozenset(),
    Status.WITHDRAWN: frozenset(),
}

#: Statuses that hold a reservation on the budget.
HOLDS_RESERVATION = frozenset({Status.RESERVED, Status.APPROVED})
#: Statuses that block a new application for the same address (one grant per address per pilot).
ACTIVE = frozenset({Status.RECEIVED, Status.WAITING, Status.RESERVED, Status.APPROVED, Status.PAID})
FINAL = frozenset({Status.PAID, Status.REJECTED, Status.WITHDRAWN})

_LABEL = {
    Status.RECEIVED: "ontvangen",
    Status.RESERVED: "gereserveerd",
    Status.WAITING: "op de wachtlijst",
    Status.APPROVED: "goedgekeurd",
    Status.PAID: "uitbetaald",
    Status.REJECTED: "afgewezen",
    Status.WITHDRAWN: "ingetrokken",
}

_ACTION_RULE = {
    # action -> (the statuses it starts from, the rule's name, how the desk says it)
    "complete": ({Status.RECEIVED}, "alleen_ontvangen_aanvulbaar", "aanvullen kan alleen bij een ontvangen aanvraag"),
    "approve": ({Status.RESERVED}, "goedkeuren_na_reservering", "goedkeuren kan alleen als de subsidie gereserveerd is"),
    "pay": ({Status.APPROVED}, "uitbetalen_na_goedkeuring", "uitbetalen kan alleen na goedkeuring"),
    "reject": (
        {Status.RECEIVED, Status.WAITING, Status.RESERVED, Status.APPROVED},
        "afwijzen_voor_uitbetaling",
        "afwijzen kan alleen zolang er niet is uitbetaald en de aanvraag nog loopt",
    ),
    "withdraw": (
        {Status.RECEIVED, Status.WAITING, Status.RESERVED, Status.APPROVED},
        "intrekken_voor_uitbetaling",
        "intrekken kan alleen zolang er niet is uitbetaald en de aanvraag nog loopt",
    ),
}


def label(status: Status | str) -> str:
    """The Dutch word the desk sees."""
    return _LABEL[Status(status)]


def check_action(action: str, current: Status | str, application_id: int | None = None) -> None:
    """Refuse ``action`` (complete/approve/pay/reject/withdraw) from ``current`` unless the machine allows it."""
    allowed, rule, sentence = _ACTION_RULE[action]
    current = Status(current)
    if current not in allowed:
        which = f"aanvraag {application_id}" if application_id is not None else "de aanvraag"
        raise StateConflict(rule, f"{sentence}; {which} is {label(current)}")


def check_transition(current: Status | str, target: Status | str) -> None:
    """Guard for every status write: a move the machine does not list is a bug, never silently done."""
    if Status(target) not in TRANSITIONS[Status(current)]:
        raise StateConflict("statusovergang", f"van {label(current)} naar {label(target)} kan niet")
