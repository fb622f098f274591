"""A small in-process cache for rendered maps, keyed on (route, parameters, role, data version).

The data version changes with every incident import and every ledger change, so a stale map
is never served; the key's hash doubles as the ETag, so a browser revalidates cheaply (304).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from sqlalchemy import func, select

from veilig.storage import Database


class MapCache:
    def __init__(self, max_items: int = 64) -> None:
        self._items: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()
        self.max_items = max_items

    @staticmethod
    def etag_for(key: tuple) -> str:
        return '"' + hashlib.sha256(repr(key).encode()).hexdigest()[:32] + '"'

    def get(self, etag: str) -> str | None:
        with self._lock:
            html = self._items.get(etag)
            if html is not None:
                self._items.move_to_end(etag)
            return html

    def put(self, etag: str, html: str) -> None:
        with self._lock:
            self._items[etag] = html
            self._items.move_to_end(etag)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)


def data_version(db: Database, ledger: bool = True) -> tuple[int, int]:
    """(incident data version, ledger version): both change on every write that a map shows.

    With ``ledger=False`` the ledger version is 0 (not queried).
    """
    from veilig.storage.incidents import data_version as incident_version
    from veilig.storage.ledger_tables import LedgerEntry, LedgerEvent

    if not ledger:
        return incident_version(db), 0
    # Entries and events are append-only, so their highest ids grow with every ledger change.
    with db.engine.connect() as conn:
        events = conn.execute(select(func.coalesce(func.max(LedgerEvent.id), 0))).scalar_one()
        entries = conn.execute(select(func.coalesce(func.max(LedgerEntry.id), 0))).scalar_one()
    return incident_version(db), int(events) * 1_000_003 + int(entries)
