"""Storing and loading the exposure grid that the hotspot null follows (``veilig import exposure``).

An import replaces the whole grid in one transaction (a grid is one data set: mixing two years
or two kinds would state a null nobody chose) and moves the data version, so cached maps and
results are recomputed.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import delete, insert, select

from veilig.geo.exposure import ExposureCells

from .db import Database
from .exposure_tables import ExposureCell
from .incidents import bump_data_version


def store_exposure(db: Database, cells: ExposureCells) -> int:
    """Replace the stored grid with ``cells``; returns the number of squares stored."""
    rows = [{"x": int(round(x)), "y": int(round(y)), "size": int(round(cells.size)), "value": float(v),
             "kind": cells.kind, "source": cells.source[:500]}
            for x, y, v in zip(cells.x.tolist(), cells.y.tolist(), cells.value.tolist())]
    with db.write() as conn:
        conn.execute(delete(ExposureCell))
        for i in range(0, len(rows), 5000):
            conn.execute(insert(ExposureCell), rows[i:i + 5000])
        bump_data_version(conn)
    return len(rows)


def load_exposure(db: Database) -> ExposureCells | None:
    """The stored grid, or None when none was imported."""
    with db.engine.connect() as conn:
        res = conn.execute(select(ExposureCell.x, ExposureCell.y, ExposureCell.size, ExposureCell.value,
                                  ExposureCell.kind, ExposureCell.source).order_by(ExposureCell.x, ExposureCell.y))
        rows = res.fetchall()
    if not rows:
        return None
    x, y, size, value, kind, source = zip(*rows)
    return ExposureCells(x=np.asarray(x, dtype=np.float64), y=np.asarray(y, dtype=np.float64),
                         value=np.asarray(value, dtype=np.float64), kind=str(kind[0]), size=float(size[0]),
                         source=str(source[0]))


def clear_exposure(db: Database) -> int:
    """Remove the grid (the null goes back to uniform); returns the squares removed."""
    with db.write() as conn:
        n = conn.execute(delete(ExposureCell)).rowcount
        bump_data_version(conn)
    return int(n or 0)
