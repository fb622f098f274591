"""Import batches: the list of what was imported, and taking one whole import back (undo).

A wrong file must be removable without touching the database by hand: undo deletes the batch's
incidents in one transaction, keeps the batch row as the record (who imported it, who undid it,
when, how many rows went), and moves the data version so no cached map or analysis survives.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, func, select, update

from veilig.errors import ConflictError, NotFoundError

from .db import Database
from .incidents import bump_data_version
from .models import ImportBatch, Incident


@dataclass(frozen=True)
class BatchInfo:
    id: int
    filename: str
    source: str
    imported_at: datetime
    imported_by: str | None
    rows_in_file: int
    rows_inserted: int
    rows_skipped_existing: int
    rows_invalid: int
    rows_stored: int
    undone_at: datetime | None
    undone_by: str | None
    rows_removed: int | None

    def to_dict(self) -> dict:
        out = asdict(self)
        for key in ("imported_at", "undone_at"):
            if out[key] is not None:
                out[key] = out[key].isoformat()
        return out


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


def list_batches(db: Database, limit: int = 500, batch_id: int | None = None) -> list[BatchInfo]:
    """The most recent import batches first, with the number of their incidents still stored."""
    counts = select(Incident.batch_id, func.count().label("n"))
    if batch_id is not None:
        counts = counts.where(Incident.batch_id == batch_id)
    stored = counts.group_by(Incident.batch_id).subquery()
    query = (select(ImportBatch, func.coalesce(stored.c.n, 0))
             .outerjoin(stored, stored.c.batch_id == ImportBatch.id)
             .order_by(ImportBatch.id.desc()).limit(limit))
    if batch_id is not None:
        query = query.where(ImportBatch.id == batch_id)
    with db.engine.connect() as conn:
        rows = conn.execute(query).all()
    out = []
    for row in rows:
        b = row._mapping
        out.append(BatchInfo(
            id=b["id"], filename=b["filename"], source=b["source"], imported_at=_aware(b["imported_at"]),
            imported_by=b["imported_by"], rows_in_file=b["rows_in_file"], rows_inserted=b["rows_inserted"],
            rows_skipped_existing=b["rows_skipped_existing"], rows_invalid=b["rows_invalid"],
            rows_stored=int(row[-1]), undone_at=_aware(b["undone_at"]), undone_by=b["undone_by"],
            rows_removed=b["rows_removed"]))
    return out


def get_batch(db: Database, batch_id: int) -> BatchInfo:
    if 1 <= batch_id <= 2**31 - 1:
        found = list_batches(db, limit=1, batch_id=batch_id)
        if found:
            return found[0]
    raise NotFoundError(f"import {batch_id} bestaat niet")


def undo_batch(db: Database, batch_id: int, undone_by: str) -> BatchInfo:
    """Delete every incident of import ``batch_id`` (one transaction) and mark the batch undone.

    Refuses an unknown batch (404) and a batch already undone (409), so a repeated click does
    nothing twice. The data version moves, so caches keyed on it are invalidated.
    """
    if not 1 <= batch_id <= 2**31 - 1:
        raise NotFoundError(f"import {batch_id} bestaat niet")
    with db.write() as conn:
        # The row lock (PostgreSQL) makes two concurrent undos of one batch wait for each other.
        query = select(ImportBatch.id, ImportBatch.undone_at).where(ImportBatch.id == batch_id)
        if not db.is_sqlite:
            query = query.with_for_update()
        row = conn.execute(query).first()
        if row is None:
            raise NotFoundError(f"import {batch_id} bestaat niet")
        if row.undone_at is not None:
            raise ConflictError(f"import {batch_id} is al ongedaan gemaakt")
        removed = conn.execute(delete(Incident).where(Incident.batch_id == batch_id)).rowcount or 0
        conn.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(
            undone_at=datetime.now(timezone.utc), undone_by=undone_by[:100], rows_removed=removed))
        bump_data_version(conn)
    return get_batch(db, batch_id)
