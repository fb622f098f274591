"""The ledger's entries and the balances derived from them, and the one invariant.

Invariant (stated once, enforced where money moves and again by the database):

    reserved + paid <= total    with reserved >= 0 and paid >= 0

Entries are append-only and never edited (TigerBeetle's transfers): ``top-up`` raises the total,
``reserve`` holds part of it for one application (a pending transfer), ``release`` voids a
reservation, ``pay`` posts it (reserved -> paid). Each entry also carries the balances after it,
so the latest entry answers "what is left" in O(1) and a replay proves them right.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from .errors import StateConflict


class EntryKind(StrEnum):
    TOP_UP = "top-up"
    RESERVE = "reserve"
    RELEASE = "release"
    PAY = "pay"


@dataclass(frozen=True)
class Balances:
    total_cents: int = 0
    reserved_cents: int = 0
    paid_cents: int = 0

    @property
    def remaining_cents(self) -> int:
        return self.total_cents - self.reserved_cents - self.paid_cents

    def holds(self) -> bool:
        """The invariant."""
        return self.reserved_cents >= 0 and self.paid_cents >= 0 and self.reserved_cents + self.paid_cents <= self.total_cents


ZERO = Balances()


def post(balances: Balances, kind: EntryKind | str, amount_cents: int) -> Balances:
    """The balances after one entry; refuses an entry that would break the invariant."""
    kind = EntryKind(kind)
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise StateConflict("boeking_bedrag", f"een boeking is een positief geheel aantal centen, niet {amount_cents!r}")
    t, r, p = balances.total_cents, balances.reserved_cents, balances.paid_cents
    if kind is EntryKind.TOP_UP:
        t += amount_cents
    elif kind is EntryKind.RESERVE:
        r += amount_cents
    elif kind is EntryKind.RELEASE:
        r -= amount_cents
    else:  # PAY: a reservation becomes a payout
        r -= amount_cents
        p += amount_cents
    after = Balances(t, r, p)
    if not after.holds():
        raise StateConflict(
            "budgetinvariant",
            f"boeking {kind} van {amount_cents} cent zou de regel gereserveerd + betaald <= budget breken "
            f"(budget {t}, gereserveerd {r}, betaald {p})",
        )
    return after


def derive_balances(entries: Iterable[tuple[str, int]]) -> Balances:
    """Replay ``(kind, amount_cents)`` entries from zero; every step must keep the invariant."""
    balances = ZERO
    for kind, amount in entries:
        balances = post(balances, kind, amount)
    return balances


def projected_exhaustion_date(
    remaining_cents: int,
    committed_in_window_cents: int,
    window_days: int,
    today: date,
) -> date | None:
    """When the budget runs out if the recent pace holds.

    The pace is the net amount committed (reserved minus released) per day over the last
    ``window_days`` days; ``None`` when nothing is being committed (no pace, no prediction).
    Already exhausted: ``today``.
    """
    if remaining_cents <= 0:
        return today
    if window_days <= 0 or committed_in_window_cents <= 0:
        return None
    # Integer arithmetic: days = ceil(remaining / (committed / window)).
    days = -(-(remaining_cents * window_days) // committed_in_window_cents)
    try:
        return today + timedelta(days=days)
    except OverflowError:
        return None
